// The day report (GET /v1/kpis/report) over buildApp, on the hand-built scenario of kpi-scenario.ts: a past local day
// by 15-minute interval with the golden figures worked out by hand, the same numbers as the analysts' views, today up
// to its open interval, `queue:*`, the CSV, the refusals (each naming its field) and who may read it.
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { KPI_CATALOG, type KpiKey, type KpiValue } from '../../server/kpi/catalog.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import type { DayReport } from '../../server/kpi/report.ts';
import { setQueueSettings } from '../../server/kpi/settings.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { signInRoles } from '../support/users.ts';
import { insertEvents, LATE_EVENTS, MAIN_EVENTS, NOW, SUPPORT_SETTINGS, TZ, type ScenarioEvent } from './kpi-scenario.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-report';
const DAY_MS = 86_400_000;
const WINDOWED = KPI_CATALOG.filter((d) => d.kind === 'windowed').map((d) => d.key);
/** A queue whose name a CSV must quote. */
const ODD_QUEUE = 'back office, "north"';

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
/** The app's clock: the scenario's "now" plus a day, so 2025-03-10 (Istanbul) is yesterday and over. */
let clock = NOW + DAY_MS;
const tokens: Record<string, string> = {};
const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

async function report(query: string, who = 'viewer'): Promise<DayReport> {
  const r = await app.inject({ method: 'GET', url: `/v1/kpis/report?${query}`, headers: auth(who) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<DayReport>();
}
const scopeOf = (r: DayReport, scope: string) => r.scopes.find((s) => s.scope === scope)!;
const at = (r: DayReport, scope: string, startUtc: string) => scopeOf(r, scope).intervals.find((p) => p.start === startUtc)!.values;
const v = (value: number | null, n: number): KpiValue => ({ value, n });
const c = (n: number): KpiValue => ({ value: n, n });

beforeAll(async () => {
  ctx = await createTestContext({ CENTER_TZ: TZ, ADMIN_PASSWORD });
  await setQueueSettings(ctx.clickhouse, 'support', SUPPORT_SETTINGS);
  const odd: ScenarioEvent = { ...MAIN_EVENTS.find((e) => e.id === 'e13')!, id: 'odd1', contact_id: 'O1', customer_id: 'cu-odd', queue: ODD_QUEUE, occurred_at: '2025-03-10 05:00:00.000', received_at: '2025-03-10 05:00:00.000' };
  await insertEvents(ctx.clickhouse, [...MAIN_EVENTS, odd]);
  await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
  await insertEvents(ctx.clickhouse, LATE_EVENTS);
  await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent', now: () => clock });
  Object.assign(tokens, await signInRoles(app, ADMIN_PASSWORD, ['viewer']));
  await app.inject({ method: 'PUT', url: '/v1/boards/main', headers: auth('admin'), payload: { type: 'grid', title: 'Main', columns: 1, tiles: [] } });
  const d = await app.inject({ method: 'POST', url: '/v1/displays', headers: auth('admin'), payload: { name: 'TV', board: 'main' } });
  tokens.tv = d.json<{ token: string }>().token;
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('day report', () => {
  it('gives a past day by 15-minute interval from local midnight, and its total: the figures worked out by hand', async () => {
    const r = await report('date=2025-03-10&scope=queue:billing');
    expect(r).toMatchObject({ date: '2025-03-10', timeZone: TZ, intervalMinutes: 15, complete: true });
    const billing = scopeOf(r, 'queue:billing');
    // Istanbul is UTC+3 all year: the local day is [03-09 21:00 UTC, 03-10 21:00 UTC), 24 h = 96 intervals
    expect(billing.intervals).toHaveLength(96);
    expect(billing.intervals[0]!.start).toBe('2025-03-09T21:00:00.000Z');
    expect(billing.intervals.at(-1)!.end).toBe('2025-03-10T21:00:00.000Z');
    // the day's total = billing's "today" of kpi-golden.test.ts (nothing happened after its now):
    expect(billing.total).toMatchObject({
      offered: c(8), // e1 e4 e7 e11 e13 e15 e16 e22 (e19 is the day before, local)
      answered: c(5), // e2 e5 e8 e17 e23
      service_level: v((3 / 6) * 100, 6), // e2 10 s, e8 5 s, e17 20 s ≤ 20 → 3 ÷ (5 answered + 1 abandoned)
      asa: v(105 / 5, 5), // (10 + 30 + 5 + 20 + 40) ÷ 5 = 21
      aht: v(1560 / 5, 5), // (300 + 240 + 180 + 240 + 600) ÷ 5 = 312
    });
    // 01:30 local (22:30 UTC): V9 offered, answered after 40 s (> 20 s: outside the service level)
    expect(at(r, 'queue:billing', '2025-03-09T22:30:00.000Z')).toMatchObject({ offered: c(1), answered: c(1), service_level: v(0, 1), asa: v(40, 1) });
    // 12:00 local (09:00 UTC): V7 offered 09:10:00, answered 09:10:20 (20 s ≤ 20 s), ended 09:14 after 180 + 0 + 60 s
    expect(at(r, 'queue:billing', '2025-03-10T09:00:00.000Z')).toMatchObject({ offered: c(1), answered: c(1), service_level: v(100, 1), asa: v(20, 1), aht: v(240, 1) });
    // the intervals' offers add up to the day's (counts add; ratios never do, which is why the total is computed)
    expect(billing.intervals.reduce((n, p) => n + (p.values.offered?.value ?? 0), 0)).toBe(8);
  });

  it("gives the analysts' numbers: kpi_interval_15m for every interval and kpi_daily for the total", async () => {
    const scopes = ['center', 'queue:support', 'team:blue', 'channel:voice'];
    const r = await report(`date=2025-03-10&${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&')}`);
    expect(r.scopes.map((s) => s.scope)).toEqual(scopes);
    const view = async (query: string) => (await ctx.clickhouse.query({ query, query_params: { tz: TZ, scopes }, format: 'JSONEachRow' })).json<Record<string, string | number | null>>();
    const fromRow = (row: Record<string, string | number | null>, key: KpiKey): KpiValue => ({ value: row[key] === null ? null : Number(row[key]), n: Number(row[`${key}_n`]) });
    const same = (a: KpiValue | undefined, b: KpiValue, where: string) => {
      expect(a?.n, `${where} n`).toBe(b.n);
      if (b.value === null) expect(a?.value, where).toBeNull();
      else expect(a!.value!, where).toBeCloseTo(b.value, 9);
    };
    const daily = await view(`SELECT * FROM kpi_daily(tz = {tz:String}) WHERE day = toDate('2025-03-10') AND has({scopes:Array(String)}, scope)`);
    expect(daily).toHaveLength(scopes.length);
    for (const row of daily) for (const key of WINDOWED) same(scopeOf(r, String(row.scope)).total[key], fromRow(row, key), `total ${String(row.scope)} ${key}`);
    const intervals = await view(
      `SELECT * FROM kpi_interval_15m WHERE interval_start >= '2025-03-09 21:00:00' AND interval_start < '2025-03-10 21:00:00' AND has({scopes:Array(String)}, scope)`,
    );
    for (const row of intervals) {
      const start = new Date(String(row.interval_start)).toISOString();
      for (const key of WINDOWED) same(at(r, String(row.scope), start)[key], fromRow(row, key), `${String(row.scope)} ${start} ${key}`);
    }
    expect(intervals.length).toBeGreaterThan(20);
    // an interval the view has no row for has nothing in the report either
    const withRows = new Set(intervals.map((row) => `${String(row.scope)} ${new Date(String(row.interval_start)).toISOString()}`));
    for (const s of r.scopes) {
      for (const p of s.intervals.filter((x) => !withRows.has(`${s.scope} ${x.start}`))) expect(p.values.offered, `${s.scope} ${p.start}`).toEqual(c(0));
    }
  });

  it('gives today up to the current interval, still open, by default', async () => {
    clock = NOW; // 2025-03-10 09:37:30 UTC = 12:37:30 local
    try {
      const r = await report('scope=queue:billing');
      expect(r).toMatchObject({ date: '2025-03-10', complete: false });
      const billing = scopeOf(r, 'queue:billing');
      // 21:00 → 09:30 UTC is 12.5 h = 50 whole intervals, then the open one: 09:30 to the end of the current minute
      expect(billing.intervals).toHaveLength(51);
      expect(billing.intervals.at(-1)).toMatchObject({ start: '2025-03-10T09:30:00.000Z', end: '2025-03-10T09:38:00.000Z' });
      expect(billing.total.offered).toEqual(c(8));
    } finally {
      clock = NOW + DAY_MS;
    }
  });

  it('takes queue:* for every queue with figures that day, by name', async () => {
    const r = await report('date=2025-03-10&scope=center&scope=queue:*');
    expect(r.scopes.map((s) => s.scope)).toEqual(['center', `queue:${ODD_QUEUE}`, 'queue:billing', 'queue:email', 'queue:support']);
    // the day before (local): V8 on billing (23:30 local); ticket T1 was created on email that day, but a creation is
    // measured by no KPI (its first reply is, the next day), so email had no figures
    expect((await report('date=2025-03-09&scope=queue:*')).scopes.map((s) => s.scope)).toEqual(['queue:billing']);
    // a day with nothing: no queue
    expect((await report('date=2025-03-01&scope=queue:*')).scopes).toEqual([]);
  });

  it('answers a CSV: a total row and every interval per scope, on the center\'s clock, quoting what must be', async () => {
    const r = await app.inject({ method: 'GET', url: `/v1/kpis/report?date=2025-03-10&format=csv&scope=queue:billing&scope=${encodeURIComponent(`queue:${ODD_QUEUE}`)}`, headers: auth('viewer') });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe('attachment; filename="nabiz-report-2025-03-10.csv"');
    const lines = r.body.split('\r\n');
    expect(lines.at(-1)).toBe(''); // ends with a line break
    const header = lines[0]!.split(',');
    expect(header.slice(0, 4)).toEqual(['scope', 'row', 'start', 'end']);
    expect(header.slice(4)).toEqual(WINDOWED);
    // 1 header + 2 scopes × (1 total + 96 intervals) + the empty line after the last break
    expect(lines).toHaveLength(1 + 2 * 97 + 1);
    const col = (line: string, key: string) => line.split(',')[header.indexOf(key)];
    const total = lines.find((l) => l.startsWith('queue:billing,total,'))!;
    expect(total.startsWith('queue:billing,total,2025-03-10 00:00,2025-03-11 00:00,')).toBe(true);
    expect([col(total, 'offered'), col(total, 'service_level'), col(total, 'asa'), col(total, 'aht')]).toEqual(['8', '50', '21', '312']);
    // 1/6 abandoned as a percentage, rounded to 3 decimals: 16.667
    expect(col(total, 'abandon_rate')).toBe('16.667');
    const noon = lines.find((l) => l.startsWith('queue:billing,interval,2025-03-10 12:00,2025-03-10 12:15,'))!;
    expect([col(noon, 'offered'), col(noon, 'answered'), col(noon, 'service_level')]).toEqual(['1', '1', '100']);
    // an empty interval: counts 0, ratios empty
    const quiet = lines.find((l) => l.startsWith('queue:billing,interval,2025-03-10 03:00,'))!;
    expect([col(quiet, 'offered'), col(quiet, 'service_level')]).toEqual(['0', '']);
    // a scope with a comma and quotes is one quoted field
    expect(lines.filter((l) => l.startsWith('"queue:back office, ""north""",'))).toHaveLength(97);
  });

  it('refuses a bad request, naming the field and the reason', async () => {
    const refused = async (query: string) => {
      const r = await app.inject({ method: 'GET', url: `/v1/kpis/report?${query}`, headers: auth('viewer') });
      expect(r.statusCode, `${query}: ${r.body}`).toBe(400);
      return r.json<{ error: { code: string; message: string } }>().error;
    };
    // the clock is 2025-03-11 12:37 local: today is 2025-03-11, and events are kept 400 days (from 2024-02-05 on)
    expect((await refused('date=2025-02-30')).message).toBe('/date is not a day of the calendar');
    expect((await refused('date=2025-03-12')).message).toBe('/date is after today (2025-03-11 in Europe/Istanbul)');
    expect((await refused('date=2024-02-04')).message).toBe('/date is before 2024-02-05: events are kept 400 days (RETENTION_DAYS)');
    expect((await refused('date=10.03.2025')).message).toMatch(/date/);
    expect((await refused('date=2025-03-10&scope=nope')).code).toBe('invalid_scope');
    expect((await refused('date=2025-03-10&format=xml')).message).toMatch(/format/);
    expect((await refused('dte=2025-03-10')).message).toMatch(/dte/);
    const many = Array.from({ length: 51 }, (_, i) => `scope=queue:q${i}`).join('&');
    expect((await refused(`date=2025-03-10&${many}`)).message).toBe('/scope 51 scopes: at most 50 in one report');
    // the oldest day kept and today are fine
    expect((await report('date=2024-02-05')).scopes.map((s) => s.scope)).toEqual(['center']);
    expect((await report('date=2025-03-11')).complete).toBe(false);
  });

  it('is for people: viewers read it, a TV and a stranger do not', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/kpis/report', headers: auth('tv') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/v1/kpis/report' })).statusCode).toBe(401);
    expect((await report('', 'admin')).scopes.map((s) => s.scope)).toEqual(['center']);
  });
});
