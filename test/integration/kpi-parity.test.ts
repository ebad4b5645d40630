// Parity: for the golden scenario, the analyst views (sql/005_analyst_views.sql) give the same numbers as the API's
// snapshot computation, for every windowed KPI, window and scope, and for the 15-minute series and the local day.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KPI_CATALOG, type KpiKey, type KpiValue } from '../../server/kpi/catalog.ts';
import { computeSeries, computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import { readCenterTimeZone, setLiveSettings, setQueueSettings, syncCenterTimeZone } from '../../server/kpi/settings.ts';
import { windowRange, WINDOWS } from '../../server/kpi/windows.ts';
import { createTestContext, type TestContext } from '../support/context.ts';
import { insertEvents, LATE_EVENTS, MAIN_EVENTS, NOW, SUPPORT_SETTINGS, TZ } from './kpi-scenario.ts';

const WINDOWED = KPI_CATALOG.filter((d) => d.kind === 'windowed').map((d) => d.key);
type ViewRow = Record<string, string | number | null>;

/** A view row's KPI as {value, n}: `<key>` and `<key>_n` (64-bit integers arrive as strings). */
function fromRow(row: ViewRow, key: KpiKey): KpiValue {
  const value = row[key];
  return { value: value === null ? null : Number(value), n: Number(row[`${key}_n`]) };
}

function expectSame(view: KpiValue, api: KpiValue, where: string): void {
  expect(view.n, `${where} n`).toBe(api.n);
  if (api.value === null) expect(view.value, where).toBeNull();
  else expect(view.value!, where).toBeCloseTo(api.value, 9);
}

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

describe('analyst views ↔ API parity', () => {
  let ctx: TestContext;
  let snaps: Snapshot[];

  beforeAll(async () => {
    ctx = await createTestContext({ CENTER_TZ: TZ });
    await setQueueSettings(ctx.clickhouse, 'support', SUPPORT_SETTINGS);
    await insertEvents(ctx.clickhouse, MAIN_EVENTS);
    await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
    await insertEvents(ctx.clickhouse, LATE_EVENTS);
    await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
    snaps = await computeSnapshots(ctx.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24 });
  });
  afterAll(async () => ctx?.cleanup());

  async function view(query: string, params: Record<string, unknown> = {}): Promise<ViewRow[]> {
    const rs = await ctx.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<ViewRow>();
  }

  for (const window of WINDOWS) {
    it(`kpi_period over the ${window} window equals the API for every scope and windowed KPI`, async () => {
      const { start, end } = windowRange(window, NOW, TZ);
      const rows = await view(
        `SELECT * FROM kpi_period(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')}) ORDER BY scope`,
        { from: iso(start), to: iso(end) },
      );
      const api = snaps.filter((s) => s.window === window);
      // The views list the scopes with windowed data in the window; every one of them is an API scope…
      for (const row of rows) {
        const snap = api.find((s) => s.scope === row.scope);
        expect(snap, `API snapshot for ${String(row.scope)}`).toBeDefined();
        for (const key of WINDOWED) expectSame(fromRow(row, key), snap!.values[key], `${window} ${String(row.scope)} ${key}`);
      }
      // …and an API scope missing from the view has nothing in this window (all counts 0, all ratios null).
      for (const snap of api.filter((s) => !rows.some((r) => r.scope === s.scope))) {
        for (const key of WINDOWED) expect(snap.values[key].n, `${window} ${snap.scope} ${key}`).toBe(0);
      }
      expect(rows.length).toBeGreaterThan(5);
    });
  }

  it('kpi_interval_15m equals the API series for every scope, interval and windowed KPI', async () => {
    const series = await computeSeries(ctx.clickhouse, { now: NOW, tz: TZ });
    const { start, end } = windowRange('today', NOW, TZ);
    const rows = await view(
      `SELECT * FROM kpi_interval_15m WHERE interval_start >= {from:DateTime64(3, 'UTC')} AND interval_start < {to:DateTime64(3, 'UTC')}`,
      { from: iso(start), to: iso(end) },
    );
    let compared = 0;
    for (const row of rows) {
      const s = series.find((x) => x.scope === row.scope);
      const at = new Date(String(row.interval_start)).toISOString(); // DateTime output is ISO (PINNED_SETTINGS)
      const point = s?.points.find((p) => p.start === at);
      expect(point, `series point ${String(row.scope)} ${at}`).toBeDefined();
      for (const key of WINDOWED) expectSame(fromRow(row, key), point!.values[key]!, `${String(row.scope)} ${at} ${key}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });

  it('kpi_daily in the center\'s time zone equals the today window (nothing happened after now)', async () => {
    const rows = await view(`SELECT * FROM kpi_daily(tz = {tz:String}) WHERE day = toDate('2025-03-10')`, { tz: TZ });
    const center = rows.find((r) => r.scope === 'center')!;
    const api = snaps.find((s) => s.window === 'today' && s.scope === 'center')!;
    for (const key of WINDOWED) expectSame(fromRow(center, key), api.values[key], `daily center ${key}`);
    // In UTC the same events split over two days: 2025-03-09 22:30 (V9) is "today" only in Istanbul.
    const utc = await view(`SELECT offered FROM kpi_daily(tz = 'UTC') WHERE day = toDate('2025-03-10') AND scope = 'center'`);
    expect(Number(utc[0]!.offered)).toBe(13);
  });

  it('the center\'s time zone is in kpi_center as the KPI worker stores it: local days by it are the today window\'s', async () => {
    // a new database: UTC, until a worker writes its CENTER_TZ (once; a second sync with the same zone writes nothing)
    expect(await readCenterTimeZone(ctx.clickhouse)).toBe('UTC');
    await syncCenterTimeZone(ctx.clickhouse, { CENTER_TZ: TZ });
    await syncCenterTimeZone(ctx.clickhouse, { CENTER_TZ: TZ });
    expect(await view('SELECT time_zone FROM kpi_center')).toEqual([{ time_zone: TZ }]);
    expect(await view('SELECT count() AS n FROM kpi_center_settings')).toEqual([{ n: '2' }]); // the migration's UTC, and TZ
    // as docs/analysts.md reads it: 13 offers on 2025-03-10 by UTC days (above), the today window's by Istanbul's
    const rows = await view(`WITH (SELECT time_zone FROM kpi_center) AS center_tz
                             SELECT offered, offered_n FROM kpi_daily(tz = center_tz) WHERE day = toDate('2025-03-10') AND scope = 'center'`);
    const api = snaps.find((s) => s.window === 'today' && s.scope === 'center')!;
    expect(api.values.offered.value).not.toBe(13);
    expectSame(fromRow(rows[0]!, 'offered'), api.values.offered, 'daily by kpi_center, offered');
  });

  it('kpi_agent_states_now agrees with the live agent counts', async () => {
    const count = async (column: string) => {
      const rows = await view(`SELECT ${column} AS st, count() AS n FROM kpi_agent_states_now GROUP BY st ORDER BY st`);
      return Object.fromEntries(rows.map((r) => [r.st, Number(r.n)]));
    };
    const live = snaps.find((s) => s.window === 'today' && s.scope === 'center')!.values;
    const atNow = {
      available: live.agents_available.value,
      busy: live.agents_busy.value,
      acw: live.agents_acw.value,
      aux: live.agents_aux.value,
      offline: 1, // a5, counted nowhere on the wallboard
    };
    // The view reads the real clock, and the scenario's states (2025-03-10) are far more than AGENT_STATE_MAX_HOURS (12,
    // stored by the migration) old by it: every agent reads offline, and reported_state keeps what the ACD said.
    expect(await count('state')).toEqual({ offline: 10 });
    expect(await count('reported_state')).toEqual(atNow);
    // With no cutoff, the view and the API (at the scenario's NOW, when no state was 12 h old) count the same agents.
    await setLiveSettings(ctx.clickhouse, { agentStateMaxHours: 0 });
    try {
      expect(await count('state')).toEqual(atNow);
    } finally {
      await setLiveSettings(ctx.clickhouse, { agentStateMaxHours: 12 });
    }
  });

  it('every example query of docs/analysts.md runs', async () => {
    const doc = readFileSync(new URL('../../docs/analysts.md', import.meta.url), 'utf8');
    const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)]
      .map((m) => m[1]!.trim())
      .filter((q) => !/^CREATE (ROLE|USER|SETTINGS)/m.test(q)); // the admin snippet for a real server
    expect(queries).toHaveLength(12);
    for (const q of queries) await expect(view(q.replace(/;\s*$/, '')), q.split('\n')[0]).resolves.toBeInstanceOf(Array);
  });
});
