// A source that has gone quiet is said on the screens: the live hub tells every socket which sources (ACD, IVR, CRM)
// sent events in the last 24 hours but none for their quiet time (SOURCE_QUIET_MINUTES, per source), and tells them again
// when one comes back. Likewise the center's opening hours, and figures gone stale (the KPI worker stopped ticking).
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { startEmbeddedRedis } from '../../server/redis/embedded.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { openSocket, type LiveTestClient } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-sources';
const ACD_KEY = 'acd-sources-key-0123456789';
const MIN = 60_000;

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let socket: LiveTestClient | undefined;
// Seeded before the app starts, with quiet times of 15 minutes and the IVR's own of 1: the ACD last sent 20 minutes
// ago (quiet: more than 15), the IVR 2 minutes ago (quiet: more than its 1), the CRM 30 hours ago (beyond the 24-hour
// look-back: not in use, never reported).
const T = Date.now();
const SEEDED = { acd: T - 20 * MIN, ivr: T - 2 * MIN, crm: T - 30 * 60 * MIN };

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: `acd:${ACD_KEY}`, ADMIN_PASSWORD, SOURCE_QUIET_MINUTES: '15,ivr:1', STREAM_HEARTBEAT_MS: '1000' });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  await redis.hset(`${ctx.config.REDIS_PREFIX}:ingest:last-stored`, Object.fromEntries(Object.entries(SEEDED).map(([s, t]) => [s, String(t)])));
  app = await buildApp({ config: ctx.config, log: capturedLog('error').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  socket?.ws.terminate();
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

/** An app of its own on `c`'s database, on its own clock (and Redis connections, when given), listening. */
async function ownApp(c: TestContext, deps: { redis: Redis; subscriber?: Redis; now: () => number }): Promise<FastifyInstance> {
  const a = await buildApp({ config: c.config, log: capturedLog('error').log, clickhouse: c.clickhouse, wallboardDir: '/nonexistent', ...deps });
  await a.listen({ port: 0, host: '127.0.0.1' });
  return a;
}

/** A signed-in admin's live socket on `a`, once welcomed. */
async function adminSocket(a: FastifyInstance): Promise<LiveTestClient> {
  const login = await a.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  const s = await openSocket(`ws://127.0.0.1:${(a.server.address() as { port: number }).port}/v1/stream`, { authorization: `Bearer ${login.json<{ token: string }>().token}` });
  await s.next('welcome');
  return s;
}

describe('quiet sources on the live stream', () => {
  it('says which source went quiet on connect, and that it is back once it sends again', async () => {
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
    socket = await openSocket(url, { authorization: `Bearer ${login.json<{ token: string }>().token}` });
    await socket.next('welcome');
    const first = await socket.next('sources');
    expect(first.quiet).toEqual([
      { source: 'acd', since: new Date(SEEDED.acd).toISOString() },
      { source: 'ivr', since: new Date(SEEDED.ivr).toISOString() },
    ]);
    // right after the welcome, before anything else
    expect(socket.messages.map((m) => m.type).slice(0, 2)).toEqual(['welcome', 'sources']);

    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${ACD_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify([sampleEvent('contact.offered')]),
    });
    expect(res.statusCode).toBe(202);
    // the next heartbeat (every second here) sees the ACD back, to every socket; the IVR is still quiet
    const back = await socket.next('sources', (m) => !m.quiet.some((q) => q.source === 'acd'));
    expect(back.quiet).toEqual([{ source: 'ivr', since: new Date(SEEDED.ivr).toISOString() }]);
    const stored = Number(await redis.hget(`${ctx.config.REDIS_PREFIX}:ingest:last-stored`, 'acd'));
    expect(stored).toBeGreaterThan(SEEDED.acd);
  }, 30_000);
});

describe('opening hours on the live stream', () => {
  it('tells a screen that connects while the center is closed when it opens, and every screen when it opens and closes', async () => {
    // Closed now; open from the next whole minute for an hour (on the UTC clock); the test's clock moves by hand.
    const opens = Math.ceil((Date.now() + 1) / MIN) * MIN;
    const d = new Date(opens);
    const hhmm = (t: Date) => `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`;
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][d.getUTCDay()]!;
    const closes = new Date(Math.min(opens + 60 * MIN, Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)));
    const hours = `${day} ${hhmm(d)}-${closes.getTime() === opens + 60 * MIN ? hhmm(closes) : '24:00'}`;
    const c = await createTestContext({ ADMIN_PASSWORD, CENTER_HOURS: hours, CENTER_TZ: 'UTC', STREAM_HEARTBEAT_MS: '1000' });
    let clock = opens - 30_000;
    const a = await ownApp(c, { redis, now: () => clock });
    let s: LiveTestClient | undefined;
    try {
      s = await adminSocket(a);
      expect(await s.next('hours')).toEqual({ type: 'hours', open: false, opensAt: new Date(opens).toISOString() });
      clock = opens; // the next heartbeat sees it open
      expect(await s.next('hours', (m) => m.open)).toEqual({ type: 'hours', open: true, opensAt: null });
      clock = closes.getTime(); // and closed again, opening next on the same weekday
      const nextWeek = new Date(opens + 7 * 24 * 60 * MIN).toISOString();
      expect(await s.next('hours', (m) => !m.open && m.opensAt === nextWeek)).toBeTruthy();
      expect(s.messages.filter((m) => m.type === 'hours').map((m) => (m as { open: boolean }).open)).toEqual([false, true, false]); // once each
    } finally {
      s?.ws.terminate();
      await a.close();
      await c.cleanup();
    }
  }, 30_000);
});

describe('stale figures on the live stream', () => {
  it('tells every screen when the KPI worker stops ticking (and as of when), a new screen at once, and when it ticks again', async () => {
    const c = await createTestContext({ ADMIN_PASSWORD });
    const alive = kpiRedisNames(c.config.REDIS_PREFIX).alive;
    const t0 = Date.now();
    let clock = t0;
    await redis.set(alive, String(t0 - 1000)); // the worker's latest tick, a second ago
    const a = await ownApp(c, { redis, now: () => clock });
    const sockets: LiveTestClient[] = [];
    try {
      const connect = async () => {
        const s = await adminSocket(a);
        sockets.push(s);
        return s;
      };
      const first = await connect();
      clock = t0 + 8_000; // 9 s since the tick: still current (the hub looks every 2 s)
      await new Promise((r) => setTimeout(r, 2_500));
      clock = t0 + 9_001; // 10.001 s since: stale, as of the tick
      expect(await first.next('figures')).toEqual({ type: 'figures', stale: true, asOf: new Date(t0 - 1000).toISOString() });
      // said once, and not before: at 9 s it was still current
      expect(first.messages.filter((m) => m.type === 'figures')).toHaveLength(1);
      const second = await connect();
      expect(second.messages.map((m) => m.type).slice(0, 2)).toEqual(['welcome', 'figures']);
      await redis.set(alive, String(clock)); // the worker ticks again
      for (const s of [first, second]) expect(await s.next('figures', (m) => !m.stale)).toEqual({ type: 'figures', stale: false, asOf: null });
    } finally {
      for (const s of sockets) s.ws.terminate();
      await a.close();
      await c.cleanup();
    }
  }, 30_000);
  it('says the figures are stale when Redis hangs (a stopped process, a half-open link), and current once it answers again', async () => {
    // A Redis of its own, stopped with SIGSTOP: its connections stay open and nothing is answered. The hub's read of
    // the worker's tick waited for good, so the TVs said "live" over frozen figures.
    const dir = await mkdtemp(path.join(tmpdir(), 'nabiz-hung-redis-'));
    const own = await startEmbeddedRedis({ dataDir: dir });
    const c = await createTestContext({ ADMIN_PASSWORD, REDIS_URL: own.url });
    const r = createRedis(own.url, 'commands');
    const alive = kpiRedisNames(c.config.REDIS_PREFIX).alive;
    const t0 = Date.now();
    let clock = t0;
    let s: LiveTestClient | undefined;
    let a: FastifyInstance | undefined;
    try {
      if (r.status !== 'ready') await once(r, 'ready');
      await r.set(alive, String(t0 - 1000));
      a = await ownApp(c, { redis: r, now: () => clock });
      s = await adminSocket(a);
      process.kill(own.pid, 'SIGSTOP');
      clock = t0 + 9_001; // 10.001 s since the last tick read
      expect(await s.next('figures')).toEqual({ type: 'figures', stale: true, asOf: new Date(t0 - 1000).toISOString() });
      process.kill(own.pid, 'SIGCONT');
      await r.set(alive, String(clock));
      expect(await s.next('figures', (m) => !m.stale)).toEqual({ type: 'figures', stale: false, asOf: null });
    } finally {
      process.kill(own.pid, 'SIGCONT');
      s?.ws.terminate();
      await a?.close();
      r.disconnect();
      await c.cleanup();
      await own.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('connects the subscription anew when its link hangs half-open, saying the figures are stale meanwhile', async () => {
    // The subscription's connection goes through a link the test can freeze: frozen, it passes nothing either way, as
    // a connection a NAT dropped (TCP keepalive would notice after ~11 minutes; the TVs said "live" all along).
    const c = await createTestContext({ ADMIN_PASSWORD });
    const target = new URL(c.config.REDIS_URL!);
    const links: Array<{ frozen: boolean; ends: net.Socket[] }> = [];
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      const link = { frozen: false, ends: [client, upstream] };
      links.push(link);
      client.on('data', (d) => void (link.frozen || upstream.write(d)));
      upstream.on('data', (d) => void (link.frozen || client.write(d)));
      for (const end of link.ends) {
        end.on('error', () => {});
        end.on('close', () => link.ends.forEach((e) => e.destroy()));
      }
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const viaLink = Object.assign(new URL(target.href), { port: String((proxy.address() as net.AddressInfo).port) });
    const subscriber = createRedis(viaLink.href, 'subscriber');
    const alive = kpiRedisNames(c.config.REDIS_PREFIX).alive;
    const t0 = Date.now();
    let clock = t0;
    let s: LiveTestClient | undefined;
    let a: FastifyInstance | undefined;
    try {
      await redis.set(alive, String(t0));
      a = await ownApp(c, { redis, subscriber, now: () => clock });
      s = await adminSocket(a);
      for (const link of links) link.frozen = true;
      // the worker ticks on (not the cause); 10 s on, the subscription has not answered since: stale
      clock = t0 + 10_001;
      await redis.set(alive, String(clock));
      expect(await s.next('figures')).toMatchObject({ type: 'figures', stale: true });
      // after three unanswered PINGs it is connected anew (a new link), subscribed again, and the screens caught up
      expect(await s.next('messages')).toEqual({ type: 'messages' });
      expect(links.filter((l) => !l.frozen).length).toBeGreaterThanOrEqual(1);
      expect(await s.next('figures', (m) => !m.stale)).toEqual({ type: 'figures', stale: false, asOf: null });
    } finally {
      s?.ws.terminate();
      await a?.close();
      subscriber.disconnect();
      for (const link of links) link.ends.forEach((e) => e.destroy());
      proxy.close();
      await c.cleanup();
    }
  }, 40_000);

  it('a tick stamped hours ahead that never moves (a worker whose clock was set back, its ticks waiting for that time) is stale 10 s on', async () => {
    const c = await createTestContext({ ADMIN_PASSWORD });
    const alive = kpiRedisNames(c.config.REDIS_PREFIX).alive;
    const t0 = Date.now();
    let clock = t0;
    await redis.set(alive, String(t0 + 3 * 3_600_000));
    const a = await ownApp(c, { redis, now: () => clock });
    let s: LiveTestClient | undefined;
    try {
      s = await adminSocket(a);
      await new Promise((r) => setTimeout(r, 2_500)); // the hub has read the tick
      clock = t0 + 10_001 + 2_500;
      // stale, as of when the tick was first read (before: current for three hours)
      const said = (await s.next('figures')) as { stale: boolean; asOf: string };
      expect(said.stale).toBe(true);
      expect(Date.parse(said.asOf)).toBeGreaterThanOrEqual(t0);
      expect(Date.parse(said.asOf)).toBeLessThanOrEqual(t0 + 2_500);
      // the worker ticks again (its clock, whatever it reads): current
      await redis.set(alive, String(t0 + 3 * 3_600_000 + 1_000));
      expect(await s.next('figures', (m) => !m.stale)).toEqual({ type: 'figures', stale: false, asOf: null });
    } finally {
      s?.ws.terminate();
      await a.close();
      await c.cleanup();
    }
  }, 30_000);

  it("judges the worker's ticks on the API's clock: a worker 60 s ahead is stale 10 s after its last tick, one 60 s behind is current", async () => {
    const c = await createTestContext({ ADMIN_PASSWORD });
    const alive = kpiRedisNames(c.config.REDIS_PREFIX).alive;
    let clock = Date.now();
    const a = await ownApp(c, { redis, now: () => clock });
    const look = () => new Promise((r) => setTimeout(r, 2_500)); // the hub looks every 2 s
    let s: LiveTestClient | undefined;
    try {
      s = await adminSocket(a);
      // A worker whose clock is 60 s ahead ticks twice, 2 s apart: the hub learns the difference.
      await redis.set(alive, String(clock + 60_000));
      await look();
      clock += 2_000;
      await redis.set(alive, String(clock + 60_000));
      await look();
      const lastTick = clock; // on the API's clock
      // It dies. 9 s later: current; 10.001 s later: stale, as of its last tick on the API's clock (before: not until
      // 70 s, its clock's 10 s)
      clock = lastTick + 9_000;
      await look();
      expect(s.messages.some((m) => m.type === 'figures')).toBe(false);
      clock = lastTick + 10_001;
      expect(await s.next('figures')).toEqual({ type: 'figures', stale: true, asOf: new Date(lastTick).toISOString() });

      // A worker whose clock is 60 s behind takes over and ticks: current, though each tick looks 60 s old (before:
      // stale for good)
      await redis.set(alive, String(clock - 60_000));
      await look();
      for (let i = 0; i < 3; i++) {
        clock += 2_000;
        await redis.set(alive, String(clock - 60_000));
        await look();
      }
      expect(s.messages.filter((m) => m.type === 'figures').at(-1)).toEqual({ type: 'figures', stale: false, asOf: null });
    } finally {
      s?.ws.terminate();
      await a.close();
      await c.cleanup();
    }
  }, 60_000);
});
