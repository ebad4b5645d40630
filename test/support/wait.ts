// Polling for a condition that other processes or timers bring about (never a speed assertion: the timeout is only
// how long to wait before calling it broken).
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves with the first value `probe` returns other than undefined; fails after `timeoutMs` with the last error. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}
