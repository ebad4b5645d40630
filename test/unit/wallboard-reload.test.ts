import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEALTH_URL, reloadWhenServerAnswers, serverAnswers } from '../../wallboard/src/lib/reload.ts';

/** A check answering from a script, one answer per call ("throw" rejects), recording how many times it was asked. */
function scriptedCheck(answers: (boolean | 'throw')[]) {
  const check = vi.fn(async () => {
    const a = answers.shift();
    if (a === 'throw') throw new Error('network');
    return a ?? false;
  });
  return check;
}

describe('reload after a rendering error', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reloads after the delay when the server answers', async () => {
    const reload = vi.fn();
    const check = scriptedCheck([true]);
    reloadWhenServerAnswers({ reload, check, delayMs: 30_000, random: () => 0 });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(check).not.toHaveBeenCalled();
    expect(reload).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(check).toHaveBeenCalledTimes(1);
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('does not reload while the server is down, asks again with backoff, and reloads once it answers', async () => {
    const reload = vi.fn();
    const waits: number[] = [];
    const check = scriptedCheck([false, 'throw', false, true]);
    reloadWhenServerAnswers({ reload, check, delayMs: 30_000, random: () => 0, onWaiting: (ms) => waits.push(ms) });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(check).toHaveBeenCalledTimes(1);
    expect(reload).not.toHaveBeenCalled(); // a reload now would land on the browser's error page
    expect(waits).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(999);
    expect(check).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1); // a check that throws is a server that does not answer
    expect(waits).toEqual([1_000, 2_000]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(waits).toEqual([1_000, 2_000, 4_000]);
    expect(reload).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(check).toHaveBeenCalledTimes(4);
    expect(reload).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(check).toHaveBeenCalledTimes(4); // done: nothing scheduled after the reload
  });

  it('keeps asking for as long as the server stays down, at most every 30 s', async () => {
    const reload = vi.fn();
    const waits: number[] = [];
    reloadWhenServerAnswers({ reload, check: async () => false, random: () => 0.999999, onWaiting: (ms) => waits.push(ms) });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(reload).not.toHaveBeenCalled();
    expect(waits.length).toBeGreaterThan(100);
    expect(Math.max(...waits)).toBeLessThanOrEqual(30_000);
  });

  it('does nothing once cancelled, even with a check already under way', async () => {
    const reload = vi.fn();
    const cancel = reloadWhenServerAnswers({ reload, check: async () => true, delayMs: 1_000 });
    cancel();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reload).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);

    let answer!: (ok: boolean) => void;
    const cancel2 = reloadWhenServerAnswers({ reload, check: () => new Promise<boolean>((r) => (answer = r)), delayMs: 1_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    cancel2(); // the page went away while the check was in flight
    answer(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reload).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('whether the server answers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the health endpoint fresh, never from the cache', async () => {
    const fetchFn = vi.fn(async (_url: string, _init: RequestInit) => ({ ok: true }));
    expect(await serverAnswers(fetchFn)).toBe(true);
    expect(HEALTH_URL).toBe('/healthz');
    expect(fetchFn).toHaveBeenCalledWith('/healthz', expect.objectContaining({ cache: 'no-store' }));
  });

  it('counts an error status (a proxy 502) and a network error as no answer', async () => {
    expect(await serverAnswers(async () => ({ ok: false }))).toBe(false);
    expect(await serverAnswers(async () => Promise.reject(new TypeError('Failed to fetch')))).toBe(false);
  });

  it('gives up on a server that accepts the request and then says nothing', async () => {
    vi.useFakeTimers();
    const hanging = (_url: string, init: RequestInit) =>
      new Promise<{ ok: boolean }>((_, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const answered = vi.fn();
    void serverAnswers(hanging, 5_000).then(answered);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(answered).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(answered).toHaveBeenCalledWith(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
