import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../server/redis/embedded.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-redis-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('embedded redis-server', () => {
  it('runs on loopback with AOF and noeviction, and keeps data across a restart', async () => {
    const first = await startEmbeddedRedis({ dataDir: dir });
    const a = new Redis(first.url);
    expect(await a.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await a.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await a.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    await a.set('survives', 'yes');
    a.disconnect();
    await first.stop();
    expect(await first.exited).toBe(0);

    const second = await startEmbeddedRedis({ dataDir: dir });
    const b = new Redis(second.url);
    expect(await b.get('survives')).toBe('yes');
    b.disconnect();
    await second.stop();
  });
});
