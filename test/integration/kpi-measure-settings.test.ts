// The stored measures follow the worker's FCR look-back: a worker started with another FCR_LOOKBACK_DAYS than the
// measures were computed with rebuilds them before its first pass (kpi_measure_settings, sql/016_measure_settings.sql),
// so history, the wallboards and ClickHouse agree; a worker started with the same one rebuilds nothing. A rebuild that
// fails or is stopped records nothing and leaves nothing of itself running.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { rebuildMeasures } from '../../server/kpi/materialize.ts';
import { MEASURES_DEFINITION } from '../../server/kpi/measures.ts';
import { startKpiWorker } from '../../server/kpi/pipeline.ts';
import { readMeasureSettings } from '../../server/kpi/settings.ts';
import { kpiRedisNames, readSnapshots } from '../../server/kpi/snapshots.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

const NOW = Date.now();
const DAY = 86_400_000;
const REBUILDING = 'kpi: rebuilding every measure';

let ctx: TestContext;
let redis: Redis;

beforeAll(async () => {
  ctx = await createTestContext();
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  // Customer cu-1: A offered 20 days ago; B offered 30 minutes ago, answered and resolved, in queue lb.
  const events = [
    { id: 'a-1', type: 'contact.offered', at: NOW - 20 * DAY, contactId: 'A', queue: 'la', channel: 'voice', customerId: 'cu-1' },
    { id: 'b-1', type: 'contact.offered', at: NOW - 30 * 60_000, contactId: 'B', queue: 'lb', channel: 'voice', customerId: 'cu-1' },
    { id: 'b-2', type: 'contact.answered', at: NOW - 29 * 60_000, contactId: 'B', agentId: 'a1' },
    { id: 'b-3', type: 'contact.ended', at: NOW - 25 * 60_000, contactId: 'B', agentId: 'a1', talkMs: 200_000, holdMs: 0, acwMs: 40_000, resolved: true },
  ];
  const rows = events.map(({ at, ...e }) => {
    const v = validateEvent({ ...e, source: 'acd', occurredAt: new Date(at).toISOString() }, { now: NOW, retentionDays: 400 });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return toEventRow(v.event, NOW);
  });
  await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
});
afterAll(async () => {
  redis?.disconnect();
  await ctx?.cleanup();
});

const fcrOf = (snaps: Snapshot[]) => snaps.find((s) => s.window === 'today' && s.scope === 'queue:lb')?.values.fcr;

/** Starts a worker with this look-back, recomputes once, and gives B's queue's FCR as published and in ClickHouse. */
async function run(lookbackDays: number) {
  const { log, lines } = capturedLog('info');
  const config = { ...ctx.config, FCR_LOOKBACK_DAYS: lookbackDays };
  const worker = await startKpiWorker({ config, log, clickhouse: ctx.clickhouse, redisUrl: ctx.config.REDIS_URL!, now: () => NOW, schedulers: false });
  try {
    await worker.recomputeNow('test');
    const published = fcrOf(await readSnapshots(redis, kpiRedisNames(config.REDIS_PREFIX), 'today'));
    const truth = fcrOf(await computeSnapshots(ctx.clickhouse, { now: NOW, tz: config.CENTER_TZ, waitingLookbackHours: 24, scopes: ['queue:lb'] }));
    return { published, truth, rebuilt: lines.some((l) => l.includes(REBUILDING)) };
  } finally {
    await worker.close();
  }
}

describe('the measures follow FCR_LOOKBACK_DAYS', () => {
  it('a worker with another look-back rebuilds them before its first pass; one with the same rebuilds nothing', async () => {
    // 7 days: A (20 days before B) is outside the look-back, so B is a first contact: 1 of 1 = 100 %. A new
    // installation has nothing to rebuild.
    expect(await run(7)).toEqual({ published: { value: 100, n: 1 }, truth: { value: 100, n: 1 }, rebuilt: false });
    expect(await readMeasureSettings(ctx.clickhouse)).toEqual({ fcrLookbackDays: 7, definition: MEASURES_DEFINITION });
    // 30 days: A is inside it, so B is not: 0 of 1 = 0 %, in ClickHouse (rebuilt) and on the wallboards alike
    expect(await run(30)).toEqual({ published: { value: 0, n: 1 }, truth: { value: 0, n: 1 }, rebuilt: true });
    expect(await readMeasureSettings(ctx.clickhouse)).toEqual({ fcrLookbackDays: 30, definition: MEASURES_DEFINITION });
    // the same look-back again: nothing to rebuild
    expect(await run(30)).toEqual({ published: { value: 0, n: 1 }, truth: { value: 0, n: 1 }, rebuilt: false });
  }, 60_000);

  it('a rebuild stopped by its signal (its worker lost the lease) fails without recording anything', async () => {
    const before = await readMeasureSettings(ctx.clickhouse);
    await expect(rebuildMeasures(ctx.clickhouse, { lookbackDays: 3, signal: AbortSignal.abort(new Error('lease lost')) })).rejects.toThrow('lease lost');
    expect(await readMeasureSettings(ctx.clickhouse)).toEqual(before);
  });

  it('a failed slice stops the other slices before the rebuild fails, and nothing is recorded', async () => {
    // 4 more contacts (no customer): 6 contacts, so 6 slices of 1, two at a time
    const rows = ['C', 'D', 'E', 'F'].map((contactId) => {
      const v = validateEvent(
        { id: `${contactId}-1`, type: 'contact.offered', source: 'acd', occurredAt: new Date(NOW - 60_000).toISOString(), contactId, queue: 'lz', channel: 'chat' },
        { now: NOW, retentionDays: 400 },
      );
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      return toEventRow(v.event, NOW);
    });
    await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
    const before = await readMeasureSettings(ctx.clickhouse);
    // The engine refuses the second slice's first write (the first slice's is under way beside it).
    let slices = 0;
    const failing = new Proxy(ctx.clickhouse, {
      get(target, prop) {
        if (prop === 'command') {
          return async (params: Parameters<typeof target.command>[0]) => {
            if (params.query.includes('INSERT INTO kpi_rebuild_interactions') && ++slices === 2) throw new Error('the engine refused slice 2');
            return target.command(params);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await expect(rebuildMeasures(failing, { lookbackDays: 3, sliceContacts: 1 })).rejects.toThrow('the engine refused slice 2');
    // the first slice finished; no third to sixth began
    expect(slices).toBe(2);
    expect(await readMeasureSettings(ctx.clickhouse)).toEqual(before);
    // a rebuild started again does all six and records its look-back
    slices = 0;
    const again = await rebuildMeasures(ctx.clickhouse, { lookbackDays: 3, sliceContacts: 1 });
    expect(again.contacts).toBe(6);
    expect(await readMeasureSettings(ctx.clickhouse)).toEqual({ fcrLookbackDays: 3, definition: MEASURES_DEFINITION });
  });
});
