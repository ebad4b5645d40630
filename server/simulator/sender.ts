// Posts simulated events to the public ingest API, as an integration would: NDJSON batches per source with that
// source's ingest key; on a timeout, a network error, 429 or 5xx the same body (same ids) is sent again after a
// capped exponential backoff with jitter, never sooner than the server's Retry-After, so nothing is lost or counted
// twice. A 422 is counted (the simulator must never produce one: tests hold it at zero); 400/401/403/413/415 stop the
// run with a message saying what to fix.
// An outage is logged once as a warning when it starts (then now and then while it lasts) and once as an info when
// ingest answers again. The CLI gives up after `maxRetries` (10: about 1 to 1½ minutes of waits, retryDelayMs); the
// demo retries for as long as it runs. `abort()` ends the retrying and cancels requests in flight (a stopping run).
import { backoffDelay } from '../backoff.ts';
import { parseIngestKeys } from '../config.ts';
import type { IngestEvent, Source } from '../ingest/contract.ts';

export type IngestKeys = Partial<Record<Source, string>>;

export interface SimLog {
  info(msg: string): void;
  warn(msg: string): void;
  /** The progress lines every few seconds (default: info). */
  debug?(msg: string): void;
}

export interface SenderOptions {
  baseUrl: string;
  keys: IngestKeys;
  /** Events per request (default 2,000; the API takes up to INGEST_MAX_EVENTS). */
  batchSize?: number;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /**
   * Retries of one request before giving up (default 10: their waits add up to about 1 to 1½ minutes, see
   * retryDelayMs, plus the requests' own time); Infinity: never give up.
   */
  maxRetries?: number;
  /** First wait of the exponential backoff, doubling per retry (default 250 ms; tests make it short). */
  minBackoffMs?: number;
  /** Cap of the exponential backoff between two retries (default 15 s; a Retry-After is honoured up to a minute). */
  maxBackoffMs?: number;
  log?: SimLog;
  fetch?: typeof fetch;
}

export interface SenderStats {
  requests: number;
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  retries: number;
}

export class SimulationError extends Error {
  override name = 'SimulationError';
}

const RETRY_AFTER_MAX_MS = 60_000;

/**
 * The wait before retry number `attempt + 1`: the backoff, `minBackoffMs` (250 ms) doubling per attempt up to
 * `maxBackoffMs`, times a jitter of 0.5–1 (`random` returns [0, 1)); never less than the server's Retry-After (seconds,
 * honoured up to a minute), itself spread by a jitter of 1–1.25 so that senders told the same do not retry in step.
 * The backoff still grows under a fixed Retry-After: Nabız's 503 always says 5 s, and a sender waiting exactly that
 * would hammer a storage outage every 5 s and give up after 10 × 5 s. Against it the 10 retries of the CLI wait
 * 60–100 s in all (5–6.25 s five times, then 5–8 s, then 7.5–15 s four times); with no Retry-After, 38–76 s.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterS: number | undefined,
  maxBackoffMs: number,
  random: () => number = Math.random,
  minBackoffMs = 250,
): number {
  const r = random();
  const backoff = backoffDelay(attempt, () => r, { baseMs: minBackoffMs, maxMs: maxBackoffMs });
  if (retryAfterS === undefined) return backoff;
  return Math.max(Math.min(RETRY_AFTER_MAX_MS, retryAfterS * 1000) * (1 + r / 4), backoff);
}

/** Warn at the first failure of a request, after its 3rd, 6th and 9th, then every 20th (≈ 5 minutes at the cap). */
const warnAt = (attempt: number) => attempt === 0 || (attempt < 10 ? attempt % 3 === 2 : attempt % 20 === 0);

export class EventSender {
  private readonly counts: SenderStats = { requests: 0, sent: 0, accepted: 0, duplicates: 0, rejected: 0, retries: 0 };
  private readonly url: string;
  private readonly fetchFn: typeof fetch;
  private rejectLogged = 0;
  /** Wall time of the first failure of the current outage; undefined while ingest answers. */
  private failingSince: number | undefined;
  private retriesInOutage = 0;
  private aborted = false;
  /** The requests in flight, each with its own controller (its time-out, or abort(), cancels it). */
  private readonly inFlight = new Set<AbortController>();
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly opts: SenderOptions) {
    this.url = `${opts.baseUrl.replace(/\/+$/, '')}/v1/events`;
    this.fetchFn = opts.fetch ?? fetch;
  }

  stats(): SenderStats {
    return { ...this.counts };
  }

  /** Ingest is failing: a request has failed and none has succeeded since. */
  get failing(): boolean {
    return this.failingSince !== undefined;
  }

  /**
   * Stops sending: requests in flight are cancelled, and a request that fails from now on (or is waiting to be
   * retried) rejects at once, saying how many events were not sent. Requests already answered still count. For
   * stopping a run within a deadline, whatever the retry limit.
   */
  abort(): void {
    this.aborted = true;
    for (const request of this.inFlight) request.abort(new Error('cancelled: the run was stopped'));
    for (const wake of this.sleepers) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** Sends the events (any sources, in order within each source); resolves once every one is acknowledged. */
  async send(events: readonly IngestEvent[]): Promise<void> {
    const bySource = new Map<Source, IngestEvent[]>();
    for (const e of events) (bySource.get(e.source) ?? bySource.set(e.source, []).get(e.source)!).push(e);
    const size = this.opts.batchSize ?? 2_000;
    await Promise.all(
      [...bySource].map(async ([source, list]) => {
        const key = this.opts.keys[source];
        if (!key) throw new SimulationError(`no ingest key for source ${source}: pass --keys ${source}:<key> (or set INGEST_KEYS)`);
        for (let i = 0; i < list.length; i += size) await this.post(source, key, list.slice(i, i + size));
      }),
    );
  }

  private async post(source: Source, key: string, batch: IngestEvent[]): Promise<void> {
    const body = batch.map((e) => JSON.stringify(e)).join('\n');
    const maxRetries = this.opts.maxRetries ?? 10;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (this.aborted) throw new SimulationError(`stopped before ingest answered: ${batch.length} ${source} events not sent`);
      let status = 0;
      let text = '';
      let retryAfterS: number | undefined;
      let cancelled = false;
      const timeoutMs = this.opts.timeoutMs ?? 15_000;
      const request = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        request.abort(new Error(`no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.inFlight.add(request);
      try {
        this.counts.requests++;
        const res = await this.fetchFn(this.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
          body,
          signal: request.signal,
        });
        status = res.status;
        text = await res.text();
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterS = ra;
      } catch (err) {
        // No answer (or not all of it): unknown whether it landed, so it is sent again with the same ids.
        status = 0;
        cancelled = request.signal.aborted && !timedOut;
        text = (err as Error).message;
      } finally {
        clearTimeout(timer);
        this.inFlight.delete(request);
      }
      if (status === 202 || status === 422) {
        const r = JSON.parse(text) as { accepted: number; duplicates: number; rejected?: Array<{ index: number; id: string | null; errors: unknown[] }> };
        this.counts.sent += batch.length;
        this.counts.accepted += r.accepted;
        this.counts.duplicates += r.duplicates;
        if (r.rejected?.length) {
          this.counts.rejected += r.rejected.length;
          if (this.rejectLogged++ < 5) this.opts.log?.warn(`simulate: ${r.rejected.length} ${source} events rejected, e.g. ${JSON.stringify(r.rejected[0])}`);
        }
        if (this.failingSince !== undefined) {
          this.opts.log?.info(
            `simulate: ingest answering again after ${Math.round((Date.now() - this.failingSince) / 1000)} s of failures (${this.retriesInOutage} retries); the events held back are sent with their ids`,
          );
          this.failingSince = undefined;
          this.retriesInOutage = 0;
        }
        return;
      }
      const transient = status === 0 || status === 429 || status >= 500;
      if (!transient) throw new SimulationError(`ingest answered ${status} for ${source} events: ${text.slice(0, 300)}${status === 401 ? ' (check the ingest key)' : ''}`);
      const what = status ? `answered ${status}` : `failed (${text})`;
      const stopped = () =>
        new SimulationError(`stopped ${cancelled ? 'before ingest answered' : `while ingest was failing (${what})`}: ${batch.length} ${source} events not sent`);
      if (this.aborted) throw stopped();
      if (attempt >= maxRetries) {
        throw new SimulationError(
          `ingest at ${this.url} still failing after ${attempt + 1} attempts in ${Math.round((Date.now() - started) / 1000)} s (${status || text}); giving up: ${batch.length} ${source} events not sent`,
        );
      }
      this.counts.retries++;
      this.retriesInOutage++;
      this.failingSince ??= Date.now();
      const backoff = retryDelayMs(attempt, retryAfterS, this.opts.maxBackoffMs ?? 15_000, Math.random, this.opts.minBackoffMs ?? 250);
      if (warnAt(attempt)) {
        const limit = Number.isFinite(maxRetries) ? `retry ${attempt + 1} of ${maxRetries}` : `retry ${attempt + 1}, until it answers`;
        this.opts.log?.warn(`simulate: ingest ${what}; retrying ${batch.length} ${source} events in ${Math.round(backoff)} ms with the same ids (${limit})`);
      }
      await this.sleep(backoff);
      if (this.aborted) throw stopped();
    }
  }
}

/** Parses `acd:K,ivr:K,crm:K`: INGEST_KEYS, by its own rules (server/config.ts), one key per source (the last one given). */
export function parseKeys(text: string): IngestKeys {
  try {
    return Object.fromEntries(parseIngestKeys(text).map((k) => [k.source, k.key]));
  } catch (err) {
    throw new SimulationError(`keys: ${(err as Error).message}`);
  }
}
