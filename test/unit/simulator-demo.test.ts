// The demo's traffic (server/demo.ts) against a fake app and a fake ingest endpoint: an ingest outage longer than the
// standalone simulator would wait out does not stop the demo floor for good — it warns, keeps retrying, and says when
// ingest answers again — and a failure that retrying cannot fix is logged as an error instead of vanishing.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../server/config.ts';
import { startDemo, type Demo } from '../../server/demo.ts';
import type { Log } from '../../server/log.ts';

// The simulator's sender posts with the global fetch, replaced here by the fake endpoint.

/** Just enough of the app for startDemo's setup calls: every API call answers 200 with empty lists. */
function fakeApp(): FastifyInstance {
  const body = { token: 't', thresholds: [], displays: [], messages: [] };
  return {
    auth: { service: { listUsers: async () => [], createUser: async () => ({}), updateUser: async () => ({}) } },
    inject: async () => ({ statusCode: 200, body: JSON.stringify(body), json: () => body }),
  } as unknown as FastifyInstance;
}

function fakeLog() {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (obj: unknown, msg?: string) => lines.push({ level, msg: typeof obj === 'string' ? obj : String(msg) });
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Log;
  return { lines, log };
}

const config = { INGEST_KEYS: 'acd:a,ivr:b,crm:c', CENTER_TZ: 'UTC' } as Config;

let demo: Demo | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
  vi.unstubAllGlobals();
});

describe('demo traffic', () => {
  it('an ingest outage of 40 failed requests (past the 10 retries the CLI allows) does not freeze the floor: warned, retried, then events flow again', async () => {
    const counts = { requests: 0, accepted: 0 };
    const fetchFn = (async (_url: string | URL | Request, init?: RequestInit) => {
      const n = String(init!.body).split('\n').length;
      if (++counts.requests <= 40) return new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503, headers: { 'retry-after': '0.01' } });
      counts.accepted += n;
      return new Response(JSON.stringify({ accepted: n, duplicates: 0 }), { status: 202 });
    }) as typeof fetch;
    vi.stubGlobal('fetch', fetchFn);
    const { lines, log } = fakeLog();
    demo = await startDemo({ app: fakeApp(), config, baseUrl: 'http://x', log });
    await vi.waitFor(() => expect(lines.some((l) => l.level === 'info' && /ingest answering again/.test(l.msg))).toBe(true), { timeout: 15_000, interval: 50 });
    expect(counts.accepted).toBeGreaterThan(0);
    expect(lines.some((l) => l.level === 'warn' && /ingest answered 503.*retrying/.test(l.msg))).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a failure retrying cannot fix (a refused key) is logged as an error saying the demo traffic stopped', async () => {
    const fetchFn = (async () => new Response('{"error":{"code":"unauthorized","message":"bad key"}}', { status: 401 })) as typeof fetch;
    vi.stubGlobal('fetch', fetchFn);
    const { lines, log } = fakeLog();
    demo = await startDemo({ app: fakeApp(), config, baseUrl: 'http://x', log });
    await vi.waitFor(() => expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([expect.stringMatching(/demo traffic stopped.*401/)]), {
      timeout: 15_000,
      interval: 50,
    });
  });
});
