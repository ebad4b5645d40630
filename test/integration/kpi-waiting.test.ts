// `waiting` and `longest_wait` across transfers, worked out by hand and checked in all three places that compute them:
// the API's query (computeSnapshots), the KPI worker's in-memory rollup (after a load, after a pass's differences,
// and after a restart) and the analyst view kpi_waiting_now.
//
// A transfer offers the contact to its new queue at once, while the first agent wraps up; that agent's
// `contact.ended` comes later and closes the first leg, not the wait in the new queue.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { startKpiWorker, type KpiWorkerHandle } from '../../server/kpi/pipeline.ts';
import { readLiveSettings, setLiveSettings } from '../../server/kpi/settings.ts';
import { kpiRedisNames, readSnapshots } from '../../server/kpi/snapshots.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow, type EventRow } from '../../server/ingest/rows.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

// B: ten minutes ago (whole second), so the analyst view, which looks at the real clock, sees every event.
const B = Math.floor(Date.now() / 1000) * 1000 - 600_000;
/** The clock of the API's query and of the worker: B + 300 s. */
const NOW = B + 300_000;
const s = (seconds: number) => new Date(B + seconds * 1000).toISOString();

const xa = { queue: 'xa', channel: 'voice' };
const xb = { queue: 'xb', channel: 'chat' };
const handled = { talkMs: 20_000, holdMs: 0, acwMs: 5_000 };
let n = 0;
const ev = (type: string, at: number, fields: Record<string, unknown>) => ({ id: `w${++n}`, source: 'acd', type, occurredAt: s(at), ...fields });

// Every contact, at seconds after B. Before B + 70 s ("the first step"), and the rest.
const FIRST = [
  // T1: transferred from xa to xb; the first agent ends the first leg after the new offer → waits in xb since +60 s
  ev('contact.offered', 0, { contactId: 'T1', ...xa }),
  ev('contact.answered', 10, { contactId: 'T1', ...xa, agentId: 'a1' }),
  ev('contact.transferred', 60, { contactId: 'T1', ...xa, agentId: 'a1', toQueue: 'xb' }),
  ev('contact.offered', 60, { contactId: 'T1', ...xb }),
  // T2: transferred, then answered in xb → not waiting
  ev('contact.offered', 0, { contactId: 'T2', ...xa }),
  ev('contact.answered', 5, { contactId: 'T2', ...xa, agentId: 'a2' }),
  ev('contact.transferred', 30, { contactId: 'T2', ...xa, agentId: 'a2', toQueue: 'xb' }),
  ev('contact.offered', 30, { contactId: 'T2', ...xb }),
  ev('contact.ended', 45, { contactId: 'T2', ...xa, agentId: 'a2', ...handled }),
  // T4: transferred with no wrap-up: the first leg ends at the very millisecond of the new offer → waits in xb
  // since +50 s (a tie between an offer and any other end goes to the end)
  ev('contact.offered', 0, { contactId: 'T4', ...xa }),
  ev('contact.answered', 8, { contactId: 'T4', ...xa, agentId: 'a5' }),
  ev('contact.transferred', 50, { contactId: 'T4', ...xa, agentId: 'a5', toQueue: 'xb' }),
  ev('contact.offered', 50, { contactId: 'T4', ...xb }),
  ev('contact.ended', 50, { contactId: 'T4', ...xa, agentId: 'a5', ...handled, acwMs: 0 }),
  // T7: transferred, then abandoned in xb → not waiting
  ev('contact.offered', 0, { contactId: 'T7', ...xa }),
  ev('contact.answered', 10, { contactId: 'T7', ...xa, agentId: 'a6' }),
  ev('contact.transferred', 40, { contactId: 'T7', ...xa, agentId: 'a6', toQueue: 'xb' }),
  ev('contact.offered', 40, { contactId: 'T7', ...xb }),
];
const REST = [
  ev('contact.ended', 90, { contactId: 'T1', ...xa, agentId: 'a1', ...handled }),
  ev('contact.answered', 120, { contactId: 'T2', ...xb, agentId: 'a3' }),
  ev('contact.ended', 200, { contactId: 'T2', ...xb, agentId: 'a3', ...handled }),
  // T3: offered, then ended by an agent who never answered it (the ACD lost the answer) → the end ends the wait
  ev('contact.offered', 100, { contactId: 'T3', ...xb }),
  ev('contact.ended', 130, { contactId: 'T3', ...xb, agentId: 'a4', ...handled }),
  // T5: plainly waiting in xa since +240 s
  ev('contact.offered', 240, { contactId: 'T5', ...xa }),
  ev('contact.ended', 70, { contactId: 'T7', ...xa, agentId: 'a6', ...handled }),
  ev('contact.abandoned', 150, { contactId: 'T7', ...xb }),
];

// At NOW = B + 300 s the waiting contacts are T1 (xb, chat, offered +60 s), T4 (xb, chat, +50 s), T5 (xa, voice, +240 s):
//   center      3, longest 300 − 50 = 250 s (T4)
//   queue:xb    2, longest 250 s           channel:chat   the same
//   queue:xa    1, longest 300 − 240 = 60 s channel:voice  the same
const EXPECTED: Record<string, { waiting: number; longest: number }> = {
  center: { waiting: 3, longest: 250 },
  'queue:xb': { waiting: 2, longest: 250 },
  'channel:chat': { waiting: 2, longest: 250 },
  'queue:xa': { waiting: 1, longest: 60 },
  'channel:voice': { waiting: 1, longest: 60 },
};
// After the first step only (at B + 70 s): T1 (+60 s), T2 (+30 s), T4 (+50 s), T7 (+40 s) wait in xb.
//   center and queue:xb: 4, longest 70 − 30 = 40 s; nobody waits in xa.
const EXPECTED_FIRST: Record<string, { waiting: number; longest: number }> = {
  center: { waiting: 4, longest: 40 },
  'queue:xb': { waiting: 4, longest: 40 },
  'queue:xa': { waiting: 0, longest: 0 },
};

let ctx: TestContext;
let redis: Redis;
let clock = B + 70_000;

function rows(events: ReadonlyArray<Record<string, unknown>>): EventRow[] {
  return events.map((e) => {
    const v = validateEvent(e, { now: Date.now(), retentionDays: 30 });
    if (!v.ok) throw new Error(`scenario event refused: ${JSON.stringify(v.errors)}`);
    return toEventRow(v.event, B);
  });
}

const live = (values: Snapshot['values'] | undefined) => ({ waiting: values?.waiting.value ?? 0, longest: values?.longest_wait.value ?? 0 });

function figures(snaps: Snapshot[], scopes: readonly string[]): Record<string, { waiting: number; longest: number }> {
  const today = snaps.filter((x) => x.window === 'today');
  return Object.fromEntries(scopes.map((scope) => [scope, live(today.find((x) => x.scope === scope)?.values)]));
}

async function fromApi(now: number, scopes: readonly string[]) {
  return figures(await computeSnapshots(ctx.clickhouse, { now, tz: 'UTC', waitingLookbackHours: 24, scopes }), scopes);
}

async function fromWorker(worker: KpiWorkerHandle, scopes: readonly string[]) {
  await worker.recomputeNow('test');
  return figures(await readSnapshots(redis, kpiRedisNames(ctx.config.REDIS_PREFIX), 'today'), scopes);
}

async function startWorker(config: Partial<TestContext['config']> = {}): Promise<KpiWorkerHandle> {
  return startKpiWorker({ config: { ...ctx.config, ...config }, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: ctx.config.REDIS_URL!, now: () => clock, schedulers: false });
}

beforeAll(async () => {
  ctx = await createTestContext({ CENTER_TZ: 'UTC' });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
});
afterAll(async () => {
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('waiting contacts across transfers', () => {
  it('a transferred contact waits in its new queue until that queue answers it, in the API, the worker and the analyst view', async () => {
    await ctx.clickhouse.insert({ table: 'events', values: rows(FIRST), format: 'JSONEachRow' });
    let worker = await startWorker();
    try {
      const first = Object.keys(EXPECTED_FIRST);
      expect(await fromApi(clock, first)).toEqual(EXPECTED_FIRST);
      expect(await fromWorker(worker, first)).toEqual(EXPECTED_FIRST);

      // The rest arrives; the worker moves its rollup by this pass's differences.
      await ctx.clickhouse.insert({ table: 'events', values: rows(REST), format: 'JSONEachRow' });
      clock = NOW;
      const scopes = Object.keys(EXPECTED);
      expect(await fromApi(NOW, scopes)).toEqual(EXPECTED);
      expect(await fromWorker(worker, scopes)).toEqual(EXPECTED);

      // A restarted worker loads the waiting contacts from ClickHouse and agrees.
      await worker.close();
      worker = await startWorker();
      expect(await fromWorker(worker, scopes)).toEqual(EXPECTED);
    } finally {
      await worker.close();
    }

    // The analyst view: the same contacts, queues and offer times (waiting_s follows the real clock).
    const rs = await ctx.clickhouse.query({
      query: `SELECT contact_id, queue, channel, toUnixTimestamp64Milli(offered_at) AS offered_ms, waiting_s > 0 AS running
              FROM kpi_waiting_now ORDER BY contact_id`,
      format: 'JSONEachRow',
    });
    expect((await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, offered_ms: Number(r.offered_ms) }))).toEqual([
      { contact_id: 'T1', queue: 'xb', channel: 'chat', offered_ms: B + 60_000, running: 1 },
      { contact_id: 'T4', queue: 'xb', channel: 'chat', offered_ms: B + 50_000, running: 1 },
      { contact_id: 'T5', queue: 'xa', channel: 'voice', offered_ms: B + 240_000, running: 1 },
    ]);
  }, 60_000);

  it('the analyst view looks back WAITING_LOOKBACK_HOURS, as the wallboards do: the worker stores the value it applies', async () => {
    // L1: offered in xa 30 h before B, never answered (an e-mail queue's long wait)
    await ctx.clickhouse.insert({ table: 'events', values: rows([ev('contact.offered', -30 * 3600, { contactId: 'L1', ...xa })]), format: 'JSONEachRow' });
    const viewContacts = async () => {
      const rs = await ctx.clickhouse.query({ query: 'SELECT contact_id FROM kpi_waiting_now ORDER BY contact_id', format: 'JSONEachRow' });
      return (await rs.json<{ contact_id: string }>()).map((r) => r.contact_id);
    };
    clock = NOW;
    const days = await startWorker({ WAITING_LOOKBACK_HOURS: 48 });
    try {
      // 48 h: queue xa has T5 and L1 waiting, the longest since L1's offer: 300 s + 30 × 3,600 s = 108,300 s
      expect(await fromWorker(days, ['queue:xa'])).toEqual({ 'queue:xa': { waiting: 2, longest: 108_300 } });
      expect(await viewContacts()).toEqual(['L1', 'T1', 'T4', 'T5']);
      // setting the agent-state cutoff keeps the look-back (the latest row holds both)
      await setLiveSettings(ctx.clickhouse, { agentStateMaxHours: 6 });
      expect(await readLiveSettings(ctx.clickhouse)).toEqual({ agentStateMaxHours: 6, waitingLookbackHours: 48 });
      expect(await viewContacts()).toEqual(['L1', 'T1', 'T4', 'T5']);
    } finally {
      await days.close();
    }
    const hours = await startWorker({ WAITING_LOOKBACK_HOURS: 24 });
    try {
      // 24 h: L1 is not looked at; T5 alone, 60 s
      expect(await fromWorker(hours, ['queue:xa'])).toEqual({ 'queue:xa': { waiting: 1, longest: 60 } });
      expect(await viewContacts()).toEqual(['T1', 'T4', 'T5']);
    } finally {
      await hours.close();
    }
  }, 60_000);
});
