// Optional alert webhook (ALERT_WEBHOOK_URL): every alert transition (and acknowledgement), and every source going
// quiet or sending again, is POSTed as JSON
//   {"type":"alert","transition":"fired","at":"…","alert":{…}}   (fired, escalated, deescalated, acknowledged, cleared)
//   {"type":"source","transition":"quiet","at":"…","source":"acd","lastEventAt":"…","quietAfterMinutes":15}
// in order, one at a time, retried with exponential backoff (1 s, 2 s, 4 s … capped at 60 s) up to `maxAttempts`; a
// receiver's 4xx refusal is final (but 408 and 429). `at` is when the transition happened: with the alert's id (or the
// source) and the transition, it tells a receiver a notification it already has (a retry after a lost answer).
// It never blocks evaluation: `send()` only queues. The queue is bounded; when full, the oldest is dropped and logged.
// At shutdown what is queued is still sent for a few seconds, once each (close()); the rest is dropped, logged.
import { backoffDelay } from '../backoff.ts';
import type { Log } from '../log.ts';
import type { Alert } from '../live/protocol.ts';
import { within } from '../within.ts';

export type WebhookPayload =
  | { type: 'alert'; transition: string; at: string; alert: Alert }
  /** A source (ACD, IVR, CRM) sent nothing for its quiet time (SOURCE_QUIET_MINUTES), or sent again after that. */
  | { type: 'source'; transition: 'quiet' | 'resumed'; at: string; source: string; lastEventAt: string; quietAfterMinutes: number };

/** A refusal the receiver will repeat however often it is sent: a 4xx but 408 (timeout) and 429 (rate). */
class FinalRefusal extends Error {}

/** What a log line says a notification is about. */
const about = (p: WebhookPayload) => (p.type === 'alert' ? { alert: p.alert.id, transition: p.transition } : { source: p.source, transition: p.transition });

export interface WebhookOptions {
  url: string;
  log: Log;
  maxAttempts?: number;
  /** First retry delay; doubles each attempt (default 1000 ms). */
  baseDelayMs?: number;
  timeoutMs?: number;
  maxQueue?: number;
}

/**
 * Where to POST: the URL without its credentials, which travel as a Basic Authorization header instead (fetch refuses
 * a URL holding user:password@, and its error quotes the URL), and what no log line may show of it.
 */
function target(raw: string): { url: string; authorization: string | undefined; secrets: string[] } {
  const u = new URL(raw);
  const secrets = [raw, u.password, u.search, u.hash].filter((s) => s !== '');
  if (u.username === '' && u.password === '') return { url: raw, authorization: undefined, secrets };
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization, secrets: [u.toString(), ...secrets] };
}

export class AlertWebhook {
  private readonly queue: WebhookPayload[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  /** Shutting down: each notification left gets one attempt, no retry. */
  private closing = false;
  private wake: (() => void) | null = null;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly target: ReturnType<typeof target>;
  /** Deliveries that succeeded / were given up (for tests and metrics). */
  delivered = 0;
  failed = 0;

  constructor(private readonly opts: WebhookOptions) {
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxQueue = opts.maxQueue ?? 1000;
    this.target = target(opts.url);
  }

  send(payload: WebhookPayload): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueue) {
      const dropped = this.queue.shift()!;
      this.opts.log.error(about(dropped), 'alert webhook: queue full, oldest notification dropped');
    }
    this.queue.push(payload);
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
  }

  private async post(payload: WebhookPayload): Promise<void> {
    const { url, authorization } = this.target;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'nabiz-alerts', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new FinalRefusal(`answered ${res.status}`);
    if (!res.ok) throw new Error(`answered ${res.status}`);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const payload = this.queue[0]!;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.post(payload);
          this.delivered++;
          break;
        } catch (err) {
          const last = attempt >= this.maxAttempts || this.closing || err instanceof FinalRefusal;
          this.opts.log.warn(
            { ...about(payload), attempt, err: this.target.secrets.reduce((m, s) => m.replaceAll(s, '***'), (err as Error).message) },
            last ? 'alert webhook: giving up on this notification' : 'alert webhook: delivery failed, retrying',
          );
          if (last) {
            this.failed++;
            break;
          }
          // with jitter: after an outage of the receiver, the API processes' webhooks do not all retry in step
          await this.sleep(backoffDelay(attempt - 1, Math.random, { baseMs: this.baseDelayMs, maxMs: 60_000 }));
        }
      }
      if (this.queue[0] === payload) this.queue.shift();
    }
  }

  /** Waits until the queue is empty (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Stops retrying, and sends what is still queued, one attempt each, for up to `graceMs` (within the process's
   * shutdown deadline); what is left then is dropped (logged).
   */
  async close(graceMs = 3_000): Promise<void> {
    this.closing = true;
    this.wake?.();
    if (this.running) await within(graceMs, this.running).catch(() => {});
    this.closed = true;
    if (this.queue.length > 0) this.opts.log.warn({ pending: this.queue.length }, 'alert webhook: notifications not sent at shutdown');
  }
}
