// The sender and the paced run, with a fake ingest endpoint: retries reuse the same ids, fatal answers stop the run
// with a message, and a faster-than-real-time run never sends an event from the future.
import { describe, expect, it } from 'vitest';
import type { IngestEvent } from '../../server/ingest/contract.ts';
import { EventSender, parseKeys, SimulationError, startSimulation } from '../../server/simulator/index.ts';

const KEYS = { acd: 'k-acd', ivr: 'k-ivr', crm: 'k-crm' };
const ev = (id: string): IngestEvent => ({ id, source: 'acd', type: 'contact.abandoned', occurredAt: new Date().toISOString(), contactId: 'c1' });

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

  it('parses INGEST_KEYS-style text and names a bad entry', () => {
    expect(parseKeys('acd:K1, ivr:K2,crm:K3')).toEqual({ acd: 'K1', ivr: 'K2', crm: 'K3' });
    expect(() => parseKeys('pbx:K1')).toThrow(SimulationError);
  });
});

describe('startSimulation', () => {
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
