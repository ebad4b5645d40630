// SharedRead (server/read-cache.ts): one read a moment for every caller, a failed read never kept.
import { describe, expect, it } from 'vitest';
import { SharedRead } from '../../server/read-cache.ts';

describe('a shared read', () => {
  it('reads once for the callers of a moment, again once it is older than its ttl or cleared', async () => {
    let clock = 0;
    let reads = 0;
    const shared = new SharedRead(async () => ++reads, 1_000, () => clock);
    expect(await Promise.all([shared.get(), shared.get(), shared.get()])).toEqual([1, 1, 1]); // one read under way, shared
    clock = 999;
    expect(await shared.get()).toBe(1);
    clock = 1_000;
    expect(await shared.get()).toBe(2);
    shared.clear(); // a write of this process: the next reader sees it
    expect(await shared.get()).toBe(3);
  });

  it('does not keep a failed read: the next caller reads again', async () => {
    let fail = true;
    const shared = new SharedRead(async () => {
      if (fail) throw new Error('ClickHouse away');
      return 'boards';
    }, 60_000);
    await expect(shared.get()).rejects.toThrow('ClickHouse away');
    fail = false;
    expect(await shared.get()).toBe('boards');
  });
});
