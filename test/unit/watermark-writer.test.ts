import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WatermarkWriter } from '../../server/kpi/watermark-writer.ts';

describe('WatermarkWriter', () => {
  let stored: number[];
  let errors: unknown[];
  let failNext: boolean;
  const make = () =>
    new WatermarkWriter({
      store: async (p) => {
        if (failNext) {
          failNext = false;
          throw new Error('clickhouse away');
        }
        stored.push(p);
      },
      everyMs: 1_000,
      onError: (err) => errors.push(err),
      now: () => Date.now(),
    });
  /** Lets the promise callbacks run (the writes' `then`, the store chain). */
  const settle = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    vi.useFakeTimers();
    stored = [];
    errors = [];
    failNext = false;
  });
  afterEach(() => vi.useRealTimers());

  it('stores the first position at once, then at most one a second: the highest written meanwhile', async () => {
    const w = make();
    w.offer(10, Promise.resolve());
    await settle();
    expect(stored).toEqual([10]);
    // three passes within the next second: one store, of the last position, when the second is up
    for (const p of [20, 30, 40]) {
      await vi.advanceTimersByTimeAsync(200);
      w.offer(p, Promise.resolve());
    }
    await settle();
    expect(stored).toEqual([10]);
    await vi.advanceTimersByTimeAsync(400); // 200 × 3 + 400 = 1,000 ms after the first store
    expect(stored).toEqual([10, 40]);
  });

  it('never stores the position of a pass whose writes failed, and stores the others only once written', async () => {
    const w = make();
    let finish!: () => void;
    w.offer(10, new Promise<void>((resolve) => (finish = resolve)));
    w.offer(20, Promise.reject(new Error('pass not written')));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stored).toEqual([]);
    finish();
    await settle();
    expect(stored).toEqual([10]);
  });

  it('flush stores what is wanted at once; a failed store is tried again with the next one', async () => {
    const w = make();
    w.offer(10, Promise.resolve());
    await settle();
    w.offer(20, Promise.resolve());
    await settle();
    await w.flush();
    expect(stored).toEqual([10, 20]);
    await w.flush(); // nothing new: nothing stored
    expect(stored).toEqual([10, 20]);

    failNext = true;
    w.offer(30, Promise.resolve());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stored).toEqual([10, 20]);
    expect(errors).toHaveLength(1);
    w.offer(35, Promise.resolve());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stored).toEqual([10, 20, 35]);
  });
});
