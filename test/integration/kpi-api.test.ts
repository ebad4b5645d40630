// The KPI API over buildApp: guarded for readers, serves the worker's snapshots and series from Redis (computing a
// requested scope it has no snapshot for), validates windows and scopes, and serves the catalog.
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { KPI_KEYS } from '../../server/kpi/catalog.ts';
import { computeSeries, computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import { setQueueSettings } from '../../server/kpi/settings.ts';
import { newSeriesWriterState, storeSeries } from '../../server/kpi/series-store.ts';
import { kpiRedisNames, storeSnapshots } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { insertEvents, LATE_EVENTS, MAIN_EVENTS, NOW, SUPPORT_SETTINGS, TZ } from './kpi-scenario.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-kpi-api';
const VIEWER_PASSWORD = 'viewer-Pa55word-kpi-api';

describe('KPI API', () => {
  let ctx: TestContext;
  let redis: Redis;
  let app: FastifyInstance;
  let auth: { authorization: string };

  beforeAll(async () => {
    ctx = await createTestContext({ CENTER_TZ: TZ, ADMIN_PASSWORD });
    await setQueueSettings(ctx.clickhouse, 'support', SUPPORT_SETTINGS);
    await insertEvents(ctx.clickhouse, [...MAIN_EVENTS, ...LATE_EVENTS]);
    await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
    redis = createRedis(inject('redisUrl'), 'commands');
    if (redis.status !== 'ready') await once(redis, 'ready');
    // What the worker would have stored at NOW.
    const names = kpiRedisNames(ctx.config.REDIS_PREFIX);
    await storeSnapshots(redis, names, await computeSnapshots(ctx.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24 }), new Map());
    await storeSeries(redis, names, await computeSeries(ctx.clickhouse, { now: NOW, tz: TZ }), newSeriesWriterState());

    app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
    const admin = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(admin.statusCode, admin.body).toBe(200);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/admin/users',
      headers: { authorization: `Bearer ${admin.json<{ token: string }>().token}` },
      payload: { username: 'wallboard-viewer', password: VIEWER_PASSWORD, role: 'viewer' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const viewer = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'wallboard-viewer', password: VIEWER_PASSWORD } });
    auth = { authorization: `Bearer ${viewer.json<{ token: string }>().token}` };
  });
  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    await ctx?.cleanup();
  });

  it('refuses a request without credentials', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis' });
    expect(res.statusCode).toBe(401);
  });

  it('returns the snapshots of the asked scopes, in the asked order, for the asked window', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis?window=1h&scope=queue:billing&scope=center', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ window: string; snapshots: Snapshot[] }>();
    expect(body.window).toBe('1h');
    expect(body.snapshots.map((s) => s.scope)).toEqual(['queue:billing', 'center']);
    // kpi-golden.test.ts: 1h offered billing 6, center 11; center SL 3 of 7
    expect(body.snapshots[0]!.values.offered).toEqual({ value: 6, n: 6 });
    expect(body.snapshots[1]!.values.offered).toEqual({ value: 11, n: 11 });
    expect(body.snapshots[1]!.values.service_level.n).toBe(7);
    expect(body.snapshots[1]!.asOf).toBe('2025-03-10T09:37:30.000Z');
  });

  it('defaults to today and every active scope', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis', headers: auth });
    const body = res.json<{ window: string; snapshots: Snapshot[] }>();
    expect(body.window).toBe('today');
    expect(body.snapshots).toHaveLength(19);
    expect(body.snapshots[0]!.scope).toBe('center');
    expect(body.snapshots[0]!.values.offered.value).toBe(14);
  });

  it('lists the scopes with figures today, names only, center first', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis/scopes', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const { scopes } = res.json<{ scopes: string[] }>();
    // the same 19 active scopes as GET /v1/kpis, in its order
    const all = (await app.inject({ method: 'GET', url: '/v1/kpis', headers: auth })).json<{ snapshots: Snapshot[] }>().snapshots;
    expect(scopes).toEqual(all.map((s) => s.scope));
    expect(scopes).toHaveLength(19);
    expect(scopes[0]).toBe('center');
    expect(scopes).toContain('queue:billing');
    expect((await app.inject({ method: 'GET', url: '/v1/kpis/scopes' })).statusCode).toBe(401);
    // before any worker stored figures (another Redis prefix: nothing there), computed: still the scopes GET /v1/kpis
    // answers with (both computed at the real clock here, where the scenario's day is long past: the live scopes)
    const fresh = await buildApp({ config: { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_fresh` }, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
    try {
      const headers = { authorization: `Bearer ${(await fresh.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } })).json<{ token: string }>().token}` };
      const computed = (await fresh.inject({ method: 'GET', url: '/v1/kpis/scopes', headers })).json<{ scopes: string[] }>().scopes;
      const snapshots = (await fresh.inject({ method: 'GET', url: '/v1/kpis', headers })).json<{ snapshots: Snapshot[] }>().snapshots;
      expect(computed.length).toBeGreaterThan(0);
      expect(new Set(computed)).toEqual(new Set(snapshots.map((s) => s.scope)));
    } finally {
      await fresh.close();
    }
  });

  it('computes a scope the worker has no snapshot for: zeros and nulls, not a gap', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis?scope=team:nobody&scope=center', headers: auth });
    const snaps = res.json<{ snapshots: Snapshot[] }>().snapshots;
    expect(snaps.map((s) => s.scope)).toEqual(['team:nobody', 'center']);
    expect(snaps[0]!.values.offered).toEqual({ value: 0, n: 0 });
    expect(snaps[0]!.values.service_level).toEqual({ value: null, n: 0 });
  });

  it('rejects an unknown window, a malformed scope or an unknown parameter with 400 naming the problem', async () => {
    const w = await app.inject({ method: 'GET', url: '/v1/kpis?window=2h', headers: auth });
    expect(w.statusCode).toBe(400);
    const s = await app.inject({ method: 'GET', url: '/v1/kpis?scope=region:emea', headers: auth });
    expect(s.statusCode).toBe(400);
    expect(s.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'invalid_scope' });
    expect(s.json<{ error: { message: string } }>().error.message).toContain('region:emea');
    // a typo is refused, not ignored: `scopes` would otherwise answer every scope as if none were asked for
    for (const url of ['/v1/kpis?scopes=queue:billing', '/v1/kpis/series?scopes=center']) {
      const typo = await app.inject({ method: 'GET', url, headers: auth });
      expect(typo.statusCode, url).toBe(400);
      expect(typo.body, url).toContain('scopes');
    }
  });

  it('serves today\'s 15-minute series', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis/series?scope=queue:support', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const [series] = res.json<{ series: Array<{ scope: string; points: Array<{ values: Record<string, { value: number | null }> }> }> }>().series;
    expect(series!.scope).toBe('queue:support');
    expect(series!.points.reduce((a, p) => a + (p.values.offered?.value ?? 0), 0)).toBe(6);
  });

  it('serves the catalog the wallboard formats with', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/kpis/catalog', headers: auth });
    const body = res.json<{ kpis: Array<{ key: string; unit: string; direction: string }>; windows: string[]; timeZone: string }>();
    expect(body.kpis.map((k) => k.key)).toEqual([...KPI_KEYS]);
    expect(body.kpis.find((k) => k.key === 'asa')).toMatchObject({ unit: 'seconds', direction: 'lower' });
    expect(body.windows).toEqual(['today', '1h', '15m']);
    expect(body.timeZone).toBe(TZ);
  });

  it('per-queue settings: people see them, supervisors change them (audited), and the figures follow', async () => {
    const listed = await app.inject({ method: 'GET', url: '/v1/kpis/settings', headers: auth });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ settings: Array<{ queue: string }> }>().settings).toContainEqual(expect.objectContaining({ queue: 'support', ...SUPPORT_SETTINGS }));

    const body = { slThresholdS: 3600, slTargetPct: 90, shortAbandonS: 0 };
    expect((await app.inject({ method: 'PUT', url: '/v1/kpis/settings/billing', headers: auth, payload: body })).statusCode).toBe(403);
    const admin = (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } })).json<{ token: string }>();
    const asAdmin = { authorization: `Bearer ${admin.token}` };
    expect((await app.inject({ method: 'PUT', url: '/v1/kpis/settings/billing', headers: asAdmin, payload: { ...body, slTargetPct: 100 } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'PUT', url: '/v1/kpis/settings/*', headers: asAdmin, payload: body })).statusCode).toBe(400);
    const put = await app.inject({ method: 'PUT', url: '/v1/kpis/settings/billing', headers: asAdmin, payload: body });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json<{ settings: unknown }>().settings).toMatchObject({ queue: 'billing', ...body });

    // T = 1 h puts every answer of the scenario in service, and a 0 s short-abandon threshold counts every abandon:
    // service level = answered ÷ (answered + abandoned), exactly.
    const [billing] = (await computeSnapshots(ctx.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24, scopes: ['queue:billing'] })).filter((x) => x.window === 'today');
    const v = billing!.values;
    expect(v.short_abandoned.value).toBe(0);
    expect(v.service_level.value).toBeCloseTo((100 * v.answered.value!) / (v.answered.value! + v.abandoned.value!), 9);

    const audit = await ctx.clickhouse.query({ query: "SELECT object_id FROM audit_log WHERE action = 'kpi_settings.put'", format: 'JSONEachRow' });
    expect(await audit.json()).toEqual([{ object_id: 'billing' }]);
  });
});
