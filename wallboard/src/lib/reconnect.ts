// Reconnection with exponential backoff and jitter (server/backoff.ts). Timers and randomness are injected so the logic
// is tested in node without waiting. A TV loses the server for seconds (deploys) or hours (network): it retries
// forever, quickly at first, then every `maxMs` at most; the jitter keeps a floor of TVs from reconnecting in the same
// instant.
import { backoffDelay, type BackoffOptions } from '../../../server/backoff.ts';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Schedules reconnection attempts. The owner calls `failed()` whenever a connection closes or cannot open and
 * `succeeded()` once it is healthy (the next failure then starts again from `baseMs`). One attempt is pending at a
 * time; `stop()` cancels it for good.
 */
export class Reconnector {
  private attempt = 0;
  private handle: unknown = null;
  private stopped = false;

  constructor(
    private readonly connect: () => void,
    private readonly opts: BackoffOptions & { timers?: Timers; random?: () => number } = {},
  ) {}

  /** Attempts made since the last success. */
  get attempts(): number {
    return this.attempt;
  }

  get pending(): boolean {
    return this.handle !== null;
  }

  /**
   * Schedules the next attempt, `atLeastMs` from now at the earliest; returns its delay (or null when stopped or one is
   * already pending).
   */
  failed(atLeastMs = 0): number | null {
    if (this.stopped || this.handle !== null) return null;
    const delay = Math.max(atLeastMs, backoffDelay(this.attempt, this.opts.random ?? Math.random, this.opts));
    this.attempt++;
    const timers = this.opts.timers ?? realTimers;
    this.handle = timers.setTimeout(() => {
      this.handle = null;
      if (!this.stopped) this.connect();
    }, delay);
    return delay;
  }

  succeeded(): void {
    this.attempt = 0;
  }

  /** Makes the pending attempt now (what kept it waiting has changed); false when none is pending. */
  hurry(): boolean {
    if (this.stopped || this.handle === null) return false;
    (this.opts.timers ?? realTimers).clearTimeout(this.handle);
    this.handle = null;
    this.connect();
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== null) (this.opts.timers ?? realTimers).clearTimeout(this.handle);
    this.handle = null;
  }
}
