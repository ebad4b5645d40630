// The demo's traffic (server/demo.ts) against a fake app and a fake ingest endpoint: an ingest outage longer than the
// standalone simulator would wait out does not stop the demo floor for good — it warns, keeps retrying, and says when
// ingest answers again — and a failure that retrying cannot fix is logged as an error instead of vanishing. And the
// demo's floor is awake at any hour: the queue table a TV opens on has figures at 3 a.m. too.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../server/config.ts';
import { DEMO_FLOOR, DEMO_PASSWORD, startDemo, type Demo } from '../../server/demo.ts';
import type { Log } from '../../server/log.ts';
import { runSimulation } from '../../server/simulator/index.ts';

// The simulator's sender posts with the global fetch, replaced here by the fake endpoint.

/**
 * Just enough of the app for startDemo's setup calls: every API call answers 200 with empty lists. `passwords` gets the
 * password the demo user was created with, then the one it signed in with.
 */
function fakeApp(passwords: string[] = []): FastifyInstance {
  const body = { token: 't', thresholds: [], displays: [], messages: [] };
  return {
    auth: {
      service: {
        listUsers: async () => [],
        createUser: async (_actor: unknown, u: { password: string }) => void passwords.push(u.password),
        updateUser: async () => ({}),
      },
    },
    inject: async (req: { url: string; payload?: { password?: string } }) => {
      if (req.url === '/v1/auth/login') passwords.push(req.payload!.password!);
      return { statusCode: 200, body: JSON.stringify(body), json: () => body };
    },
  } as unknown as FastifyInstance;
}

function fakeLog() {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (obj: unknown, msg?: string) => lines.push({ level, msg: typeof obj === 'string' ? obj : String(msg) });
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Log;
  return { lines, log };
}

const config = { INGEST_KEYS: 'acd:a,ivr:b,crm:c', CENTER_TZ: 'UTC', HOST: '127.0.0.1' } as Config;

let demo: Demo | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the demo user', () => {
  it('has the published password while the API listens on loopback only, and a fresh random one when HOST exposes it', async () => {
    vi.stubGlobal('fetch', (async () => new Response('{"accepted":0,"duplicates":0}', { status: 202 })) as typeof fetch);
    const run = async (HOST: string) => {
      const passwords: string[] = [];
      demo = await startDemo({ app: fakeApp(passwords), config: { ...config, HOST }, baseUrl: 'http://x', log: fakeLog().log });
      await demo.stop();
      demo = undefined;
      return passwords;
    };
    for (const host of ['127.0.0.1', '::1', 'localhost']) expect(await run(host)).toEqual([DEMO_PASSWORD, DEMO_PASSWORD]);
    const [a, b] = [await run('0.0.0.0'), await run('192.168.1.20')];
    for (const [created, signedIn] of [a, b]) {
      expect(created).not.toBe(DEMO_PASSWORD);
      expect(created!.length).toBeGreaterThanOrEqual(12); // the minimum password length
      expect(signedIn).toBe(created);
    }
    expect(a![0]).not.toBe(b![0]);
  });
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
    // The retries back off to 15 s apart (the Retry-After of 10 ms is only a floor): 40 failures take minutes of
    // backoff, played here on a fake clock (the demo's wall clock and timers), a second at a time.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const answering = () => lines.some((l) => l.level === 'info' && /ingest answering again/.test(l.msg));
    for (let i = 0; i < 1_800 && !answering(); i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(answering()).toBe(true);
    await demo.stop();
    demo = undefined;
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

describe('the demo floor', () => {
  const MIN = 60_000;
  /** Queues with an answered or abandoned contact (a service level) in the last 15 minutes of the half hour before `at`. */
  function queuesWithServiceLevel(at: number, seed: number) {
    const { emissions } = runSimulation({ ...DEMO_FLOOR, seed, startAt: at - 30 * MIN, durationMs: 30 * MIN, duplicateRate: 0, lateRate: 0 });
    const queues = emissions
      .filter(({ event, at: t }) => (event.type === 'contact.answered' || event.type === 'contact.abandoned') && t >= at - 15 * MIN)
      .map(({ event }) => event.queue);
    return [...new Set(queues)].sort();
  }
  const ALL = ['billing', 'chat-support', 'sales', 'tech-support'];
  const NIGHT = Date.parse('2026-11-24T03:00:00Z'); // the curve's quietest hour (CENTER_TZ UTC)

  it('is awake at 3 a.m.: the half hour the demo backfills gives every queue of the table a service level, whatever the seed', () => {
    // The weekday curve at 03:00 is 0.03 of the peak (a queue or two has a contact in 15 minutes, often none); the
    // demo's is 0.5 + 0.03 / 2 = 0.515 of it.
    for (let seed = 1; seed <= 8; seed++) expect(queuesWithServiceLevel(NIGHT, seed), `seed ${seed}`).toEqual(ALL);
  });

  it('keeps the weekday shape: the peak at 10:00, the night at about half of it', () => {
    // 0.5 + 1.0 / 2 = 1.0 at 10:00; 0.5 + 0.03 / 2 = 0.515 at 03:00; the lunch dip 0.5 + 0.8 / 2 = 0.9 at 12:00
    expect(DEMO_FLOOR.curve.indexOf(Math.max(...DEMO_FLOOR.curve))).toBe(10);
    expect(DEMO_FLOOR.curve[3]).toBeCloseTo(0.515, 10);
    expect(DEMO_FLOOR.curve[12]).toBeCloseTo(0.9, 10);
  });
});
