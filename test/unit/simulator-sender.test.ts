// The sender and the paced run, with a fake ingest endpoint: retries reuse the same ids, fatal answers stop the run
// with a message, retries back off (beyond a fixed Retry-After too), and a faster-than-real-time run never sends an
// event from the future. Outages in these tests use a short backoff (FAST) so that dozens of retries take moments.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IngestEvent } from '../../server/ingest/contract.ts';
import { EventSender, parseKeys, retryDelayMs, SimulationError, startSimulation } from '../../server/simulator/index.ts';

const KEYS = { acd: 'k-acd', ivr: 'k-ivr', crm: 'k-crm' };
/** A backoff of 1 ms doubling up to 10 ms (the Retry-After of the fakes below, 10 ms, is the floor). */
const FAST = { minBackoffMs: 1, maxBackoffMs: 10 };

afterEach(() => {
  vi.useRealTimers();
});
const ev = (id: string): IngestEvent => ({ id, source: 'acd', type: 'contact.abandoned', occurredAt: new Date().toISOString(), contactId: 'c1' });

function captureLog() {
  const lines: Array<{ level: 'info' | 'warn'; msg: string }> = [];
  return { lines, log: { info: (msg: string) => lines.push({ level: 'info', msg }), warn: (msg: string) => lines.push({ level: 'warn', msg }) } };
}

/** Every request fails with 503 (Retry-After 10 ms) while `down()` says so; then 202. */
function outageFetch(down: (request: number) => boolean, counts: { requests: number; accepted: number }): typeof fetch {
  return (async (_url: string | URL | Request, init?: RequestInit) => {
    const n = String(init!.body).split('\n').length;
    if (down(++counts.requests)) return new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503, headers: { 'retry-after': '0.01' } });
    counts.accepted += n;
    return new Response(JSON.stringify({ accepted: n, duplicates: 0 }), { status: 202 });
  }) as typeof fetch;
}

function fakeFetch(answers: number[], seen: Array<{ auth: string; body: string }>): typeof fetch {
  return (async (_url: string | URL | Request, init?: RequestInit) => {
    const body = String(init!.body);
    seen.push({ auth: String((init!.headers as Record<string, string>).authorization), body });
    const status = answers.shift() ?? 202;
    const n = body.split('\n').length;
    const payload = status === 202 ? { accepted: n, duplicates: 0 } : { error: { code: 'x', message: 'nope' } };
    return new Response(JSON.stringify(payload), { status, headers: status === 503 ? { 'retry-after': '0.01' } : {} });
  }) as typeof fetch;
}

describe('EventSender', () => {
  it('retries a 503 and a 429 with the very same body (same ids), then counts the events once', async () => {
    const seen: Array<{ auth: string; body: string }> = [];
    const sender = new EventSender({ baseUrl: 'http://x', keys: KEYS, fetch: fakeFetch([503, 429], seen) });
    await sender.send([ev('a'), ev('b')]);
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.body)).size).toBe(1);
    expect(seen[0]!.auth).toBe('Bearer k-acd');
    expect(sender.stats()).toMatchObject({ sent: 2, accepted: 2, retries: 2, rejected: 0 });
  });

  it('stops on a 401 with a message about the key', async () => {
    const sender = new EventSender({ baseUrl: 'http://x', keys: KEYS, fetch: fakeFetch([401], []) });
    await expect(sender.send([ev('a')])).rejects.toThrow(/401.*check the ingest key/);
  });

  it('with unlimited retries, an outage longer than the default 10 retries is waited out: a warning when it starts, an info when ingest answers again', async () => {
    const seen: Array<{ auth: string; body: string }> = [];
    const { lines, log } = captureLog();
    // 12 × 503, then 202: two more failures than the default limit of 10 retries allows
    const sender = new EventSender({ baseUrl: 'http://x', keys: KEYS, maxRetries: Infinity, log, ...FAST, fetch: fakeFetch(Array(12).fill(503), seen) });
    await sender.send([ev('a')]);
    expect(seen).toHaveLength(13);
    expect(new Set(seen.map((s) => s.body)).size).toBe(1);
    expect(sender.stats()).toMatchObject({ sent: 1, accepted: 1, retries: 12 });
    expect(lines[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/ingest answered 503.*retrying/) });
    // warnings at the first failure and now and then, not at every retry
    expect(lines.filter((l) => l.level === 'warn').length).toBeLessThanOrEqual(5);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: expect.stringMatching(/ingest answering again.*12 retries/) });
  });

  it('the retry delay doubles from 250 ms with jitter, is capped, and a Retry-After is honoured up to a minute', () => {
    // random 1 → factor 0.5 + 1/2 = 1: 250 · 2³ = 2,000 ms; random 0 → factor 0.5: 1,000 ms
    expect(retryDelayMs(3, undefined, 15_000, () => 1)).toBe(2_000);
    expect(retryDelayMs(3, undefined, 15_000, () => 0)).toBe(1_000);
    // attempt 40: 250 · 2⁴⁰ ms, capped at 15,000 (× 1) — never Infinity or NaN however long the outage
    expect(retryDelayMs(40, undefined, 15_000, () => 1)).toBe(15_000);
    expect(retryDelayMs(5_000, undefined, 15_000, () => 0)).toBe(7_500);
    // Retry-After: 2 s → at least 2,000 ms, spread up to × 1.25; 3,600 s → capped at 60,000 ms (× 1–1.25)
    expect(retryDelayMs(0, 2, 15_000, () => 0)).toBe(2_000);
    expect(retryDelayMs(0, 2, 15_000, () => 1)).toBe(2_500);
    expect(retryDelayMs(0, 3_600, 15_000, () => 0)).toBe(60_000);
    expect(retryDelayMs(0, 3_600, 15_000, () => 1)).toBe(75_000);
  });

  it('a Retry-After is a floor, not the delay: under a fixed Retry-After: 5 (Nabız\'s 503) the delay still grows, with jitter', () => {
    // Attempt 6: the backoff, 250 · 2⁶ = 16,000 capped at 15,000, × 0.5–1, passes the 5 s asked for.
    expect(retryDelayMs(6, 5, 15_000, () => 0)).toBe(7_500);
    expect(retryDelayMs(6, 5, 15_000, () => 1)).toBe(15_000);
    // Early attempts wait the 5 s asked for, never less, spread over 5–6.25 s.
    for (const r of [0, 0.3, 0.999]) {
      expect(retryDelayMs(0, 5, 15_000, () => r)).toBeGreaterThanOrEqual(5_000);
      expect(retryDelayMs(0, 5, 15_000, () => r)).toBeLessThanOrEqual(6_250);
    }
    expect(retryDelayMs(0, 5, 15_000, () => 0)).not.toBe(retryDelayMs(0, 5, 15_000, () => 0.999));
    // The CLI's 10 retries (docs/simulator.md: about 1 to 1½ minutes) wait 60–100 s in all, at either end of the
    // jitter: 5 × 5 + 5 + 4 × 7.5 = 60 s; 5 × 6.25 + 8 + 4 × 15 = 99.25 s (not 10 × 5 = 50 s).
    const total = (r: number) => Array.from({ length: 10 }, (_, a) => retryDelayMs(a, 5, 15_000, () => r)).reduce((x, y) => x + y, 0);
    expect(total(0)).toBe(60_000);
    expect(total(0.999_999)).toBeGreaterThan(99_000);
    expect(total(0.999_999)).toBeLessThanOrEqual(100_000);
  });

  it('against a storage outage answering 503 with Retry-After: 5, the sender backs off past 5 s and gives up after 60–100 s, not 50 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const at: number[] = [];
    const fetchFn = (async () => {
      at.push(Date.now());
      return new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503, headers: { 'retry-after': '5' } });
    }) as typeof fetch;
    const sender = new EventSender({ baseUrl: 'http://x', keys: KEYS, fetch: fetchFn });
    let failure: Error | undefined;
    const sending = sender.send([ev('a')]).catch((err: Error) => void (failure = err));
    for (let i = 0; i < 300 && !failure; i++) await vi.advanceTimersByTimeAsync(1_000);
    await sending;
    expect(failure?.message).toMatch(/still failing after 11 attempts.*giving up/);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps).toHaveLength(10);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(5_000); // never sooner than asked
    expect(Math.max(...gaps)).toBeGreaterThan(7_000); // grows past the Retry-After
    expect(new Set(gaps).size).toBeGreaterThan(1); // jitter: not in step
    const total = at.at(-1)! - at[0]!;
    expect(total).toBeGreaterThanOrEqual(60_000);
    expect(total).toBeLessThanOrEqual(100_000);
  });

  it('with the default limit, ingest failing for good ends the send with a message saying it gave up and how many events were not sent', async () => {
    const counts = { requests: 0, accepted: 0 };
    const sender = new EventSender({ baseUrl: 'http://x', keys: KEYS, ...FAST, fetch: outageFetch(() => true, counts) });
    await expect(sender.send([ev('a'), ev('b')])).rejects.toThrow(/still failing after 11 attempts.*503.*giving up: 2 acd events not sent/);
    expect(counts.requests).toBe(11); // the first attempt and 10 retries
  });

  it('parses INGEST_KEYS-style text and names a bad entry', () => {
    expect(parseKeys('acd:K1, ivr:K2,crm:K3')).toEqual({ acd: 'K1', ivr: 'K2', crm: 'K3' });
    expect(() => parseKeys('pbx:K1')).toThrow(SimulationError);
  });
});

describe('startSimulation', () => {
  it('refuses --speed above 1 without --duration or --backfill (it would silently run in real time)', () => {
    const start = () => startSimulation({ baseUrl: 'http://x', keys: KEYS, seed: 1, agents: 10, speed: 60, progressMs: 0, fetch: fakeFetch([], []) });
    let run: ReturnType<typeof startSimulation> | undefined;
    try {
      expect(() => (run = start())).toThrow(SimulationError);
      expect(() => (run = start())).toThrow(/speed 60.*--duration.*--backfill/);
    } finally {
      void run?.stop();
    }
    // an explicit backfill of 0 is the same: nothing in the past to catch up with
    expect(() => startSimulation({ baseUrl: 'http://x', keys: KEYS, seed: 1, agents: 10, speed: 60, backfillMs: 0, fetch: fakeFetch([], []) })).toThrow(/--backfill/);
  });

  it('refuses a start in the past at speed 1 (it would stay that far behind the clock for ever, never live)', () => {
    expect(() => startSimulation({ baseUrl: 'http://x', keys: KEYS, seed: 1, agents: 10, speed: 1, backfillMs: 30 * 60_000, fetch: fakeFetch([], []) })).toThrow(/never catches up/);
  });

  it('with maxRetries Infinity (the demo), a long ingest outage never ends the run; stop() during the outage still resolves', async () => {
    const counts = { requests: 0, accepted: 0 };
    const { lines, log } = captureLog();
    const run = startSimulation({
      baseUrl: 'http://x', keys: KEYS, seed: 1, agents: 10, speed: 1_800, durationMs: 30 * 60_000, curve: 'flat', tickMs: 20, progressMs: 0,
      maxRetries: Infinity, log, ...FAST, fetch: outageFetch(() => true, counts),
    });
    // 30 failed requests: more than the 11 attempts after which the default sender gives up
    await vi.waitFor(() => expect(counts.requests).toBeGreaterThanOrEqual(30), { timeout: 20_000, interval: 20 });
    expect(run.stats().running).toBe(true);
    expect(lines.some((l) => l.level === 'warn' && /retrying/.test(l.msg))).toBe(true);
    await run.stop();
    await expect(run.done).rejects.toThrow(/stopped while ingest was failing/);
    expect(run.stats().running).toBe(false);
  });

  it('with maxRetries Infinity, the events held back during an outage are all delivered once ingest answers again', async () => {
    const counts = { requests: 0, accepted: 0 };
    const { lines, log } = captureLog();
    const run = startSimulation({
      baseUrl: 'http://x', keys: KEYS, seed: 1, agents: 10, speed: 1_800, durationMs: 30 * 60_000, curve: 'flat', tickMs: 20, progressMs: 0,
      maxRetries: Infinity, log, ...FAST, fetch: outageFetch((n) => n <= 40, counts),
    });
    const final = await run.done;
    expect(counts.requests).toBeGreaterThan(40);
    expect(final.sender.sent).toBe(final.events + final.duplicates);
    expect(counts.accepted).toBe(final.sender.sent);
    expect(lines.some((l) => l.level === 'info' && /ingest answering again/.test(l.msg))).toBe(true);
  });

  it('with the default limit, a run whose ingest keeps failing ends: done rejects with the reason (the CLI prints it and exits 1)', async () => {
    const counts = { requests: 0, accepted: 0 };
    const run = startSimulation({
      baseUrl: 'http://x', keys: KEYS, seed: 1, agents: 10, speed: 1_800, durationMs: 30 * 60_000, curve: 'flat', tickMs: 20, progressMs: 0,
      ...FAST, fetch: outageFetch(() => true, counts),
    });
    await expect(run.done).rejects.toThrow(/ingest .*still failing after 11 attempts.*giving up/);
    expect(run.stats().running).toBe(false);
  });

  it('at 1,800× over a window ending now, sends every event, none from the future, the run ends on time', async () => {
    const seen: Array<{ auth: string; body: string }> = [];
    let future = 0;
    const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
      const sentAt = Date.now();
      for (const line of String(init!.body).split('\n')) if (Date.parse((JSON.parse(line) as IngestEvent).occurredAt) > sentAt) future++;
      return fakeFetch([], seen)(url, init);
    }) as typeof fetch;
    const started = Date.now();
    const paced = startSimulation({
      baseUrl: 'http://x', keys: 'acd:a,ivr:b,crm:c', seed: 1, agents: 10, speed: 1_800, durationMs: 30 * 60_000, curve: 'flat', tickMs: 20, progressMs: 0, fetch: fetchFn,
    });
    const final = await paced.done;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(future).toBe(0);
    expect(final.sender.sent).toBe(final.events + final.duplicates);
    expect(final.events).toBeGreaterThan(50);
    expect(final.running).toBe(false);
    expect(final.endAt).toBeLessThanOrEqual(Date.now());
  });
});
