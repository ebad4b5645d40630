// Thresholds and alerts against the embedded ClickHouse and redis-server, with a controllable clock: the threshold
// API (roles, validation, audit, history), the engine fed by the KPI snapshot channel, alerts on the live stream,
// acknowledgement, the `alerts` history, restarts (with and without Redis' state), and the webhook.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { startAlertEngine, type AlertEngineHandle } from '../../server/alerts/runner.ts';
import { emptyTrack, type Track, type Transition } from '../../server/alerts/engine.ts';
import { alertRedisNames, AlertStore, alertRow } from '../../server/alerts/store.ts';
import type { Threshold } from '../../server/alerts/thresholds.ts';
import { AlertWebhook } from '../../server/alerts/webhook.ts';
import { KPI_KEYS, type KpiKey, type KpiValue } from '../../server/kpi/catalog.ts';
import type { Snapshot } from '../../server/kpi/compute.ts';
import { kpiRedisNames, storeSnapshots } from '../../server/kpi/snapshots.ts';
import type { Alert } from '../../server/live/protocol.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { Lease } from '../../server/redis/lease.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { signInRoles } from '../support/users.ts';
import { openSocket, type LiveTestClient } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-alerts';
/** The engine's clock starts now and runs ahead of the wall clock (acknowledgements use the wall clock). */
const T0 = Math.floor(Date.now() / 1000) * 1000;
const captured = capturedLog('info');

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let url: string;
let engine: AlertEngineHandle;
let clock = T0;
const tokens: Record<'admin' | 'supervisor' | 'viewer', string> = { admin: '', supervisor: '', viewer: '' };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const previous = new Map<string, string>();
/** The figures as the KPI worker would store them: every KPI null (no data) unless given. */
const figures = new Map<string, Snapshot>();
const sockets: LiveTestClient[] = [];

function startEngine(extra: Partial<Parameters<typeof startAlertEngine>[0]> = {}): Promise<AlertEngineHandle> {
  return startAlertEngine({ config: ctx.config, log: captured.log, clickhouse: ctx.clickhouse, redisUrl: inject('redisUrl'), now: () => clock, tickMs: 0, ...extra });
}

/** Publishes new values for some figures, as the KPI worker does. */
async function publish(window: Snapshot['window'], scope: string, v: Partial<Record<KpiKey, number | null>>): Promise<void> {
  const values = Object.fromEntries(KPI_KEYS.map((k) => [k, { value: null, n: 0 }])) as Record<KpiKey, KpiValue>;
  for (const [k, val] of Object.entries(v)) values[k as KpiKey] = { value: val, n: 10 };
  figures.set(`${window}|${scope}`, { window, scope, asOf: new Date(clock).toISOString(), values });
  const published = await storeSnapshots(redis, kpiRedisNames(ctx.config.REDIS_PREFIX), [...figures.values()], previous);
  expect(published).toBeGreaterThan(0);
}

/** Publishes new values for some figures (as the KPI worker does) and waits until the engine has evaluated them. */
async function feed(window: Snapshot['window'], scope: string, v: Partial<Record<KpiKey, number | null>>, e = engine): Promise<void> {
  const before = e.received;
  await publish(window, scope, v);
  const deadline = Date.now() + 5_000;
  while (e.received === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(e.received).toBeGreaterThan(before);
  await e.idle();
}

/** Moves the clock and lets the engine step (what its one-second timer does). */
async function at(seconds: number, e = engine): Promise<void> {
  clock = T0 + seconds * 1000;
  await e.tick();
}

/** The tests' ClickHouse, whose inserts wait while held (a stalled write). */
function holdableClickHouse() {
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let waiting = 0;
  const client = new Proxy(ctx.clickhouse, {
    get(target, prop) {
      if (prop === 'insert') {
        return async (params: Parameters<typeof target.insert>[0]) => {
          if (gate) {
            waiting++;
            await gate.promise;
          }
          return target.insert(params);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    client,
    hold() {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = null;
    },
    /** Inserts that waited (or wait) on a hold. */
    get waiting() {
      return waiting;
    },
  };
}

/** A webhook receiver that answers 200 and keeps each body it is sent. */
async function recordingHook<T = unknown>(): Promise<{ bodies: T[]; url: string; server: Server }> {
  const bodies: T[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as T);
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { bodies, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, server };
}

async function createThreshold(body: Partial<Threshold>, token = tokens.supervisor): Promise<Threshold> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/thresholds',
    headers: bearer(token),
    payload: { window: '15m', direction: 'above', forSeconds: 0, clearBand: 0, enabled: true, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  await engine.reload();
  return res.json<{ threshold: Threshold }>().threshold;
}

const active = async (): Promise<Alert[]> => (await app.inject({ url: '/v1/alerts?active=1', headers: bearer(tokens.viewer) })).json<{ alerts: Alert[] }>().alerts;

async function rowsOf(id: string): Promise<Array<{ transition: string; level: string; acknowledged_by: string; ended: number }>> {
  const rs = await ctx.clickhouse.query({
    query: `SELECT transition, level, acknowledged_by, ended_at IS NOT NULL AS ended FROM alerts WHERE id = {id:String} ORDER BY at, transition = 'cleared'`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ transition: string; level: string; acknowledged_by: string; ended: number }>()).map((r) => ({ ...r, ended: Number(r.ended) }));
}

beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD });
  redis = createRedis(inject('redisUrl'), 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: captured.log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
  Object.assign(tokens, await signInRoles(app, ADMIN_PASSWORD, ['supervisor', 'viewer']));
  engine = await startEngine();
});

afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await engine?.close();
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('threshold API', () => {
  it('viewers read but cannot edit (403); supervisors create, change and delete; every edit is audited and kept in history', async () => {
    const body = { kpi: 'abandon_rate', scope: 'queue:audit', window: '1h', direction: 'above', warning: 5, critical: 10, forSeconds: 120, clearBand: 1, enabled: true };
    expect((await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.viewer), payload: body })).statusCode).toBe(403);
    const created = await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor), payload: body });
    expect(created.statusCode, created.body).toBe(201);
    const { id, updatedAt: v1 } = created.json<{ threshold: Threshold }>().threshold;
    expect((await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor), payload: body })).statusCode).toBe(409); // same kpi, scope, window

    expect((await app.inject({ method: 'PUT', url: `/v1/thresholds/${id}`, headers: bearer(tokens.viewer), payload: { ...body, warning: 6 } })).statusCode).toBe(403);
    expect(created.json<{ threshold: Threshold }>().threshold.minCount).toBe(0); // not given: any sample
    const put = await app.inject({ method: 'PUT', url: `/v1/thresholds/${id}`, headers: bearer(tokens.supervisor), payload: { ...body, warning: 6, minCount: 20 } });
    expect(put.statusCode, put.body).toBe(200);
    const listed = await app.inject({ url: '/v1/thresholds', headers: bearer(tokens.viewer) });
    expect(listed.json<{ thresholds: Threshold[] }>().thresholds.find((t) => t.id === id)).toMatchObject({ warning: 6, minCount: 20, updatedBy: 'supervisor' });
    // History: the version in force at the first write still says 5, from any sample; so does the analysts' view now
    const then = await app.inject({ url: `/v1/thresholds?at=${encodeURIComponent(v1)}`, headers: bearer(tokens.viewer) });
    expect(then.json<{ thresholds: Threshold[] }>().thresholds.find((t) => t.id === id)).toMatchObject({ warning: 5, minCount: 0 });
    const view = await ctx.clickhouse.query({ query: 'SELECT min_count FROM thresholds_current WHERE id = {id:String}', query_params: { id }, format: 'JSONEachRow' });
    expect(await view.json()).toEqual([{ min_count: 20 }]);
    // two supervisors edit it: the one whose version is out of date is refused (412), and the other's change stays
    const v2 = listed.json<{ thresholds: Threshold[] }>().thresholds.find((t) => t.id === id)!.updatedAt;
    const stale = await app.inject({ method: 'PUT', url: `/v1/thresholds/${id}`, headers: { ...bearer(tokens.admin), 'if-match': `"${v1}"` }, payload: { ...body, warning: 7 } });
    expect([stale.statusCode, stale.json<{ error: { code: string } }>().error.code]).toEqual([412, 'threshold_changed']);
    const current = await app.inject({ method: 'PUT', url: `/v1/thresholds/${id}`, headers: { ...bearer(tokens.admin), 'if-match': `"${v2}"` }, payload: { ...body, warning: 6, minCount: 20 } });
    expect(current.statusCode, current.body).toBe(200);
    const negative = await app.inject({ method: 'PUT', url: `/v1/thresholds/${id}`, headers: bearer(tokens.supervisor), payload: { ...body, minCount: -1 } });
    expect([negative.statusCode, negative.json<{ error: { message: string } }>().error.message]).toEqual([400, expect.stringContaining('minCount')]);

    expect((await app.inject({ method: 'DELETE', url: `/v1/thresholds/${id}`, headers: bearer(tokens.viewer) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/v1/thresholds/${id}`, headers: bearer(tokens.supervisor) })).statusCode).toBe(204);
    const after = await app.inject({ url: '/v1/thresholds', headers: bearer(tokens.viewer) });
    expect(after.json<{ thresholds: Threshold[] }>().thresholds.some((t) => t.id === id)).toBe(false);
    expect((await app.inject({ method: 'DELETE', url: `/v1/thresholds/${id}`, headers: bearer(tokens.supervisor) })).statusCode).toBe(404);

    const audit = await app.inject({ url: '/v1/admin/audit?limit=1000', headers: bearer(tokens.admin) });
    const entries = audit.json<{ entries: Array<{ action: string; actor_name: string; object_id: string }> }>().entries;
    const mine = entries.filter((e) => e.object_id === id).map((e) => `${e.action}:${e.actor_name}`).sort();
    expect(mine).toEqual(['threshold.create:supervisor', 'threshold.delete:supervisor', 'threshold.update:admin', 'threshold.update:supervisor']);
  });

  it('validates against the catalog, naming the field', async () => {
    const bad = async (payload: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor), payload: { scope: 'center', window: '15m', direction: 'below', warning: 80, critical: 60, ...payload } });
      expect(res.statusCode).toBe(400);
      return res.json<{ error: { code: string; message: string } }>().error;
    };
    expect((await bad({ kpi: 'mood' })).message).toMatch(/\/kpi unknown KPI/);
    expect((await bad({ kpi: 'service_level', critical: 90 })).message).toMatch(/\/critical must be less than warning/);
    expect((await bad({ kpi: 'service_level', warning: 180, critical: 60 })).message).toMatch(/\/warning must be within the range/);
    expect((await bad({ kpi: 'service_level', window: 'week' })).code).toBe('invalid_request');
    // a JSON body is taken as sent: an emptied field (null) is not a 0, nor a "70" a number, nor a null a false
    expect((await bad({ kpi: 'service_level', critical: null })).message).toMatch(/\/critical must be number/);
    expect((await bad({ kpi: 'service_level', critical: '70' })).message).toMatch(/\/critical must be number/);
    expect((await bad({ kpi: 'service_level', enabled: null })).message).toMatch(/\/enabled must be boolean/);
  });

  it("keeps a live figure's threshold under today, whichever window it was given or stored with", async () => {
    // Waiting has one value, now, in every window: a threshold sent for "15m" must colour the waiting tiles (kept
    // under today) and raise one alert, not a second one beside a "today" threshold.
    const body = { kpi: 'waiting', scope: 'queue:live-window', window: '15m', direction: 'above', warning: 5, critical: 10, forSeconds: 0, clearBand: 0, enabled: true };
    const created = await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor), payload: body });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<{ threshold: Threshold }>().threshold;
    expect(created.json<{ threshold: Threshold }>().threshold.window).toBe('today');
    // the same figure for another window is the same threshold (409), and a windowed KPI keeps its window
    expect((await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor), payload: { ...body, window: '1h' } })).statusCode).toBe(409);
    const windowed = await app.inject({ method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor), payload: { ...body, kpi: 'abandoned' } });
    expect(windowed.json<{ threshold: Threshold }>().threshold.window).toBe('15m');
    // a version written before this rule (window 1h, straight into the table) reads as today too
    await ctx.clickhouse.insert({
      table: 'thresholds',
      format: 'JSONEachRow',
      values: [{ id, version_at: new Date().toISOString().replace('T', ' ').replace('Z', ''), kpi: 'waiting', scope: 'queue:live-window', window: '1h', direction: 'above', warning: 6, critical: 10, for_seconds: 0, clear_band: 0, enabled: true, changed_by: 'older-version' }],
    });
    const listed = (await app.inject({ url: '/v1/thresholds', headers: bearer(tokens.viewer) })).json<{ thresholds: Threshold[] }>().thresholds;
    expect(listed.find((t) => t.id === id)).toMatchObject({ warning: 6, window: 'today' });
  });
});

describe('alert engine', () => {
  it('fires only after forSeconds, goes critical, is acknowledged on every screen, holds inside the band, goes down past it once held as long; all in history', async () => {
    const t = await createThreshold({ kpi: 'asa', scope: 'center', warning: 30, critical: 60, forSeconds: 60, clearBand: 5 });
    const screen = await openSocket(url, bearer(tokens.viewer));
    const other = await openSocket(url, bearer(tokens.viewer));
    sockets.push(screen, other);
    for (const s of [screen, other]) {
      s.send({ type: 'subscribe', window: '15m', scopes: ['center'] });
      await s.next('alerts');
    }
    await at(0);
    await feed('15m', 'center', { asa: 40 });
    await at(59);
    expect(await active()).toEqual([]); // not before forSeconds
    await at(60);
    const fired = await screen.next('alert', (m) => m.alert.thresholdId === t.id);
    expect(fired.alert).toMatchObject({ kpi: 'asa', scope: 'center', window: '15m', level: 'warning', value: 40, threshold: 30, startedAt: new Date(T0 + 60_000).toISOString() });
    const id = fired.alert.id;

    await feed('15m', 'center', { asa: 75 });
    await at(119);
    expect((await active()).map((a) => a.level)).toEqual(['warning']);
    await at(121);
    expect((await screen.next('alert', (m) => m.alert.level === 'critical')).alert.id).toBe(id);

    // Viewers cannot acknowledge; a supervisor can, and every screen shows it.
    expect((await app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(tokens.viewer) })).statusCode).toBe(403);
    const ack = await app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(tokens.supervisor) });
    expect(ack.statusCode, ack.body).toBe(200);
    for (const s of [screen, other]) expect((await s.next('alert', (m) => m.alert.acknowledgedBy === 'supervisor')).alert.id).toBe(id);
    expect((await active())[0]).toMatchObject({ id, level: 'critical', acknowledgedBy: 'supervisor' });
    // A second acknowledgement (another supervisor, a double click) does not take the first one's name
    const second = await app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(tokens.admin) });
    expect([second.statusCode, second.json<{ error: { code: string; message: string } }>().error.code]).toEqual([409, 'alert_acknowledged']);
    expect(second.json<{ error: { message: string } }>().error.message).toMatch(/^supervisor acknowledged this alert already/);
    expect((await active())[0]).toMatchObject({ id, acknowledgedBy: 'supervisor' });
    // A new screen gets the acknowledged alert in its `alerts` on subscribe.
    const late = await openSocket(url, bearer(tokens.viewer));
    sockets.push(late);
    late.send({ type: 'subscribe', window: '1h', scopes: ['center'] });
    expect((await late.next('alerts')).alerts).toEqual([expect.objectContaining({ id, acknowledgedBy: 'supervisor' })]);

    await feed('15m', 'center', { asa: 56 }); // below 60, inside the band
    await at(130);
    await feed('15m', 'center', { asa: 54 }); // past the band: warning's level, to be held forSeconds
    await at(189);
    expect((await active()).map((a) => a.level)).toEqual(['critical']);
    await at(190); // held 60 s: warning
    expect((await screen.next('alert', (m) => m.alert.level === 'warning' && m.alert.id === id && m.alert.peak === 'critical')).alert.value).toBe(54);
    await at(200);
    await feed('15m', 'center', { asa: 26 }); // inside the band
    expect((await active()).map((a) => a.id)).toEqual([id]);
    await at(210);
    await feed('15m', 'center', { asa: 20 }); // past the whole band, to be held forSeconds
    await at(269);
    expect((await active()).map((a) => a.id)).toEqual([id]);
    await at(270);
    const cleared = await screen.next('alert', (m) => m.alert.level === 'ok');
    expect(cleared.alert).toMatchObject({ id, peak: 'critical', endedAt: new Date(T0 + 270_000).toISOString() });
    expect(await active()).toEqual([]);
    expect((await app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(tokens.supervisor) })).statusCode).toBe(409);

    expect(await rowsOf(id)).toEqual([
      { transition: 'fired', level: 'warning', acknowledged_by: '', ended: 0 },
      { transition: 'escalated', level: 'critical', acknowledged_by: '', ended: 0 },
      { transition: 'acknowledged', level: 'critical', acknowledged_by: 'supervisor', ended: 0 },
      { transition: 'deescalated', level: 'warning', acknowledged_by: 'supervisor', ended: 0 },
      { transition: 'cleared', level: 'ok', acknowledged_by: 'supervisor', ended: 1 },
    ]);
    const recent = await app.inject({ url: `/v1/alerts?since=${new Date(T0 - 1000).toISOString()}`, headers: bearer(tokens.viewer) });
    expect(recent.json<{ alerts: Alert[] }>().alerts.find((a) => a.id === id)).toMatchObject({ level: 'ok', peak: 'critical', acknowledgedBy: 'supervisor' });
    const one = await app.inject({ url: `/v1/alerts/${id}`, headers: bearer(tokens.viewer) });
    expect(one.json<{ transitions: Array<{ transition: string }> }>().transitions.map((x) => x.transition)).toEqual(['fired', 'escalated', 'acknowledged', 'deescalated', 'cleared']);
    expect(captured.lines.some((l) => l.includes('alert.ack') || l.includes('alert fired'))).toBe(true);
  });

  it('a null value never fires', async () => {
    await createThreshold({ kpi: 'csat', scope: 'queue:quiet', direction: 'below', warning: 80, critical: 60 });
    await feed('15m', 'queue:quiet', { csat: null });
    await at(200);
    await at(400);
    expect((await active()).filter((a) => a.scope === 'queue:quiet')).toEqual([]);
    await feed('15m', 'queue:quiet', { csat: 50 }); // a real breach does fire (the threshold works)
    expect((await active()).filter((a) => a.scope === 'queue:quiet').map((a) => a.level)).toEqual(['critical']);
  });

  it("ends an alert once the KPI worker drops its scope (an agent signed off yesterday), at the next full read", async () => {
    await createThreshold({ kpi: 'aht', scope: 'agent:*', window: '1h', warning: 420, critical: 600, forSeconds: 0 });
    await feed('1h', 'agent:a17', { aht: 650 });
    expect((await active()).filter((a) => a.scope === 'agent:a17').map((a) => a.level)).toEqual(['critical']);
    // a publication of another scope's change says nothing of a17: it stays
    await feed('1h', 'agent:a2', { aht: 300 });
    expect((await active()).filter((a) => a.scope === 'agent:a17')).toHaveLength(1);
    // the worker drops a17 (nothing of it today any more): gone from the stored figures; the next full read ends it
    figures.delete('1h|agent:a17');
    await storeSnapshots(redis, kpiRedisNames(ctx.config.REDIS_PREFIX), [...figures.values()], previous);
    await engine.reload();
    await engine.idle();
    expect((await active()).filter((a) => a.scope === 'agent:a17')).toEqual([]);
  });

  it('the most specific threshold applies: the queue override, else the center', async () => {
    const center = await createThreshold({ kpi: 'aht', scope: 'center', window: '1h', warning: 300, critical: 600 });
    const vip = await createThreshold({ kpi: 'aht', scope: 'queue:vip', window: '1h', warning: 100, critical: 200 });
    await feed('1h', 'queue:vip', { aht: 150 });
    await feed('1h', 'queue:standard', { aht: 150 });
    await at(401);
    const mine = (await active()).filter((a) => a.kpi === 'aht');
    expect(mine.map((a) => [a.scope, a.thresholdId, a.level])).toEqual([['queue:vip', vip.id, 'warning']]);
    await feed('1h', 'queue:standard', { aht: 650 });
    const both = (await active()).filter((a) => a.kpi === 'aht').map((a) => [a.scope, a.thresholdId, a.level]).sort();
    expect(both).toEqual([['queue:standard', center.id, 'critical'], ['queue:vip', vip.id, 'warning']]);
  });

  it('a restarted engine keeps the open alert (no re-fire), also when Redis lost its state, and clears the same alert later', async () => {
    await createThreshold({ window: 'today', kpi: 'longest_wait', scope: 'team:night', warning: 60, critical: 120, forSeconds: 30 });
    await at(500);
    await feed('today', 'team:night', { longest_wait: 90 });
    await at(531);
    const [open] = (await active()).filter((a) => a.scope === 'team:night');
    expect(open).toMatchObject({ level: 'warning' });

    await engine.close();
    engine = await startEngine();
    await at(540);
    await feed('today', 'team:night', { longest_wait: 95 });
    await at(600);
    expect((await active()).filter((a) => a.scope === 'team:night').map((a) => a.id)).toEqual([open!.id]);

    // A supervisor acknowledges it; then Redis forgets everything of the alerts (a restart without persistence): the
    // open alert comes back from ClickHouse, to the engine and to the screens' list, still acknowledged.
    const ack = await app.inject({ method: 'POST', url: `/v1/alerts/${open!.id}/ack`, headers: bearer(tokens.supervisor) });
    expect(ack.statusCode, ack.body).toBe(200);
    await engine.close();
    const names = alertRedisNames(ctx.config.REDIS_PREFIX);
    await redis.del(names.tracks, names.active, names.acks);
    expect(await active()).toEqual([]);
    engine = await startEngine();
    await at(610);
    await feed('today', 'team:night', { longest_wait: 96 });
    expect((await active()).filter((a) => a.scope === 'team:night').map((a) => [a.id, a.acknowledgedBy])).toEqual([[open!.id, 'supervisor']]);
    expect(captured.lines.some((l) => l.includes('open alerts restored from ClickHouse'))).toBe(true);
    // acknowledged already (as its history says), not "cleared": it is open
    const again = await app.inject({ method: 'POST', url: `/v1/alerts/${open!.id}/ack`, headers: bearer(tokens.supervisor) });
    expect([again.statusCode, again.json<{ error: { code: string } }>().error.code]).toEqual([409, 'alert_acknowledged']);
    await feed('today', 'team:night', { longest_wait: 10 }); // past the band, to be held its 30 s
    expect((await active()).filter((a) => a.scope === 'team:night')).toHaveLength(1);
    await at(640);
    expect((await active()).filter((a) => a.scope === 'team:night')).toEqual([]);
    expect((await rowsOf(open!.id)).map((r) => r.transition)).toEqual(['fired', 'acknowledged', 'cleared']);
  });

  it('after an outage a pending breach starts again: the time no engine looked is not counted as held', async () => {
    await createThreshold({ kpi: 'asa', scope: 'queue:outage', warning: 30, critical: 600, forSeconds: 120 });
    await at(2_000);
    await feed('15m', 'queue:outage', { asa: 45 }); // pending from 2,000 s
    await at(2_060);
    // every engine stops for 20 minutes (a crash), with the breach 60 s old; the figure is as it was
    await engine.close();
    clock = T0 + 3_260_000;
    engine = await startEngine();
    // 1,260 s since the breach began, but only now looked at again: not fired (before: fired at once, on a pre-crash figure)
    await at(3_261);
    expect((await active()).filter((a) => a.scope === 'queue:outage')).toEqual([]);
    expect(captured.lines.some((l) => l.includes('pending breaches start again'))).toBe(true);
    // held 120 s from that look: fired
    await at(3_381);
    expect((await active()).filter((a) => a.scope === 'queue:outage').map((a) => a.level)).toEqual(['warning']);
  });

  it('an acknowledgement racing the end of its alert never re-opens it, in the history or on the screens', async () => {
    const store = new AlertStore(ctx.clickhouse, redis, `${ctx.config.REDIS_PREFIX}_race`);
    const lease = new Lease(redis, store.names.leader, 60_000); // as the engine of that prefix
    expect(await lease.hold()).toBe('taken');
    const t = Date.parse('2026-11-25T06:00:00Z');
    const alert: Alert = {
      id: 'al_race', thresholdId: 'thr_race', kpi: 'waiting', scope: 'queue:race', window: 'today', level: 'critical', peak: 'critical', value: 25,
      threshold: 20, direction: 'above', startedAt: new Date(t).toISOString(), endedAt: null, acknowledgedBy: null, acknowledgedAt: null,
    };
    const track: Track = { ...emptyTrack('thr_race', 'queue:race'), alert, alertAt: t };
    await store.commit(lease, [track], [], [{ kind: 'fired', at: t, alert }]);
    const screen = createRedis(inject('redisUrl'), 'subscriber');
    const heard: string[] = [];
    await screen.subscribe(store.names.channel);
    screen.on('message', (_c: string, m: string) => heard.push((JSON.parse(m) as { alert: Alert }).alert.level));
    try {
      // The engine's end of it, first half: the cleared row in ClickHouse (the alert still listed open in Redis)…
      const cleared: Alert = { ...alert, level: 'ok', endedAt: new Date(t + 5_000).toISOString() };
      const ended: Transition = { kind: 'cleared', at: t + 5_000, alert: cleared };
      await ctx.clickhouse.insert({ table: 'alerts', format: 'JSONEachRow', values: [alertRow(cleared, 'cleared', t + 5_000)] });
      // …a supervisor acknowledges it meanwhile (still listed: accepted, its row written after the cleared one)…
      expect(await store.acknowledge('al_race', 'sup', t + 10_000)).toMatchObject({ acknowledgedBy: 'sup' });
      // …then the second half: removed from Redis, the end published. A late acknowledgement is refused, unpublished.
      await redisEnd(store, ended);
      expect(await store.acknowledge('al_race', 'sup2', t + 20_000)).toBe('gone');
      // An acknowledgement whose row is being written while the end is published is not published after the end.
      const again: Alert = { ...alert, id: 'al_race2' };
      await store.commit(lease, [{ ...track, alert: again }], [], [{ kind: 'fired', at: t, alert: again }]);
      const held = holdableClickHouse();
      held.hold();
      const slow = new AlertStore(held.client, redis, `${ctx.config.REDIS_PREFIX}_race`);
      const acking = slow.acknowledge('al_race2', 'sup', t + 10_000);
      await new Promise((r) => setTimeout(r, 100)); // its acknowledgement is set in Redis; its row waits
      await redisEnd(store, { kind: 'cleared', at: t + 6_000, alert: { ...again, level: 'ok', endedAt: new Date(t + 6_000).toISOString() } });
      held.release();
      await acking;
      await new Promise((r) => setTimeout(r, 200));
      expect(heard.at(-1)).toBe('ok'); // the end was the last word, not the acknowledgement
      // the history says ended, at the cleared row's level and time, acknowledged by sup
      const rs = await ctx.clickhouse.query({ query: "SELECT level, ended_at, acknowledged_by FROM alerts_current WHERE id = 'al_race'", format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ level: 'ok', ended_at: '2026-11-25T06:00:05.000Z', acknowledged_by: 'sup' }]);
      expect((await store.openAlertsFromHistory()).some((o) => o.alert.id === 'al_race')).toBe(false);
    } finally {
      screen.disconnect();
    }
  });

  it('a second engine stands by without keeping the figures it is sent (a process running for weeks), and has them all once it leads', async () => {
    const standby = await startEngine();
    try {
      await standby.tick();
      expect([engine.leader, standby.leader]).toEqual([true, false]);
      const held = engine.figures;
      for (const scope of ['agent:sb-1', 'agent:sb-2', 'agent:sb-3']) await feed('today', scope, { offered: 1 }, standby);
      expect(standby.figures).toBe(0);
      await expect.poll(() => engine.figures - held).toBe(3); // three new scopes, kept by the leader
      // the leader goes: the standby takes the lease at its next step, and reads every figure stored
      await engine.close();
      await standby.tick();
      expect(standby.leader).toBe(true);
      expect(standby.figures).toBeGreaterThanOrEqual(3);
    } finally {
      engine = standby; // the next tests use the one still running (afterAll closes it)
    }
  });

  it('an engine that paused past its lease cannot write over the one that took over; its half-written alert ends in the history', async () => {
    await createThreshold({ kpi: 'waiting', scope: 'queue:fence', window: 'today', warning: 5, critical: 10 });
    const held = holdableClickHouse();
    const stale = await startEngine({ clickhouse: held.client });
    let fresh: AlertEngineHandle | undefined;
    const screen = createRedis(inject('redisUrl'), 'subscriber');
    const heard: string[] = [];
    await screen.subscribe(alertRedisNames(ctx.config.REDIS_PREFIX).channel);
    screen.on('message', (_c: string, m: string) => {
      const { alert } = JSON.parse(m) as { alert?: Alert };
      if (alert?.scope === 'queue:fence') heard.push(alert.id);
    });
    try {
      await engine.close();
      await at(4_000, stale);
      expect(stale.leader).toBe(true);
      // The leader fires; its history row is stalled (a slow insert, a long pause) past its lease…
      held.hold();
      const before = stale.received;
      await publish('today', 'queue:fence', { waiting: 12 });
      await expect.poll(() => held.waiting).toBe(1);
      expect(stale.received).toBe(before);
      // …the lease runs out (deleted: what expiry does) and another engine takes over, firing the same breach
      await redis.del(alertRedisNames(ctx.config.REDIS_PREFIX).leader);
      fresh = await startEngine();
      expect(fresh.leader).toBe(true);
      const [current] = (await active()).filter((a) => a.scope === 'queue:fence');
      expect(current).toMatchObject({ level: 'critical' });
      // The stale one's write lands in ClickHouse; its Redis part is refused, and it stands by
      held.release();
      await stale.idle();
      expect(stale.leader).toBe(false);
      expect(stale.figures).toBe(0);
      expect((await active()).filter((a) => a.scope === 'queue:fence').map((a) => a.id)).toEqual([current!.id]);
      const tracks = await redis.hgetall(alertRedisNames(ctx.config.REDIS_PREFIX).tracks);
      const fenced = Object.values(tracks).map((t) => JSON.parse(t) as Track).filter((t) => t.scope === 'queue:fence');
      expect(fenced.map((t) => t.alert?.id)).toEqual([current!.id]);
      await new Promise((r) => setTimeout(r, 200));
      expect(heard).toEqual([current!.id]); // the screens never heard of the other
      // Its alert is in the history, open, though no screen showed it: a minute on, the next full read ends it there
      const query = "SELECT id FROM alerts_current WHERE scope = 'queue:fence' AND ended_at IS NULL AND id != {id:String}";
      const orphans = await (await ctx.clickhouse.query({ query, query_params: { id: current!.id }, format: 'JSONEachRow' })).json<{ id: string }>();
      expect(orphans).toHaveLength(1);
      const orphanId = orphans[0]!.id;
      clock += 30_000;
      await fresh.reload();
      expect((await rowsOf(orphanId)).map((r) => [r.transition, r.ended])).toEqual([['fired', 0]]); // 30 s: may be a lagging history
      clock += 31_000;
      await fresh.reload();
      expect((await rowsOf(orphanId)).map((r) => [r.transition, r.ended])).toEqual([['fired', 0], ['cleared', 1]]);
      expect(captured.lines.some((l) => l.includes('commit had failed half-way'))).toBe(true);
      // the one shown is untouched, and the screens heard nothing more
      expect((await active()).filter((a) => a.scope === 'queue:fence').map((a) => a.id)).toEqual([current!.id]);
      expect(heard).toEqual([current!.id]);
    } finally {
      held.release();
      screen.disconnect();
      await stale.close();
      if (fresh) engine = fresh; // the next tests use the one still running (afterAll closes it)
    }
  });

  it('a leader that finds its lease gone (Redis lost its data) reads its state again at once: its open alert is listed again', async () => {
    await createThreshold({ kpi: 'asa', scope: 'queue:forgot', warning: 30, critical: 600 });
    await at(4_100);
    await feed('15m', 'queue:forgot', { asa: 45 });
    const [open] = (await active()).filter((a) => a.scope === 'queue:forgot');
    expect(open).toMatchObject({ level: 'warning' });
    const names = alertRedisNames(ctx.config.REDIS_PREFIX);
    await redis.del(names.leader, names.tracks, names.active, names.acks);
    await at(4_101);
    expect(engine.leader).toBe(true);
    expect((await active()).filter((a) => a.scope === 'queue:forgot').map((a) => a.id)).toEqual([open!.id]);
  });
});

describe('webhook', () => {
  let server: Server;
  afterAll(() => server?.close());

  it('POSTs each transition as JSON, retrying a failed delivery with backoff, without blocking evaluation', async () => {
    const received: Array<{ status: number; body: { transition: string; alert: Alert } }> = [];
    let calls = 0;
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const status = ++calls === 1 ? 503 : 200;
        received.push({ status, body: JSON.parse(body) });
        res.writeHead(status).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const hookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    const webhook = new AlertWebhook({ url: hookUrl, log: captured.log, baseDelayMs: 50 });
    await engine.close();
    engine = await startEngine({ webhook });
    await createThreshold({ window: 'today', kpi: 'waiting', scope: 'queue:hooked', warning: 5, critical: 10 });
    await at(700);
    await feed('today', 'queue:hooked', { waiting: 7 });
    expect((await active()).some((a) => a.scope === 'queue:hooked')).toBe(true); // evaluation did not wait for the hook
    await webhook.idle();
    expect(received.map((r) => [r.status, r.body.transition, r.body.alert.scope])).toEqual([
      [503, 'fired', 'queue:hooked'],
      [200, 'fired', 'queue:hooked'],
    ]);
    expect(webhook.delivered).toBe(1);
    expect(captured.lines.some((l) => l.includes('alert webhook: delivery failed, retrying'))).toBe(true);
    // an acknowledgement (made in the API, not by the engine) is told too, with who and when
    const [hooked] = (await active()).filter((a) => a.scope === 'queue:hooked');
    expect((await app.inject({ method: 'POST', url: `/v1/alerts/${hooked!.id}/ack`, headers: bearer(tokens.supervisor) })).statusCode).toBe(200);
    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(3);
    await webhook.idle();
    const acked = received[2]!.body as { transition: string; at: string; alert: Alert };
    expect([acked.transition, acked.alert.id, acked.alert.acknowledgedBy, acked.at]).toEqual(['acknowledged', hooked!.id, 'supervisor', acked.alert.acknowledgedAt]);
  });

  it('tells the webhook once when a source goes quiet and once when it sends again, also across a new leader', async () => {
    const { bodies, url: hookUrl, server: hook } = await recordingHook();
    const lastStored = `${ctx.config.REDIS_PREFIX}:ingest:last-stored`;
    const minute = 60_000;
    try {
      let webhook = new AlertWebhook({ url: hookUrl, log: captured.log, baseDelayMs: 50 });
      await engine.close();
      engine = await startEngine({ webhook });
      await at(800);
      // quiet after 15 minutes (SOURCE_QUIET_MINUTES' default): the ACD last sent 16 minutes ago, the CRM 5; the IVR
      // 25 hours ago, past the day's look-back (a source not in use says nothing)
      await redis.hset(lastStored, 'acd', String(clock - 16 * minute), 'crm', String(clock - 5 * minute), 'ivr', String(clock - 25 * 60 * minute));
      await at(810);
      await webhook.idle();
      const acdSince = new Date(T0 + 810_000 - 10_000 - 16 * minute).toISOString(); // set at 800 s: 16 min before it
      // told at 810 s, the look that found it
      expect(bodies).toEqual([{ type: 'source', transition: 'quiet', at: new Date(T0 + 810_000).toISOString(), source: 'acd', lastEventAt: acdSince, quietAfterMinutes: 15 }]);
      expect(captured.lines.some((l) => l.includes('a source has gone quiet'))).toBe(true);
      // later looks, and a new leader (the first one gone), tell nothing more
      await at(830);
      await engine.close();
      webhook = new AlertWebhook({ url: hookUrl, log: captured.log, baseDelayMs: 50 });
      engine = await startEngine({ webhook });
      await at(860);
      await webhook.idle();
      expect(bodies).toHaveLength(1);
      // the ACD sends again: told once, with its new latest event; the CRM goes quiet 11 minutes on (5 + 11 = 16 ≥ 15)
      await redis.hset(lastStored, 'acd', String(clock - 1000));
      await at(860 + 11 * 60);
      await webhook.idle();
      expect(bodies.slice(1)).toEqual([
        { type: 'source', transition: 'quiet', at: new Date(T0 + 1_520_000).toISOString(), source: 'crm', lastEventAt: new Date(T0 + 810_000 - 10_000 - 5 * minute).toISOString(), quietAfterMinutes: 15 },
        { type: 'source', transition: 'resumed', at: new Date(T0 + 1_520_000).toISOString(), source: 'acd', lastEventAt: new Date(T0 + 860_000 - 1000).toISOString(), quietAfterMinutes: 15 },
      ]);
      await at(860 + 11 * 60 + 10);
      await webhook.idle();
      expect(bodies).toHaveLength(3);
    } finally {
      await redis.del(lastStored, `${ctx.config.REDIS_PREFIX}:alerts:quiet-sources`);
      hook.close();
    }
  });
});

describe('opening hours (CENTER_HOURS)', () => {
  it('clears open alerts at closing, raises none while closed, and evaluates again from the opening; a quiet source waits for the opening too', async () => {
    const minute = 60_000;
    // Open for the half hour before `closeAt`, closed for 5 minutes, open again from `reopenAt` for half an hour (on
    // the UTC clock), all within one day: when that would cross midnight (the test runs late in the UTC day), the test
    // moves to 01:00 of the next day instead.
    const day = 1440 * minute;
    let closeAt = Math.ceil((T0 + 2_000_000) / minute) * minute;
    if (Math.floor((closeAt - 30 * minute) / day) !== Math.floor((closeAt + 35 * minute) / day)) closeAt = Math.floor(closeAt / day) * day + day + 60 * minute;
    const reopenAt = closeAt + 5 * minute;
    const period = (start: number, end: number) => {
      const d = new Date(start);
      const from = d.getUTCHours() * 60 + d.getUTCMinutes();
      return { day: (d.getUTCDay() + 6) % 7, from, to: from + (end - start) / minute };
    };
    const centerHours = [period(closeAt - 30 * minute, closeAt), period(reopenAt, reopenAt + 30 * minute)];
    const { bodies, url: hookUrl, server: hook } = await recordingHook<{ type: string; transition: string; source?: string }>();
    const webhook = new AlertWebhook({ url: hookUrl, log: captured.log, baseDelayMs: 50 });
    const lastStored = `${ctx.config.REDIS_PREFIX}:ingest:last-stored`;
    await engine.close();
    engine = await startEngine({ config: { ...ctx.config, CENTER_TZ: 'UTC', centerHours: { periods: centerHours, closedDates: new Set() } }, webhook });
    const set = async (t: number) => {
      clock = t;
      await engine.tick();
    };
    const mine = async () => (await active()).filter((a) => a.scope === 'queue:hours');
    try {
      await set(closeAt - 10 * minute);
      await createThreshold({ kpi: 'asa', scope: 'queue:hours', warning: 30, critical: 60 });
      await feed('15m', 'queue:hours', { asa: 40 });
      const [open] = await mine();
      expect(open).toMatchObject({ level: 'warning' });

      // closing: the alert clears at once, and a worse figure raises nothing while closed
      await set(closeAt);
      expect(await mine()).toEqual([]);
      expect((await rowsOf(open!.id)).map((r) => r.transition)).toEqual(['fired', 'cleared']);
      await feed('15m', 'queue:hours', { asa: 70 });
      await set(closeAt + 2 * minute);
      expect(await mine()).toEqual([]);
      // the CRM's last event was 20 minutes before closing: quiet by its 15 minutes, but not while closed
      await redis.hset(lastStored, 'crm', String(closeAt - 20 * minute));
      await set(closeAt + 3 * minute);
      await set(reopenAt - 1);
      await webhook.idle();
      expect(bodies.filter((b) => b.type === 'source')).toEqual([]);

      // opening: the breach fires again (70: critical); the CRM's quiet time counts from the opening
      await set(reopenAt);
      expect((await mine()).map((a) => [a.level, a.id === open!.id])).toEqual([['critical', false]]);
      await set(reopenAt + 14 * minute);
      await webhook.idle();
      expect(bodies.filter((b) => b.type === 'source')).toEqual([]);
      await set(reopenAt + 15 * minute + 5_000); // past the leader's 5 s look
      await webhook.idle();
      expect(bodies.filter((b) => b.type === 'source')).toEqual([expect.objectContaining({ transition: 'quiet', source: 'crm', lastEventAt: new Date(closeAt - 20 * minute).toISOString() })]);
    } finally {
      await redis.del(lastStored, `${ctx.config.REDIS_PREFIX}:alerts:quiet-sources`);
      hook.close();
    }
  });
});

/** The Redis half of the engine's commit of an alert's end (AlertStore.commit does both halves; this one alone). */
async function redisEnd(store: AlertStore, ended: Transition): Promise<void> {
  await redis
    .multi()
    .hdel(store.names.tracks, `${ended.alert.thresholdId}|${ended.alert.scope}`)
    .hdel(store.names.active, ended.alert.id)
    .hdel(store.names.acks, ended.alert.id)
    .publish(store.names.channel, JSON.stringify({ type: 'alert', alert: ended.alert }))
    .exec();
}
