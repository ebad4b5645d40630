// The window bounds docs/analysts.md gives for kpi_period give the wallboard's numbers, in a center far from UTC, and
// on a ClickHouse session in yet another zone (a server of one's own, not set to UTC). kpi_period receives its bounds
// as text, so a bound in another zone is read by its clock reading as if it were UTC: `toStartOfDay(now(), tz)`
// unwrapped starts "today" hours off (the parity test passes UTC text and cannot see it). And the views, like the
// wallboard, leave out an event stamped minutes ahead until its minute begins (sql/017_views_until_now.sql).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import { syncCenterTimeZone } from '../../server/kpi/settings.ts';
import { startOfLocalDay } from '../../server/time-zone.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import { createTestContext, type TestContext } from '../support/context.ts';
import { middayZone } from '../support/process.ts';

const NOW = Date.now();
// The center's local time is about noon, so its midnight is hours from UTC's and from now (never UTC itself).
const ZONE = middayZone(NOW) === 'Etc/GMT' ? 'Etc/GMT-1' : middayZone(NOW);
// A session zone that is neither UTC nor the center's (+05:45)
const SESSION_ZONE = 'Asia/Kathmandu';
const MIDNIGHT = startOfLocalDay(NOW, ZONE);
const MIN = 60_000;

// Contacts offered and answered 10 s later, in queue `win`:
//   yesterday  90 min before local midnight      in no window
//   today      30 min after local midnight       today
//   earlier    2 h ago (local ~10:00)            today
//   recent     5 min ago                         today, 1h
//   ahead      3 min from now (a sender's clock  in no window yet: its minute has not begun
//              ahead; the contract allows 5)
// So today: 3 offered, 3 answered; 1h: 1 and 1.
const CONTACTS = {
  yesterday: MIDNIGHT - 90 * MIN,
  today: MIDNIGHT + 30 * MIN,
  earlier: NOW - 120 * MIN,
  recent: NOW - 5 * MIN,
  ahead: NOW + 3 * MIN,
};

/** The example queries of docs/analysts.md, by their number (they read the center's zone from kpi_center). */
function example(n: number): string {
  const doc = readFileSync(new URL('../../docs/analysts.md', import.meta.url), 'utf8');
  const found = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim()).find((q) => q.startsWith(`-- ${n}.`));
  if (!found) throw new Error(`docs/analysts.md has no example ${n}`);
  return found.replace(/;\s*$/, '');
}

function contactRows() {
  return Object.entries(CONTACTS).flatMap(([name, t]) =>
    [
      { id: `${name}-o`, type: 'contact.offered', occurredAt: new Date(t).toISOString(), queue: 'win', channel: 'voice' },
      { id: `${name}-a`, type: 'contact.answered', occurredAt: new Date(t + 10_000).toISOString(), agentId: 'a1' },
    ].map((e) => {
      const v = validateEvent({ ...e, source: 'acd', contactId: name }, { now: NOW, retentionDays: 30 });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      return toEventRow(v.event, NOW);
    }),
  );
}

describe("the analyst views give the wallboard's numbers", () => {
  let ctx: TestContext;
  let snaps: Snapshot[];

  beforeAll(async () => {
    ctx = await createTestContext({ CENTER_TZ: ZONE });
    await syncCenterTimeZone(ctx.clickhouse, ctx.config); // as the KPI worker does at start
    await ctx.clickhouse.insert({ table: 'events', values: contactRows(), format: 'JSONEachRow' });
    await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
    snaps = await computeSnapshots(ctx.clickhouse, { now: NOW, tz: ZONE, waitingLookbackHours: 24, scopes: ['center', 'queue:win'] });
  });
  afterAll(async () => ctx?.cleanup());

  const api = (window: string, scope: string) => snaps.find((s) => s.window === window && s.scope === scope)!.values;

  for (const session of ['UTC', SESSION_ZONE]) {
    it(`today (example 1) and the last hour (example 2), on a session in ${session}`, async () => {
      const run = async (query: string) => {
        const rs = await ctx.clickhouse.query({ query, format: 'JSONEachRow', clickhouse_settings: { session_timezone: session } });
        return rs.json<Record<string, string | number | null>>();
      };
      // today: 3 offered (yesterday's contact left out), as on the wallboard
      const [today] = await run(example(1));
      expect(Number(today!.offered)).toBe(3);
      expect(api('today', 'center').offered.value).toBe(3);
      // the last hour: the recent contact only, 1 answered of 1 (service level's sample)
      const hour = (await run(example(2))).find((r) => r.scope === 'queue:win');
      expect(Number(hour!.service_level_n)).toBe(1);
      expect(api('1h', 'queue:win').service_level.n).toBe(1);
    });
  }

  it('kpi_daily, kpi_interval_15m and kpi_period count the contact stamped 3 minutes ahead only once its minute begins', async () => {
    const offered = async (query: string) => {
      const rs = await ctx.clickhouse.query({ query: `SELECT sum(offered) AS n FROM ${query} WHERE scope = 'queue:win'`, format: 'JSONEachRow' });
      return Number((await rs.json<{ n: string }>())[0]!.n);
    };
    // every day and interval: yesterday, today, earlier and recent = 4; ahead is left out (its minute starts in 3 min)
    expect(await offered(`kpi_daily(tz = '${ZONE}')`)).toBe(4);
    expect(await offered('kpi_interval_15m')).toBe(4);
    // a period reaching an hour ahead still ends with the current minute
    expect(await offered(`kpi_period(from = now('UTC') - INTERVAL 2 DAY, to = now('UTC') + INTERVAL 1 HOUR)`)).toBe(4);
    // the measure itself is stored: the view leaves it out, not the worker
    const rs = await ctx.clickhouse.query({ query: "SELECT count() AS n FROM kpi_measures_v WHERE kind = 'offer' AND contact_id = 'ahead'", format: 'JSONEachRow' });
    expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(1);
  });
});
