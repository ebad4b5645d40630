// Exponential backoff with jitter, for everything that retries: the TV's reconnections and reloads, the simulator's
// sends, the alert webhook. Plain code with no imports (the TV's bundle takes it too).

export interface BackoffOptions {
  /** First delay (default 500 ms). */
  baseMs?: number;
  /** Largest delay (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

/**
 * Delay before attempt `attempt` (0-based): "equal jitter" — half the exponential delay plus a random half, so a
 * delay is never 0 and never above `maxMs`.
 */
export function backoffDelay(attempt: number, random: () => number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const exp = Math.min(max, base * factor ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
