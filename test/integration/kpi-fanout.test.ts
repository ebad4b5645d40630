// The KPI worker's fan-out (sql/008_fanout.sql, server/kpi/materialize.ts): events committed while passes run are
// each taken exactly once, a repeated pass counts nothing twice, and a pass is bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSnapshots } from '../../server/kpi/compute.ts';
import { catchUp, materializeMeasures, nextRange, readWatermark, writeWatermark } from '../../server/kpi/materialize.ts';
import { syncDefaultQueueSettings } from '../../server/kpi/settings.ts';
import { createTestContext, type TestContext } from '../support/context.ts';
import { insertEvents, MAIN_EVENTS } from './kpi-scenario.ts';

const LOOKBACK = { lookbackDays: 7 };

describe('KPI fan-out', () => {
  let ctx: TestContext;
  const now = Date.UTC(2025, 2, 10, 9, 37, 30);
  const offered = async (queue: string) =>
    (await computeSnapshots(ctx.clickhouse, { now, tz: 'UTC', waitingLookbackHours: 24, scopes: [`queue:${queue}`] }))[0]!.values.offered.value;
  const count = async (sql: string) => {
    const rs = await ctx.clickhouse.query({ query: sql, format: 'JSONEachRow' });
    return Number((await rs.json<{ n: string }>())[0]!.n);
  };
  const offer = (i: number, queue: string, contact = `${queue}-${i}`) => ({
    ...MAIN_EVENTS[0]!, id: `${queue}-e${i}`, contact_id: contact, customer_id: '', queue, occurred_at: '2025-03-10 09:30:00.000',
  });

  beforeAll(async () => {
    ctx = await createTestContext();
    await syncDefaultQueueSettings(ctx.clickhouse, ctx.config);
  });
  afterAll(async () => ctx?.cleanup());

  it('takes every event committed while passes run, each once', async () => {
    let stop = false;
    let w = await readWatermark(ctx.clickhouse);
    let passes = 0;
    const loop = (async () => {
      while (!stop) {
        const r = await materializeMeasures(ctx.clickhouse, { ...LOOKBACK, from: w });
        if (r.events > 0) passes++;
        w = r.upTo;
      }
    })();
    // 40 single-event inserts, two at a time, while the passes run
    for (let i = 0; i < 40; i += 2) await Promise.all([insertEvents(ctx.clickhouse, [offer(i, 'race')]), insertEvents(ctx.clickhouse, [offer(i + 1, 'race')])]);
    stop = true;
    await loop;
    await catchUp(ctx.clickhouse, LOOKBACK);
    expect(passes).toBeGreaterThan(1); // the inserts really raced several passes
    expect(await offered('race')).toBe(40);
    expect(await count(`SELECT count() AS n FROM event_ids FINAL WHERE startsWith(id, 'race-')`)).toBe(40);
    expect(await count(`SELECT count() AS n FROM kpi_contact_events FINAL WHERE startsWith(id, 'race-')`)).toBe(40);
  });

  it('a pass repeated from an older watermark (a crash before it was written) counts nothing twice', async () => {
    await insertEvents(ctx.clickhouse, [offer(1, 'again'), offer(2, 'again')]);
    await catchUp(ctx.clickhouse, LOOKBACK);
    expect(await offered('again')).toBe(2);
    await writeWatermark(ctx.clickhouse, 0);
    const again = await catchUp(ctx.clickhouse, LOOKBACK);
    expect(again.events).toBeGreaterThanOrEqual(42); // everything so far, fanned out a second time
    expect(await offered('again')).toBe(2);
    expect(await offered('race')).toBe(40);
    expect(await count(`SELECT count() AS n FROM event_ids FINAL WHERE startsWith(id, 'again-')`)).toBe(2);
  });

  it('a pass is bounded by a row count, but always takes at least one insert block', async () => {
    const from = await readWatermark(ctx.clickhouse);
    await insertEvents(ctx.clickhouse, [offer(1, 'bounded'), offer(2, 'bounded'), offer(3, 'bounded')]); // one block of 3
    await insertEvents(ctx.clickhouse, [offer(4, 'bounded')]);
    const first = await nextRange(ctx.clickhouse, from, 2);
    expect(first).toEqual({ from, to: from + 1, events: 3 });
    const both = await nextRange(ctx.clickhouse, from, 4);
    expect(both).toEqual({ from, to: from + 2, events: 4 });
    expect(await nextRange(ctx.clickhouse, from + 2, 4)).toEqual({ from: from + 2, to: from + 2, events: 0 });
    // a watermark stored by another process (a rebuild) further on wins over the one the caller holds
    await writeWatermark(ctx.clickhouse, from + 1);
    expect(await nextRange(ctx.clickhouse, from, 4)).toEqual({ from: from + 1, to: from + 2, events: 1 });
  });

  it('the watermark written last wins, though the clock is behind the stored one (a restore, a clock set back)', async () => {
    const before = await readWatermark(ctx.clickhouse);
    // a watermark stored by a clock an hour ahead
    await ctx.clickhouse.command({
      query: `INSERT INTO kpi_progress (name, up_to, updated_at, position) SELECT 'fanout', now64(3, 'UTC'), now64(3, 'UTC') + INTERVAL 1 HOUR, {p:UInt64}`,
      query_params: { p: before + 1000 },
    });
    expect(await readWatermark(ctx.clickhouse)).toBe(before + 1000);
    // a rebuild sets it back (to 0 here): that stands, not the hour-ahead row
    await writeWatermark(ctx.clickhouse, 0);
    expect(await readWatermark(ctx.clickhouse)).toBe(0);
    await writeWatermark(ctx.clickhouse, before);
    expect(await readWatermark(ctx.clickhouse)).toBe(before);
  });
});
