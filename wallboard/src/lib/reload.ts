// The self-reload after a rendering error (a TV has nobody to press F5). A reload while the server is down shows the
// browser's own error page, which has no script left to try again: a blank TV until someone walks over to it. So the
// page reloads only once the server answers its liveness check, and until then asks again with backoff and jitter
// (a floor of TVs coming back after an outage should not all ask in the same second).
// DOM-free: the check, the reload and the timers are injected (unit-tested in node).
import { backoffDelay, type BackoffOptions } from '../../../server/backoff.ts';
import { realTimers, type Timers } from './reconnect.ts';

/** The server's liveness check (server/health.ts): 200 while the process that serves this page is up. */
export const HEALTH_URL = '/healthz';

/** Retries after a failed check: 1–2 s at first, then up to 15–30 s. */
const RETRY: BackoffOptions = { baseMs: 2_000, maxMs: 30_000 };

/**
 * Whether the server answers its liveness check within `timeoutMs`. Asked fresh (`no-store`: a cached 200 would say
 * nothing), and only a 2xx counts: a proxy's 502 page is as dead an end as the browser's.
 */
export async function serverAnswers(
  fetchFn: (url: string, init: RequestInit) => Promise<Pick<Response, 'ok'>> = (url, init) => fetch(url, init),
  timeoutMs = 5_000,
  timers: Timers = realTimers,
): Promise<boolean> {
  // a server that accepts the connection and then says nothing must not hold the reload up for ever
  const abort = new AbortController();
  const timer = timers.setTimeout(() => abort.abort(), timeoutMs);
  try {
    return (await fetchFn(HEALTH_URL, { cache: 'no-store', signal: abort.signal })).ok;
  } catch {
    return false;
  } finally {
    timers.clearTimeout(timer);
  }
}

export interface ReloadOptions {
  reload: () => void;
  /** Whether the server answers now (`serverAnswers` in the browser). */
  check: () => Promise<boolean>;
  /** Wait before the first check (default 30 s). */
  delayMs?: number;
  /** Told each time a check failed, with the wait before the next one (so the page can say why it is still here). */
  onWaiting?: (retryMs: number) => void;
  timers?: Timers;
  random?: () => number;
}

/** After `delayMs`, reloads if the server answers, else checks again later, until it does. Returns a cancel function. */
export function reloadWhenServerAnswers(opts: ReloadOptions): () => void {
  const timers = opts.timers ?? realTimers;
  let cancelled = false;
  let handle: unknown = null;
  let attempt = 0;
  const schedule = (ms: number) => {
    handle = timers.setTimeout(() => {
      handle = null;
      void attemptReload();
    }, ms);
  };
  const attemptReload = async () => {
    const answers = await opts.check().catch(() => false);
    if (cancelled) return;
    if (answers) {
      opts.reload();
      return;
    }
    const retryMs = backoffDelay(attempt++, opts.random ?? Math.random, RETRY);
    opts.onWaiting?.(retryMs);
    schedule(retryMs);
  };
  schedule(opts.delayMs ?? 30_000);
  return () => {
    cancelled = true;
    if (handle !== null) timers.clearTimeout(handle);
    handle = null;
  };
}
