// The live stream over real sockets, against the embedded ClickHouse and redis-server: authentication of the upgrade,
// snapshot (and alerts) on subscribe, an event posted to the API reaching a subscribed socket through the KPI worker,
// two API processes both delivering, bad messages, revocation, heartbeats and a slow consumer.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import type { Alert } from '../../server/live/protocol.ts';
import { alertRedisNames } from '../../server/alerts/store.ts';
import { KPI_KEYS, type KpiKey, type KpiValue } from '../../server/kpi/catalog.ts';
import type { Snapshot } from '../../server/kpi/compute.ts';
import { startKpiWorker, type KpiWorkerHandle } from '../../server/kpi/pipeline.ts';
import type { Series } from '../../server/kpi/compute.ts';
import { newSeriesWriterState, storeSeries } from '../../server/kpi/series-store.ts';
import { kpiRedisNames, storeSnapshots } from '../../server/kpi/snapshots.ts';
import type { LiveHub } from '../../server/live/hub.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { startEmbeddedRedis } from '../../server/redis/embedded.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { openSocket, type LiveTestClient } from '../support/ws.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-live';
const ACD_KEY = 'acd-live-key-0123456789';
const VIEWER_PASSWORD = 'viewer-Pa55word-live';
const BUFFER_LIMIT = 256 * 1024;

const captured = capturedLog('info');
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let hub: LiveHub;
let url: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
let admin: string;
let viewer: string;
const sockets: LiveTestClient[] = [];

async function connect(headers: Record<string, string> = bearer(viewer), at = url): Promise<LiveTestClient> {
  const c = await openSocket(at, headers);
  sockets.push(c);
  await c.next('welcome');
  return c;
}

/** A new viewer, signed in twice: the tokens of two sessions of one person. */
async function twoSessions(username: string, password: string): Promise<[string, string]> {
  await app.inject({ method: 'POST', url: '/v1/admin/users', headers: bearer(admin), payload: { username, password, role: 'viewer' } });
  const signIn = async () => (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password } })).json<{ token: string }>().token;
  return [await signIn(), await signIn()];
}

function values(over: Partial<Record<KpiKey, number | null>> = {}): Record<KpiKey, KpiValue> {
  return Object.fromEntries(KPI_KEYS.map((k) => [k, { value: over[k] ?? 0, n: 0 }])) as Record<KpiKey, KpiValue>;
}

const snap = (window: Snapshot['window'], scope: string, asOf: number, v: Partial<Record<KpiKey, number | null>> = {}): Snapshot => ({
  window,
  scope,
  asOf: new Date(asOf).toISOString(),
  values: values(v),
});

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: `acd:${ACD_KEY}`, ADMIN_PASSWORD, STREAM_MAX_BUFFER_BYTES: String(BUFFER_LIMIT), STREAM_MAX_SOCKETS_PER_CREDENTIAL: '5' });
  redis = createRedis(inject('redisUrl'), 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: captured.log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
  hub = app.liveHub;
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  admin = login.json<{ token: string }>().token;
  await app.inject({ method: 'POST', url: '/v1/admin/users', headers: bearer(admin), payload: { username: 'tv-viewer', password: VIEWER_PASSWORD, role: 'viewer' } });
  viewer = (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'tv-viewer', password: VIEWER_PASSWORD } })).json<{ token: string }>().token;
});

afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('upgrade', () => {
  it('refuses a socket without credentials (401), with an ingest key (403) or from another origin (403)', async () => {
    await expect(openSocket(url)).rejects.toMatchObject({ statusCode: 401 });
    await expect(openSocket(url, bearer('nbz_st_nonsense'))).rejects.toMatchObject({ statusCode: 401 });
    await expect(openSocket(url, bearer(ACD_KEY))).rejects.toMatchObject({ statusCode: 403 });
    await expect(openSocket(url, { ...bearer(viewer), origin: 'https://evil.example' })).rejects.toMatchObject({ statusCode: 403 });
  });

  it('accepts a session, a display token as ?display= and a display cookie, and greets each', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(admin), payload: { name: 'Floor 3', board: 'main' } });
    const token = created.json<{ token: string }>().token;
    const byQuery = await connect({}, `${url}?display=${token}`);
    const byCookie = await connect({ cookie: `nabiz_display=${token}` });
    const byUser = await connect();
    expect(byQuery.messages[0]).toMatchObject({ type: 'welcome', principal: { kind: 'display', name: 'Floor 3', board: 'main' } });
    expect(byCookie.messages[0]).toMatchObject({ type: 'welcome', principal: { kind: 'display' } });
    expect(byUser.messages[0]).toMatchObject({ type: 'welcome', principal: { kind: 'user', name: 'tv-viewer', role: 'viewer' } });
    for (const c of [byQuery, byCookie, byUser]) c.ws.close();
  });

  it('lets one credential hold STREAM_MAX_SOCKETS_PER_CREDENTIAL sockets in a process (5 here): the sixth is told why and closed (1008); once one closes, a new one is taken', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(admin), payload: { name: 'Leaked link', board: 'main' } });
    const token = created.json<{ token: string }>().token;
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await connect({}, `${url}?display=${token}`));
    const sixth = await openSocket(`${url}?display=${token}`);
    expect((await sixth.next('error')).code).toBe('too_many_sockets');
    expect((await sixth.closed).code).toBe(1008);
    // another display, and people, are not counted with it
    const other = await connect();
    expect(other.messages[0]).toMatchObject({ type: 'welcome' });
    open[0]!.ws.close();
    await open[0]!.closed;
    await new Promise((r) => setTimeout(r, 100)); // the server has seen it close
    const again = await connect({}, `${url}?display=${token}`);
    expect(again.messages[0]).toMatchObject({ type: 'welcome' });
    for (const c of [...open.slice(1), other, again]) c.ws.close();
  });
});

describe('subscriptions', () => {
  it('does not undo alerts that change while the list of open alerts is being read for a new subscription, however many', async () => {
    const t = Date.now();
    const alert: Alert = {
      id: 'al_race', thresholdId: 'thr_r', kpi: 'waiting', scope: 'queue:race', window: 'today', level: 'warning', peak: 'warning', value: 9,
      threshold: 5, direction: 'above', startedAt: new Date(t).toISOString(), endedAt: null, acknowledgedBy: null, acknowledgedAt: null,
    };
    const an = alertRedisNames(ctx.config.REDIS_PREFIX);
    await redis.hset(an.active, alert.id, JSON.stringify({ alert, at: t }));
    // Every read returns the list as it was; before it is answered, the alert changes (a new value each time: more
    // changes than a few re-reads would outlast), and this process fans each change out to the socket.
    const active = hub.alerts.active.bind(hub.alerts);
    let reads = 0;
    let latest = alert;
    hub.alerts.active = async (scopes) => {
      const list = await active(scopes);
      if (++reads <= 8) {
        latest = { ...latest, value: 9 + reads, level: reads % 2 === 0 ? 'critical' : 'warning' };
        const delivered = c.next('alert', (m) => m.alert.value === latest.value);
        // as the engine commits a transition: the active set, then the publication
        await redis.hset(an.active, alert.id, JSON.stringify({ alert: latest, at: t + reads }));
        await redis.publish(an.channel, JSON.stringify({ type: 'alert', alert: latest }));
        await delivered;
      }
      return list;
    };
    const c = await connect();
    try {
      c.send({ type: 'subscribe', window: 'today', scopes: ['queue:race'] });
      await c.next('alerts');
      c.send({ type: 'ping', id: 'race-done' });
      await c.next('pong', (m) => m.id === 'race-done');
      // What a screen holds after applying the messages in order (a list replaces, a change updates): the latest state.
      const held = new Map<string, Alert>();
      for (const m of c.messages) {
        if (m.type === 'alerts') {
          held.clear();
          for (const a of m.alerts) held.set(a.id, a);
        } else if (m.type === 'alert') held.set(m.alert.id, m.alert);
      }
      expect(latest.value).not.toBe(alert.value);
      expect(held.get(alert.id)).toEqual(latest);
    } finally {
      hub.alerts.active = active;
      await redis.hdel(an.active, alert.id);
    }
  });


  it('sends the latest snapshots and the active alerts at once on subscribe, then only what was subscribed', async () => {
    const names = kpiRedisNames(ctx.config.REDIS_PREFIX);
    const t = Date.now();
    const previous = new Map<string, string>();
    await storeSnapshots(redis, names, [snap('today', 'center', t, { offered: 12 }), snap('today', 'queue:billing', t, { offered: 5 }), snap('1h', 'center', t, { offered: 3 })], previous);
    const alert: Alert = {
      id: 'al_test1', thresholdId: 'thr_1', kpi: 'asa', scope: 'queue:billing', window: 'today', level: 'warning', peak: 'warning', value: 40,
      threshold: 30, direction: 'above', startedAt: new Date(t).toISOString(), endedAt: null, acknowledgedBy: null, acknowledgedAt: null,
    };
    const other: Alert = { ...alert, id: 'al_test2', scope: 'queue:sales' };
    const an = alertRedisNames(ctx.config.REDIS_PREFIX);
    await redis.hset(an.active, alert.id, JSON.stringify({ alert, at: t }), other.id, JSON.stringify({ alert: other, at: t }));

    const c = await connect();
    c.send({ type: 'subscribe', window: 'today', scopes: ['center', 'queue:billing'] });
    const center = await c.next('snapshot', (m) => m.scope === 'center');
    expect(center).toMatchObject({ window: 'today', asOf: new Date(t).toISOString() });
    expect(center.values.offered).toEqual({ value: 12, n: 0 });
    expect((await c.next('snapshot', (m) => m.scope === 'queue:billing')).values.offered?.value).toBe(5);
    const active = await c.next('alerts');
    expect(active.alerts.map((a) => a.id)).toEqual(['al_test1']); // only the socket's scopes

    // A change of a subscribed pair arrives; a change of an unsubscribed one (1h) does not.
    await storeSnapshots(redis, names, [snap('today', 'center', t + 1000, { offered: 13 }), snap('today', 'queue:billing', t, { offered: 5 }), snap('1h', 'center', t + 1000, { offered: 4 })], previous);
    expect((await c.next('snapshot', (m) => m.scope === 'center' && m.values.offered?.value === 13)).asOf).toBe(new Date(t + 1000).toISOString());
    // An alert of a subscribed scope arrives; one of another scope does not.
    await redis.publish(an.channel, JSON.stringify({ type: 'alert', alert: { ...other, level: 'critical' } }));
    await redis.publish(an.channel, JSON.stringify({ type: 'alert', alert: { ...alert, acknowledgedBy: 'sup' } }));
    expect((await c.next('alert')).alert).toMatchObject({ id: 'al_test1', acknowledgedBy: 'sup' });
    c.send({ type: 'ping', id: 'p1' });
    await c.next('pong', (m) => m.id === 'p1');
    expect(c.messages.filter((m) => m.type === 'snapshot' && m.window === '1h')).toEqual([]);
    expect(c.messages.filter((m) => m.type === 'alert').map((m) => m.type === 'alert' && m.alert.id)).toEqual(['al_test1']);

    // After unsubscribing, nothing more for that pair.
    c.send({ type: 'unsubscribe', window: 'today', scopes: ['center'] });
    c.send({ type: 'ping', id: 'p2' });
    await c.next('pong', (m) => m.id === 'p2');
    await storeSnapshots(redis, names, [snap('today', 'center', t + 2000, { offered: 14 }), snap('today', 'queue:billing', t + 2000, { offered: 6 })], previous);
    await c.next('snapshot', (m) => m.scope === 'queue:billing' && m.values.offered?.value === 6);
    expect(c.messages.some((m) => m.type === 'snapshot' && m.values.offered?.value === 14)).toBe(false);
    await redis.del(an.active);
    c.ws.close();
  });

  it('sends a followed series on subscribe, then each change and the departure of it, and no series it does not follow', async () => {
    const names = kpiRedisNames(ctx.config.REDIS_PREFIX);
    // the series' writes are optimistic transactions: a connection of their own, as the worker has
    const conn = createRedis(inject('redisUrl'), 'commands');
    if (conn.status !== 'ready') await once(conn, 'ready');
    const written = newSeriesWriterState();
    const t = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const day = Math.floor(t / 86_400_000) * 86_400_000;
    const series = (scope: string, at: number, offered: number[]): Series => ({
      window: 'today', scope, asOf: iso(at), intervalMinutes: 15,
      points: offered.map((n, i) => ({ start: iso(day + i * 900_000), end: iso(day + (i + 1) * 900_000), values: { offered: { value: n, n } } })),
    });
    const offered = (m: { points: Array<{ values: { offered?: { value: number | null } } }> }) => m.points.map((p) => p.values.offered?.value);
    try {
      await storeSeries(conn, names, [series('center', t, [1]), series('queue:billing', t, [2])], written);
      const c = await connect();
      c.send({ type: 'subscribe', window: 'today', scopes: ['center'] }); // the figures only
      c.send({ type: 'subscribe', window: 'today', scopes: ['queue:billing'], series: true });
      expect(offered(await c.next('series', (m) => m.scope === 'queue:billing'))).toEqual([2]);
      // Both series change: the followed one arrives, read from Redis by the hub.
      await storeSeries(conn, names, [series('center', t + 1000, [5]), series('queue:billing', t + 1000, [2, 3])], written);
      expect(offered(await c.next('series', (m) => m.asOf === iso(t + 1000)))).toEqual([2, 3]);
      // Only center changes: nothing. Then queue:billing has no series any more: its last one, as it is now, arrives.
      await storeSeries(conn, names, [series('center', t + 2000, [6]), series('queue:billing', t + 2000, [2, 3])], written);
      await storeSeries(conn, names, [series('center', t + 3000, [6])], written, (gone) => gone.map((scope) => series(scope, t + 3000, [0])));
      expect(offered(await c.next('series', (m) => m.asOf === iso(t + 3000)))).toEqual([0]);
      expect(c.messages.flatMap((m) => (m.type === 'series' ? [[m.scope, m.asOf]] : []))).toEqual([
        ['queue:billing', iso(t)],
        ['queue:billing', iso(t + 1000)],
        ['queue:billing', iso(t + 3000)],
      ]);
      c.ws.close();
    } finally {
      conn.disconnect();
    }
  });

  it('forgets a scope once no socket follows it (its figures, series or roster): TVs and consoles come and go for weeks', async () => {
    const tag = Date.now().toString(36);
    const [a, b, c] = ['a', 'b', 'c'].map((x) => `queue:gone-${tag}-${x}`);
    // every index of the hub, by scope (private: what a process that runs for weeks keeps)
    const indexed = () => {
      const h = hub as unknown as Record<'byPair' | 'byScope' | 'bySeries' | 'byRoster', Map<string, unknown>>;
      const keys = [...h.byPair.keys(), ...h.byScope.keys(), ...h.bySeries.keys(), ...h.byRoster.keys()];
      return keys.filter((k) => k.includes(`gone-${tag}`)).length;
    };
    const one = await connect();
    const two = await connect();
    one.send({ type: 'subscribe', window: 'today', scopes: [a!, b!], series: true });
    one.send({ type: 'subscribe', window: 'today', scopes: [c!], roster: true });
    two.send({ type: 'subscribe', window: 'today', scopes: [a!], series: true });
    for (const s of [one, two]) {
      s.send({ type: 'ping', id: 'subscribed' });
      await s.next('pong', (m) => m.id === 'subscribed');
    }
    expect(indexed()).toBeGreaterThanOrEqual(8); // a and b: pair, scope, series (a also for two); c: pair, scope, roster
    one.send({ type: 'unsubscribe', scopes: [b!, c!] });
    one.send({ type: 'ping', id: 'unsubscribed' });
    await one.next('pong', (m) => m.id === 'unsubscribed');
    one.ws.close();
    two.ws.close();
    await waitFor('both sockets gone', async () => (indexed() === 0 ? true : undefined), 5_000);
  });

  it("computes one socket's missing scopes one subscribe at a time: a burst for made-up scopes does not run ClickHouse queries side by side", async () => {
    // an API process whose ClickHouse client counts the queries running at once
    let running = 0;
    let most = 0;
    const counted = new Proxy(ctx.clickhouse, {
      get(target, prop) {
        if (prop === 'query') {
          return async (params: Parameters<typeof target.query>[0]) => {
            // the queries of a computation for the made-up scopes (they are its parameters)
            if (!JSON.stringify(params.query_params ?? {}).includes('made-up')) return target.query(params);
            most = Math.max(most, ++running);
            try {
              return await target.query(params);
            } finally {
              running--;
            }
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const other = await buildApp({ config: ctx.config, log: captured.log, clickhouse: counted, redis, wallboardDir: '/nonexistent' });
    await other.listen({ port: 0, host: '127.0.0.1' });
    try {
      const c = await openSocket(`ws://127.0.0.1:${(other.server.address() as { port: number }).port}/v1/stream`, bearer(viewer));
      await c.next('welcome');
      most = 0;
      // ten subscribes at once, each for a scope no worker has figures for (each computed from ClickHouse)
      for (let i = 0; i < 10; i++) c.send({ type: 'subscribe', window: 'today', scopes: [`queue:made-up-${i}`] });
      for (let i = 0; i < 10; i++) await c.next('snapshot', (m) => m.scope === `queue:made-up-${i}`);
      // one computation at a time (its own three queries run together): before, all ten at once (30)
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(3);
      c.ws.terminate();
    } finally {
      await other.close();
    }
  });

  it('answers a bad message with an error and keeps the socket open', async () => {
    const c = await connect();
    c.send('not json');
    expect(await c.next('error')).toMatchObject({ code: 'bad_json' });
    c.send({ type: 'subscribe', window: 'yesterday', scopes: ['center'] });
    expect((await c.next('error', (m) => m.code === 'bad_message')).message).toMatch(/^\/window/);
    c.send({ type: 'subscribe', window: 'today', scopes: ['queue:'] });
    await c.next('error', (m) => m.code === 'bad_message' || m.code === 'invalid_scope');
    c.send({ type: 'launch' });
    expect((await c.next('error', (m) => m.message.startsWith('/type'))).code).toBe('bad_message');
    c.send({ type: 'ping', id: 'still-here' });
    await c.next('pong', (m) => m.id === 'still-here');
    expect(c.ws.readyState).toBe(1);
    c.ws.close();
  });
});

describe('delivery', () => {
  it('an event posted to the API reaches a subscribed socket (through the KPI worker)', async () => {
    const { log } = capturedLog('warn');
    const worker: KpiWorkerHandle = await startKpiWorker({ config: ctx.config, log, clickhouse: ctx.clickhouse, redisUrl: inject('redisUrl') });
    try {
      const queue = `live-${Date.now().toString(36)}`;
      const c = await connect();
      c.send({ type: 'subscribe', window: 'today', scopes: [`queue:${queue}`] });
      const first = await c.next('snapshot', undefined, 20_000);
      expect(first.values.offered?.value).toBe(0);
      const posted = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: bearer(ACD_KEY),
        payload: sampleEvent('contact.offered', { queue }, 1_000),
      });
      expect(posted.statusCode, posted.body).toBe(202);
      const live = await c.next('snapshot', (m) => m.values.offered?.value === 1, 15_000);
      expect(live.scope).toBe(`queue:${queue}`);
      c.ws.close();
    } finally {
      await worker.close();
    }
  });

  it('two API processes both deliver a publication to their own sockets', async () => {
    const other = await buildApp({ config: ctx.config, log: captured.log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
    try {
      await other.listen({ port: 0, host: '127.0.0.1' });
      const otherUrl = `ws://127.0.0.1:${(other.server.address() as { port: number }).port}/v1/stream`;
      const a = await connect();
      const b = await connect(bearer(viewer), otherUrl);
      for (const c of [a, b]) {
        c.send({ type: 'subscribe', window: '15m', scopes: ['team:two-procs'] });
        await c.next('alerts');
      }
      const s = snap('15m', 'team:two-procs', Date.now(), { waiting: 7 });
      await redis.publish(kpiRedisNames(ctx.config.REDIS_PREFIX).snapshotsChannel, JSON.stringify({ type: 'kpi.snapshots', asOf: s.asOf, snapshots: [s] }));
      for (const c of [a, b]) expect((await c.next('snapshot', (m) => m.values.waiting?.value === 7)).scope).toBe('team:two-procs');
      a.ws.close();
      b.ws.close();
    } finally {
      await other.close();
    }
  });
});

describe('after the Redis subscription drops', () => {
  it('every socket is sent what was published while it was away: figures, and an alert cleared meanwhile', async () => {
    // an API process of its own on a Redis of its own, whose subscriber connection can be cut alone
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-live-gap-'));
    const own = await startEmbeddedRedis({ dataDir: dir });
    const ownRedis = createRedis(own.url, 'commands');
    if (ownRedis.status !== 'ready') await once(ownRedis, 'ready');
    const config = { ...ctx.config, REDIS_URL: own.url };
    const gapApp = await buildApp({ config, log: captured.log, clickhouse: ctx.clickhouse, redis: ownRedis, wallboardDir: '/nonexistent' });
    try {
      await gapApp.listen({ port: 0, host: '127.0.0.1' });
      const gapUrl = `ws://127.0.0.1:${(gapApp.server.address() as { port: number }).port}/v1/stream`;
      const token = (await gapApp.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'tv-viewer', password: VIEWER_PASSWORD } })).json<{ token: string }>().token;
      const names = kpiRedisNames(config.REDIS_PREFIX);
      const an = alertRedisNames(config.REDIS_PREFIX);
      const t = Date.now();
      const previous = new Map<string, string>();
      const alert: Alert = {
        id: 'al_gap', thresholdId: 'thr_gap', kpi: 'asa', scope: 'queue:gap', window: '15m', level: 'critical', peak: 'critical', value: 90,
        threshold: 60, direction: 'above', startedAt: new Date(t).toISOString(), endedAt: null, acknowledgedBy: null, acknowledgedAt: null,
      };
      await storeSnapshots(ownRedis, names, [snap('15m', 'queue:gap', t, { offered: 1 })], previous);
      await ownRedis.hset(an.active, alert.id, JSON.stringify({ alert, at: t }));

      const c = await connect(bearer(token), gapUrl);
      c.send({ type: 'subscribe', window: '15m', scopes: ['queue:gap'] });
      expect((await c.next('snapshot')).values.offered?.value).toBe(1);
      expect((await c.next('alerts')).alerts.map((a) => a.id)).toEqual(['al_gap']);

      // The hub's subscriber connection is cut; before it is back (its first retry waits 100 ms), the figure changes
      // and the alert clears: both publications reach no one.
      await ownRedis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await storeSnapshots(ownRedis, names, [snap('15m', 'queue:gap', t + 1000, { offered: 2 })], previous);
      await ownRedis.hdel(an.active, alert.id);
      await ownRedis.publish(an.channel, JSON.stringify({ type: 'alert', alert: { ...alert, endedAt: new Date(t + 1000).toISOString() } }));

      // Once it is back, the socket gets the figure as it is now and a list of open alerts without the cleared one.
      expect((await c.next('snapshot', (m) => m.values.offered?.value === 2)).asOf).toBe(new Date(t + 1000).toISOString());
      expect((await c.next('alerts', (m) => m.alerts.length === 0)).alerts).toEqual([]);
      expect(captured.lines.some((l) => /the Redis subscription came back/.test(l))).toBe(true);
      c.ws.close();
    } finally {
      await gapApp.close();
      ownRedis.disconnect();
      await own.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('revocation', () => {
  it('a socket of a revoked display token gets `revoked` and is closed', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(admin), payload: { name: 'Lobby', board: 'main' } });
    const { token, display } = created.json<{ token: string; display: { id: string } }>();
    const tv = await connect({}, `${url}?display=${token}`);
    const bystander = await connect();
    expect((await app.inject({ method: 'DELETE', url: `/v1/displays/${display.id}`, headers: bearer(admin) })).statusCode).toBe(200);
    expect((await tv.next('revoked')).reason).toMatch(/display/);
    expect((await tv.closed).code).toBe(4401);
    // Only the revoked credential's socket closes.
    bystander.send({ type: 'ping', id: 'b' });
    await bystander.next('pong');
    expect(bystander.ws.readyState).toBe(1);
    bystander.ws.close();
  });

  it('a socket of a revoked user session (password changed) gets `revoked` and is closed', async () => {
    await app.inject({ method: 'POST', url: '/v1/admin/users', headers: bearer(admin), payload: { username: 'leaver', password: 'leaver-Pa55word-1', role: 'viewer' } });
    const token = (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'leaver', password: 'leaver-Pa55word-1' } })).json<{ token: string }>().token;
    const c = await connect(bearer(token));
    const changed = await app.inject({ method: 'PATCH', url: '/v1/admin/users/leaver', headers: bearer(admin), payload: { password: 'leaver-Pa55word-2' } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await c.next('revoked')).reason).toMatch(/session/);
    expect((await c.closed).code).toBe(4401);
  });

  it('logging out closes the websockets of that session, and only those', async () => {
    const [leaving, staying] = await twoSessions('shift-end', 'shift-Pa55word-1');
    const a = await connect(bearer(leaving));
    const b = await connect(bearer(staying));
    expect((await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(leaving) })).statusCode).toBe(204);
    expect((await a.next('revoked')).reason).toMatch(/session/);
    expect((await a.closed).code).toBe(4401);
    b.send({ type: 'ping', id: 'still-here' });
    await b.next('pong');
    expect(b.ws.readyState).toBe(1);
    b.ws.close();
  });

  it('a socket of a session that expired on its own (no revocation) is closed at the next heartbeat', async () => {
    const [expiring, current] = await twoSessions('gone-home', 'gone-Pa55word-1');
    const a = await connect(bearer(expiring));
    const b = await connect(bearer(current));
    // what Redis does when the session's sliding TTL runs out: the key is gone, and nobody publishes a revocation
    const sessionId = createHash('sha256').update(expiring).digest('hex');
    expect(await redis.del(`${ctx.config.REDIS_PREFIX}:session:${sessionId}`)).toBe(1);
    hub.heartbeat();
    expect((await a.next('revoked')).reason).toBe('the session expired');
    expect((await a.closed).code).toBe(4401);
    b.send({ type: 'ping', id: 'not-expired' });
    await b.next('pong', (m) => m.id === 'not-expired');
    expect(b.ws.readyState).toBe(1);
    b.ws.close();
  });
});

describe('robustness', () => {
  it('drops a consumer that stops reading, without buffering more than the limit for it, and keeps serving the others', async () => {
    const slow = await connect();
    const fast = await connect();
    for (const c of [slow, fast]) {
      c.send({ type: 'subscribe', window: '15m', scopes: ['queue:firehose'] });
      await c.next('alerts');
    }
    const droppedBefore = hub.stats().dropped;
    slow.ws._socket.pause(); // the TV froze: it reads nothing more
    const big = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`k${i}`, { value: i, n: i }]));
    const channel = kpiRedisNames(ctx.config.REDIS_PREFIX).snapshotsChannel;
    const t = Date.now();
    // Up to ~50 MB of updates (25 KB each), far beyond the kernel's socket buffers and the 256 KiB limit; stops
    // once the slow one is dropped.
    let rounds = 0;
    while (rounds < 2000 && hub.stats().dropped === droppedBefore) {
      for (let j = 0; j < 20; j++) {
        rounds++;
        const s = { window: '15m', scope: 'queue:firehose', asOf: new Date(t + rounds).toISOString(), values: { ...big, offered: { value: rounds, n: rounds } } };
        await redis.publish(channel, JSON.stringify({ type: 'kpi.snapshots', asOf: s.asOf, snapshots: [s] }));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await fast.next('snapshot', (m) => m.values.offered?.value === rounds, 20_000);
    expect(fast.messages.filter((m) => m.type === 'snapshot' && m.scope === 'queue:firehose' && 'k0' in m.values)).toHaveLength(rounds); // every one
    const stats = hub.stats();
    expect(stats.dropped).toBe(droppedBefore + 1);
    expect(stats.maxBuffered).toBeLessThanOrEqual(BUFFER_LIMIT);
    expect(captured.lines.some((l) => l.includes('dropped a slow consumer'))).toBe(true);
    slow.ws._socket.resume();
    await slow.closed; // the server cut it off
    expect(fast.ws.readyState).toBe(1);
    fast.ws.close();
  });

  it('a dead socket (no answer to the heartbeat) is cleaned up', async () => {
    const hbApp = await buildApp({ config: { ...ctx.config, STREAM_HEARTBEAT_MS: 1000 }, log: captured.log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
    try {
      await hbApp.listen({ port: 0, host: '127.0.0.1' });
      const hbUrl = `ws://127.0.0.1:${(hbApp.server.address() as { port: number }).port}/v1/stream`;
      const alive = await connect(bearer(viewer), hbUrl);
      const dead = await connect(bearer(viewer), hbUrl);
      expect(hbApp.liveHub.size).toBe(2);
      dead.ws._socket.pause(); // cannot answer pings any more
      const t0 = Date.now();
      while (hbApp.liveHub.size > 1 && Date.now() - t0 < 8_000) await new Promise((r) => setTimeout(r, 100));
      expect(hbApp.liveHub.size).toBe(1); // by the 1-s heartbeat: TCP alone would keep it open far longer
      expect(alive.ws.readyState).toBe(1); // answering sockets stay
      alive.ws.close();
    } finally {
      await hbApp.close();
    }
  });
});
