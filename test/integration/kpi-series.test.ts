// Today's 15-minute series (the wallboard's trend charts) never keeps an older picture than the snapshots (the tiles)
// once the figures stop moving: the worker republishes it at most every few seconds while they move, and the
// scheduler's tick comes back for it after the last change. The KPI clock is frozen in this test, so nothing else
// (a new minute, a waiting contact) would republish it.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import { startKpiWorker, type KpiWorkerHandle } from '../../server/kpi/pipeline.ts';
import { readSeries, type SeriesMessage } from '../../server/kpi/series-store.ts';
import { kpiRedisNames, readSnapshots } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { waitFor } from '../support/wait.ts';

// Ten seconds into the UTC day at the earliest, so the events one second before it are today's.
const NOW = Math.max(Date.now(), Math.floor(Date.now() / 86_400_000) * 86_400_000 + 10_000);

let ctx: TestContext;
let redis: Redis;
let worker: KpiWorkerHandle;
let n = 0;
let clock = NOW;

/** `count` calls offered at NOW − 1 s and abandoned at once (so nobody waits). */
async function offerAndAbandon(count: number): Promise<void> {
  const at = new Date(NOW - 1000).toISOString();
  const events = [];
  for (let i = 0; i < count; i++) {
    const contactId = `s${++n}`;
    events.push({ id: `${contactId}-o`, source: 'acd', type: 'contact.offered', occurredAt: at, contactId, queue: 'q', channel: 'voice' });
    events.push({ id: `${contactId}-a`, source: 'acd', type: 'contact.abandoned', occurredAt: at, contactId });
  }
  const rows = events.map((e) => {
    const v = validateEvent(e, { now: NOW, retentionDays: 30 });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return toEventRow(v.event, NOW);
  });
  await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
}

const names = () => kpiRedisNames(ctx.config.REDIS_PREFIX);

async function offeredInSnapshot(): Promise<number | null | undefined> {
  const [center] = await readSnapshots(redis, names(), 'today', ['center']);
  return center?.values.offered.value;
}

/** Today's offers summed over the series' intervals. */
async function offeredInSeries(): Promise<number> {
  const [center] = await readSeries(redis, names(), ['center']);
  return (center?.points ?? []).reduce((sum, p) => sum + (p.values.offered?.value ?? 0), 0);
}

beforeAll(async () => {
  ctx = await createTestContext({ CENTER_TZ: 'UTC' });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  // schedulers on: the tick finds the events (inserted without a signal) and republishes the series
  worker = await startKpiWorker({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: ctx.config.REDIS_URL!, now: () => clock });
});
afterAll(async () => {
  await worker?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe("today's series", () => {
  it('catches up with the snapshots after the last change, without a new minute or a waiting contact', async () => {
    await offerAndAbandon(2);
    await waitFor('2 offers in the snapshot', async () => ((await offeredInSnapshot()) === 2 ? true : undefined));
    await waitFor('2 offers in the series', async () => ((await offeredInSeries()) === 2 ? true : undefined));
    // The series was just published: the next change lands within its few seconds of throttling, and nothing moves
    // after it. The tick must come back for the series.
    await offerAndAbandon(1);
    await waitFor('3 offers in the snapshot', async () => ((await offeredInSnapshot()) === 3 ? true : undefined));
    await waitFor('3 offers in the series', async () => ((await offeredInSeries()) === 3 ? true : undefined), 20_000);
    expect(await offeredInSeries()).toBe(await offeredInSnapshot());
    // every tick that ends well notes the worker's time: the screens say "stale" when it stops moving
    expect(await waitFor('a tick noted', async () => (await redis.get(names().alive)) ?? undefined)).toBe(String(NOW));
  }, 60_000);

  it('at midnight, a scope with nothing yet today gets a last, empty series (its screens drop yesterday\'s chart)', async () => {
    const sub = createRedis(ctx.config.REDIS_URL!, 'subscriber');
    const messages: SeriesMessage[] = [];
    try {
      await sub.subscribe(names().seriesChannel);
      sub.on('message', (_c: string, m: string) => messages.push(JSON.parse(m) as SeriesMessage));
      expect((await readSeries(redis, names(), ['queue:q'])).map((x) => x.scope)).toEqual(['queue:q']);
      clock = NOW + 86_400_000; // the next day: queue q has nothing in it
      await worker.recomputeNow('the next day');
      const next = new Date(clock).toISOString();
      const m = await waitFor('the next day\'s series', async () => messages.find((x) => x.asOf === next), 20_000);
      const q = m.departed.find((x) => x.scope === 'queue:q');
      // the new day's quarter hours so far (UTC: from its midnight to the one holding now), each with nothing offered
      const midnight = Math.floor(clock / 86_400_000) * 86_400_000;
      expect(q?.points.length).toBe(Math.floor((clock - midnight) / 900_000) + 1);
      expect(q?.points[0]?.start).toBe(new Date(midnight).toISOString());
      expect(q?.points.every((p) => (p.values.offered?.value ?? 0) === 0)).toBe(true);
      // not stored: the scope has no series today
      expect(await readSeries(redis, names(), ['queue:q'])).toEqual([]);
    } finally {
      sub.disconnect();
    }
  }, 60_000);
});
