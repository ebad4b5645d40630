// Retention (RETENTION_DAYS) against the embedded ClickHouse: the daily job drops every month wholly older than the
// cutoff from the events, what was derived from them and what ingest refused, and the ids older than it from the
// duplicate index; nothing newer, and not the alerts' history.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chTime } from '../../server/clickhouse/time.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import { retentionOverdue, startKpiWorker } from '../../server/kpi/pipeline.ts';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { applyRetention } from '../../server/retention.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;
// 2026-11-24 12:00 UTC with a retention of 400 days: the cutoff is 2025-10-20 12:00, so October 2025 is partly inside
// and stays whole; September 2025 and before go.
const NOW = Date.parse('2026-11-24T12:00:00.000Z');
const AT = {
  aug2025: '2025-08-15T10:00:00.000Z',
  sep2025: '2025-09-30T23:59:59.999Z',
  oct2025: '2025-10-01T00:00:00.000Z', // older than the cutoff, but its month is not wholly older: kept
  nov2026: '2026-11-24T11:00:00.000Z',
};

async function count(sql: string): Promise<number> {
  const rs = await ctx.clickhouse.query({ query: sql, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

beforeAll(async () => {
  ctx = await createTestContext();
  const rows = Object.entries(AT).map(([name, occurredAt]) => {
    const v = validateEvent({ id: `r-${name}`, source: 'acd', type: 'contact.offered', occurredAt, contactId: `c-${name}`, queue: 'q', channel: 'voice' }, { now: NOW, retentionDays: 3650 });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return toEventRow(v.event, Date.parse(occurredAt));
  });
  await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
  await ctx.clickhouse.insert({ table: 'event_ids', values: rows.map((r) => ({ source: r.source, id: r.id, occurred_at: r.occurred_at })), format: 'JSONEachRow' });
  await ctx.clickhouse.insert({
    table: 'rejected_events',
    values: Object.entries(AT).map(([name, at]) => ({ received_at: chTime(Date.parse(at)), request_id: name, source: 'acd', key_name: 'k', item_index: 0, event_id: '', reasons: ['/x: bad'], raw: '{}' })),
    format: 'JSONEachRow',
  });
  await ctx.clickhouse.insert({
    table: 'alerts',
    values: [{ id: 'al_old', at: '2025-01-01 00:00:00.000', transition: 'fired', threshold_id: 'thr_x', kpi: 'asa', scope: 'center', window: '15m', direction: 'above', level: 'warning', peak: 'warning', value: 1, threshold: 1, started_at: '2025-01-01 00:00:00.000', ended_at: null, acknowledged_by: '', acknowledged_at: null }],
    format: 'JSONEachRow',
  });
});

afterAll(async () => {
  await ctx?.cleanup();
});

describe('retention', () => {
  it('drops the months wholly older than RETENTION_DAYS, and older ids from the duplicate index; keeps the rest', async () => {
    const dropped = await applyRetention(ctx.clickhouse, 400, NOW);
    expect(dropped.sort()).toEqual(['event_ids/3 rows', 'events/202508', 'events/202509', 'rejected_events/202508', 'rejected_events/202509'].sort());
    // events: October 2025 (partly inside) and November 2026 remain
    expect(await count(`SELECT count() AS n FROM events`)).toBe(2);
    expect(await count(`SELECT count() AS n FROM events WHERE id IN ('r-oct2025', 'r-nov2026')`)).toBe(2);
    expect(await count(`SELECT count() AS n FROM rejected_events`)).toBe(2);
    // the ids: those older than the cutoff go, whatever their month (October 1st too: an event that old is refused
    // before any duplicate check)
    expect(await count(`SELECT count() AS n FROM event_ids`)).toBe(1);
    expect(await count(`SELECT count() AS n FROM event_ids WHERE id = 'r-nov2026'`)).toBe(1);
    // the alerts' history stays
    expect(await count(`SELECT count() AS n FROM alerts WHERE id = 'al_old'`)).toBe(1);
    // a second run has nothing left to drop
    expect(await applyRetention(ctx.clickhouse, 400, NOW)).toEqual([]);
  });

  it('runs when a worker takes the lease and it has not run for a day: a machine off at 03:30 every night still drops old data', async () => {
    const old = validateEvent({ id: 'r-catch-up', source: 'acd', type: 'contact.offered', occurredAt: AT.aug2025, contactId: 'c-catch-up', queue: 'q', channel: 'voice' }, { now: NOW, retentionDays: 3650 });
    if (!old.ok) throw new Error(JSON.stringify(old.errors));
    await ctx.clickhouse.insert({ table: 'events', values: [toEventRow(old.event, NOW)], format: 'JSONEachRow' });
    const redis = createRedis(ctx.config.REDIS_URL!, 'commands');
    if (redis.status !== 'ready') await once(redis, 'ready');
    const names = kpiRedisNames(ctx.config.REDIS_PREFIX);
    await redis.del(names.retentionAt); // never noted
    const worker = await startKpiWorker({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: ctx.config.REDIS_URL!, now: () => NOW });
    try {
      await expect.poll(() => count(`SELECT count() AS n FROM events WHERE id = 'r-catch-up'`), { timeout: 30_000 }).toBe(0);
      await expect.poll(() => redis.get(names.retentionAt), { timeout: 5_000 }).toBe(String(NOW));
    } finally {
      await worker.close();
      redis.disconnect();
    }
  });

  it('is overdue after a day and an hour without a run, or when none was noted', () => {
    const h = 3_600_000;
    expect([retentionOverdue(NOW - 24 * h, NOW), retentionOverdue(NOW - 25 * h + 1, NOW)]).toEqual([false, false]); // last night's
    expect([retentionOverdue(NOW - 25 * h, NOW), retentionOverdue(0, NOW), retentionOverdue(Number.NaN, NOW)]).toEqual([true, true, true]);
  });
});
