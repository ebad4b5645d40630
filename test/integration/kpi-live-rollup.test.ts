// The KPI worker's in-memory rollup (server/kpi/live-rollup.ts) against ClickHouse: a simulated center's traffic,
// late events included, is stored in small steps across local midnight; after every step the worker's recomputation
// (its rollup moved by each pass's differences) must publish exactly the snapshots and the series that the same
// computation straight from ClickHouse gives at the same instant — every KPI of every window and scope — and the
// agents' roster that kpi_agent_state gives.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCenterHours } from '../../server/center-hours.ts';
import { computeSeries, computeSnapshots, slSettings, type Series, type Snapshot } from '../../server/kpi/compute.ts';
import { LiveRollup } from '../../server/kpi/live-rollup.ts';
import { startKpiWorker, type KpiWorkerHandle, type RecomputeResult } from '../../server/kpi/pipeline.ts';
import { rebuildMeasures } from '../../server/kpi/materialize.ts';
import { computeRoster, readRoster, rosterNames } from '../../server/kpi/roster.ts';
import { setQueueSettings } from '../../server/kpi/settings.ts';
import { readSeries } from '../../server/kpi/series-store.ts';
import { kpiRedisNames, readSnapshots } from '../../server/kpi/snapshots.ts';
import { WINDOWS } from '../../server/kpi/windows.ts';
import type { RosterAgent } from '../../server/live/protocol.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { runSimulation, type Emission } from '../../server/simulator/index.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

const TZ = 'Europe/Istanbul'; // UTC+3: local midnight is 21:00 UTC
const START = Date.parse('2026-06-01T19:40:00.000Z'); // 22:40 local
const DURATION_MS = 2.5 * 3_600_000; // to 01:10 local, the next day
const STEP_MS = 9 * 60_000;
const LOOKBACK_HOURS = 24;

let ctx: TestContext;
let redis: Redis;
let worker: KpiWorkerHandle;
let clock = START;
const names = () => kpiRedisNames(ctx.config.REDIS_PREFIX);

const byScope = (a: { scope: string }, b: { scope: string }) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0);

async function published(): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  for (const w of WINDOWS) out.push(...(await readSnapshots(redis, names(), w)).sort(byScope));
  return out;
}

async function truth(now: number): Promise<Snapshot[]> {
  const all = await computeSnapshots(ctx.clickhouse, { now, tz: TZ, waitingLookbackHours: LOOKBACK_HOURS });
  return WINDOWS.flatMap((w) => all.filter((s) => s.window === w).sort(byScope));
}

/** The roster the worker stored, and the one ClickHouse gives (kpi_agent_state) at the same instant, both by agent. */
async function rosters(): Promise<[RosterAgent[], RosterAgent[]]> {
  const byId = (a: RosterAgent, b: RosterAgent) => (a.agentId < b.agentId ? -1 : 1);
  const stored = (await readRoster(redis, rosterNames(ctx.config.REDIS_PREFIX)))?.agents ?? [];
  return [stored.sort(byId), (await computeRoster(ctx.clickhouse, clock)).sort(byId)];
}

/** Stores events as ingest would have at `clock`. */
async function insert(events: Array<Record<string, unknown>>): Promise<void> {
  const rows = events.map((e) => {
    const v = validateEvent(e, { now: clock, retentionDays: 400 });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return toEventRow(v.event, clock);
  });
  await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
}

async function publishedSeries(): Promise<Series[]> {
  return (await readSeries(redis, names())).sort(byScope);
}

/** The events an integration would have had acknowledged by `until` (duplicates are ingest's to drop, so dropped). */
function* steps(emissions: readonly Emission[]): Generator<{ until: number; rows: ReturnType<typeof toEventRow>[] }> {
  const sorted = emissions.filter((e) => !e.duplicate).sort((a, b) => a.sendAt - b.sendAt);
  let i = 0;
  for (let until = START + STEP_MS; i < sorted.length; until += STEP_MS) {
    const rows = [];
    for (; i < sorted.length && sorted[i]!.sendAt < until; i++) {
      const v = validateEvent(sorted[i]!.event, { now: until, retentionDays: 400 });
      if (!v.ok) throw new Error(`simulated event refused: ${JSON.stringify(v.errors)}`);
      rows.push(toEventRow(v.event, sorted[i]!.sendAt));
    }
    yield { until, rows };
  }
}

beforeAll(async () => {
  ctx = await createTestContext({ CENTER_TZ: TZ, WAITING_LOOKBACK_HOURS: String(LOOKBACK_HOURS) });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  worker = await startKpiWorker({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: ctx.config.REDIS_URL!, now: () => clock, schedulers: false });
});
afterAll(async () => {
  await worker?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('the KPI worker\'s in-memory rollup', () => {
  it('publishes, pass after pass, exactly what ClickHouse computes (across midnight, late events, a change of thresholds)', async () => {
    const { emissions } = runSimulation({
      seed: 'live-rollup',
      agents: 16,
      load: 1.1,
      startAt: START,
      durationMs: DURATION_MS,
      curve: 'flat',
      timeZone: TZ,
      duplicateRate: 0.02,
      lateRate: 0.05,
    });
    expect(emissions.length).toBeGreaterThan(1000);
    const results: RecomputeResult[] = [];
    let n = 0;
    let reasons = 0;
    for (const { until, rows } of steps(emissions)) {
      if (rows.length > 0) await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
      // Half-way, a supervisor tightens the billing queue's thresholds: every figure of that queue, history included, changes.
      if (++n === 8) await setQueueSettings(ctx.clickhouse, 'billing', { slThresholdS: 10, slTargetPct: 90, shortAbandonS: 8 });
      clock = until + 17_000;
      results.push(await worker.recomputeNow(`step ${n}`));
      const expected = await truth(clock);
      expect(expected.length).toBeGreaterThan(0);
      expect(await published(), `snapshots after step ${n} (${new Date(clock).toISOString()})`).toEqual(expected);
      const series = (await computeSeries(ctx.clickhouse, { now: clock, tz: TZ })).sort(byScope);
      expect(await publishedSeries(), `series after step ${n}`).toEqual(series);
      const [stored, fromClickHouse] = await rosters();
      expect(stored, `roster after step ${n}`).toEqual(fromClickHouse);
      reasons += stored.filter((a) => a.reason !== '').length;
    }
    // the simulated agents took breaks, with their reasons, while the roster was compared
    expect(reasons).toBeGreaterThan(0);
    // The comparison covered the difference path, not only loads: most passes moved the rollup by their changes.
    const moved = results.filter((r) => !r.loaded).length;
    expect(moved).toBeGreaterThanOrEqual(results.length - 3);
    // …and the threshold change made the worker load the rollup again (step 8), and so did the new local day (step 9,
    // at 21:08:17 UTC = 00:08:17 local: 9 × 9 min + 17 s after 22:40 local).
    expect(results[7]!.loaded).toBe(true);
    expect(results[8]!.loaded).toBe(true);
    // no other load, but perhaps the first step's (unless the worker's own start-up recomputation loaded it before)
    expect(results.slice(1).filter((r) => r.loaded).length).toBe(2);
    // The run crossed local midnight: today restarted (fewer offers today at the end than at 23:59).
    expect(n).toBeGreaterThan(15);
  }, 120_000);

  it('follows the clock without new events: waits grow, and an answer sent ahead of time ends a wait when it is due', async () => {
    const center = (snaps: Snapshot[]) => snaps.find((s) => s.window === 'today' && s.scope === 'center')!.values;
    const waiting = center(await truth(clock)).waiting.value!;
    // A contact offered now, whose answer the ACD stamped two minutes ahead (the contract accepts up to five).
    const at = (ms: number) => new Date(ms).toISOString();
    const offered = { id: 'ahead-1', source: 'acd', type: 'contact.offered', occurredAt: at(clock), contactId: 'ahead', queue: 'ahead', channel: 'chat' };
    const answered = { id: 'ahead-2', source: 'acd', type: 'contact.answered', occurredAt: at(clock + 120_000), contactId: 'ahead', agentId: 'a-ahead' };
    const rows = [offered, answered].map((e) => {
      const v = validateEvent(e, { now: clock, retentionDays: 400 });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      return toEventRow(v.event, clock);
    });
    await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
    const seen: number[] = [];
    for (const dt of [1_000, 45_000, 90_000, 180_000]) { // at +1 s, +46 s, +136 s, +316 s
      clock += dt;
      await worker.recomputeNow('clock only');
      const expected = await truth(clock);
      expect(await published()).toEqual(expected);
      seen.push(center(expected).waiting.value!);
    }
    // waiting until the answer's time came (+120 s): at +1 s and +46 s, not at +136 s and +316 s
    expect(seen).toEqual([waiting + 1, waiting + 1, waiting, waiting]);
  }, 60_000);

  it('decides agents\' states at the same millisecond as kpi_agent_state does: by (time, source, id)', async () => {
    const t = clock - 30_000;
    const state = async (id: string, st: string) => {
      const v = validateEvent({ id, source: 'acd', type: 'agent.state', occurredAt: new Date(t).toISOString(), agentId: 'a-tie', state: st, queue: 'tie', team: 'tie' }, { now: clock, retentionDays: 400 });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      await ctx.clickhouse.insert({ table: 'events', values: [toEventRow(v.event, clock)], format: 'JSONEachRow' });
      const r = await worker.recomputeNow(id);
      expect(await published(), `after ${id}`).toEqual(await truth(clock));
      const [stored, fromClickHouse] = await rosters();
      expect(stored, `roster after ${id}`).toEqual(fromClickHouse);
      return r;
    };
    const agentState = async () => (await truth(clock)).find((s) => s.window === 'today' && s.scope === 'agent:a-tie')!.values;
    await state('tie-b', 'busy');
    expect((await agentState()).agents_busy.value).toBe(1);
    await state('tie-a', 'aux'); // same millisecond, smaller id: busy stays
    expect((await agentState()).agents_busy.value).toBe(1);
    // A reload knows the state without its event's id; a tie then is looked up in kpi_agent_state.
    await setQueueSettings(ctx.clickhouse, 'tie', { slThresholdS: 30, slTargetPct: 80, shortAbandonS: 5 });
    expect((await worker.recomputeNow('reload')).loaded).toBe(true);
    const r = await state('tie-c', 'acw'); // same millisecond, greater id: acw wins
    expect(r.loaded).toBe(false);
    expect((await agentState()).agents_acw.value).toBe(1);
  }, 60_000);

  it("corrects FCR when a customer's earlier interaction arrives late, though the customer is named only on the contact's answer", async () => {
    const at = (ms: number) => new Date(clock - ms).toISOString();
    const fcrOf = (snaps: Snapshot[]) => snaps.find((s) => s.window === 'today' && s.scope === 'queue:fcr-late')?.values.fcr;
    const pass = async (why: string) => {
      await worker.recomputeNow(why);
      const expected = await truth(clock);
      expect(await published(), `after ${why}`).toEqual(expected);
      return fcrOf(expected);
    };
    // Y: answered and resolved (an outbound call, say: no offer); its customer is named on the answer only
    await insert([
      { id: 'y-1', source: 'acd', type: 'contact.answered', occurredAt: at(20 * 60_000), contactId: 'late-y', agentId: 'a-y', queue: 'fcr-late', customerId: 'cu-late' },
      { id: 'y-2', source: 'acd', type: 'contact.ended', occurredAt: at(15 * 60_000), contactId: 'late-y', agentId: 'a-y', talkMs: 240_000, holdMs: 0, acwMs: 60_000, resolved: true },
    ]);
    // no other interaction of cu-late known: resolved on first contact, 1 of 1 = 100 %
    expect(await pass('Y')).toEqual({ value: 100, n: 1 });
    // X, the same customer's call 40 minutes before Y, arrives late: Y was not a first contact, 0 of 1 = 0 %
    await insert([{ id: 'x-1', source: 'acd', type: 'contact.offered', occurredAt: at(60 * 60_000), contactId: 'late-x', queue: 'fcr-x', channel: 'voice', customerId: 'cu-late' }]);
    expect(await pass('late X')).toEqual({ value: 0, n: 1 });
    // and a later event of Y keeps both in step
    await insert([{ id: 'y-3', source: 'ivr', type: 'survey.response', occurredAt: at(10 * 60_000), contactId: 'late-y', metric: 'csat', score: 5 }]);
    expect(await pass('survey of Y')).toEqual({ value: 0, n: 1 });
    // The earlier interactions FCR looks back on are offers and ticket creations (docs/kpis.md): another customer's
    // outbound call (answered, never offered) before an offered call of theirs leaves that call a first contact.
    await insert([
      { id: 'o-1', source: 'acd', type: 'contact.answered', occurredAt: at(9 * 60_000), contactId: 'out-o', agentId: 'a-o', queue: 'fcr-out', customerId: 'cu-out' },
      { id: 'o-2', source: 'acd', type: 'contact.ended', occurredAt: at(8 * 60_000), contactId: 'out-o', agentId: 'a-o', talkMs: 60_000, holdMs: 0, acwMs: 0 },
    ]);
    await pass('an outbound call'); // fanned out: its answer is a row of cu-out's contacts
    await insert([
      { id: 'w-1', source: 'acd', type: 'contact.offered', occurredAt: at(6 * 60_000), contactId: 'in-w', queue: 'fcr-in', channel: 'voice', customerId: 'cu-out' },
      { id: 'w-2', source: 'acd', type: 'contact.answered', occurredAt: at(5 * 60_000), contactId: 'in-w', agentId: 'a-w' },
      { id: 'w-3', source: 'acd', type: 'contact.ended', occurredAt: at(4 * 60_000), contactId: 'in-w', agentId: 'a-w', talkMs: 50_000, holdMs: 0, acwMs: 10_000, resolved: true },
    ]);
    await pass('then an inbound one');
    // W resolved, and cu-out had no offer or ticket before it: 1 of 1 = 100 %
    const fcrIn = async () => (await truth(clock)).find((s) => s.window === 'today' && s.scope === 'queue:fcr-in')?.values.fcr;
    expect(await fcrIn()).toEqual({ value: 100, n: 1 });
    // a rebuild of the measures from the stored events (its own way of reading the interactions) gives the same
    await rebuildMeasures(ctx.clickhouse, { lookbackDays: ctx.config.FCR_LOOKBACK_DAYS });
    expect(fcrOf(await truth(clock))).toEqual({ value: 0, n: 1 });
    expect(await fcrIn()).toEqual({ value: 100, n: 1 });
  }, 60_000);

  it('a late earlier answer turns a stored answer into one that counts in nothing: ClickHouse and the worker agree', async () => {
    const at = (ms: number) => new Date(clock - ms).toISOString();
    const figures = (snaps: Snapshot[]) => {
      const v = snaps.find((s) => s.window === 'today' && s.scope === 'queue:flip')!.values;
      return { answered: v.answered.value, asa: v.asa };
    };
    const pass = async (why: string) => {
      await worker.recomputeNow(why);
      const expected = await truth(clock);
      expect(await published(), `after ${why}`).toEqual(expected);
      return figures(expected);
    };
    // offered 10 min ago; a2's answer (5 min ago) arrives first: answered once, after 300 s
    await insert([
      { id: 'f-1', source: 'acd', type: 'contact.offered', occurredAt: at(10 * 60_000), contactId: 'flip', queue: 'flip', channel: 'voice' },
      { id: 'f-3', source: 'acd', type: 'contact.answered', occurredAt: at(5 * 60_000), contactId: 'flip', agentId: 'a2' },
    ]);
    expect(await pass('a2 answers')).toEqual({ answered: 1, asa: { value: 300, n: 1 } });
    // a1's answer, 9 min ago, arrives late: a1 answered the offer (after 60 s), a2's was a transfer's second answer.
    // Its stored row must stop counting (it is replaced, not left behind): still one answer, now after 60 s.
    await insert([{ id: 'f-2', source: 'acd', type: 'contact.answered', occurredAt: at(9 * 60_000), contactId: 'flip', agentId: 'a1' }]);
    expect(await pass('a1 answered first')).toEqual({ answered: 1, asa: { value: 60, n: 1 } });
    const kinds = await ctx.clickhouse.query({ query: "SELECT event_id, kind FROM kpi_measures_v WHERE contact_id = 'flip' ORDER BY event_id", format: 'JSONCompactEachRow' });
    expect(await kinds.json()).toEqual([['f-1', 'offer'], ['f-2', 'answer'], ['f-3', 'other_answer']]);
    await rebuildMeasures(ctx.clickhouse, { lookbackDays: ctx.config.FCR_LOOKBACK_DAYS });
    expect(figures(await truth(clock))).toEqual({ answered: 1, asa: { value: 60, n: 1 } });
  }, 60_000);

  it('with CENTER_HOURS, counts Erlang C\'s arrivals from an opening less than 30 minutes ago, as ClickHouse does', async () => {
    // Open since 12 minutes ago (on the center's clock): both the rollup and the computation from ClickHouse take the
    // offers of [opening, now) over the time since the opening, not those of the last 30 minutes.
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(clock - 12 * 60_000));
    const hours = { periods: parseCenterHours(`daily ${local}-24:00`), closedDates: new Set<string>() };
    const rollup = await LiveRollup.load(ctx.clickhouse, clock, { tz: TZ, waitingLookbackHours: LOOKBACK_HOURS, agentStateMaxHours: ctx.config.AGENT_STATE_MAX_HOURS, hours }, await slSettings(ctx.clickhouse));
    const fromClickHouse = await computeSnapshots(ctx.clickhouse, { now: clock, tz: TZ, waitingLookbackHours: LOOKBACK_HOURS, hours });
    expect(rollup.snapshots(clock)).toEqual(fromClickHouse);
    const required = (snaps: Snapshot[]) => snaps.find((x) => x.window === 'today' && x.scope === 'center')!.values.required_agents;
    const roundTheClock = required(await truth(clock));
    const sinceOpening = required(fromClickHouse);
    // the offers of the 18 minutes before the opening no longer count
    expect(roundTheClock.n).toBeGreaterThan(sinceOpening.n);
  }, 60_000);

  it("a contact's customer is the first one its events name: an offer without customerId is still that customer's interaction", async () => {
    const min = (m: number) => new Date(clock - m * 60_000).toISOString();
    const call = (id: string, queue: string, offeredMin: number, customer: { onOffer?: string; onAnswer?: string }) => [
      { id: `${id}-1`, source: 'acd', type: 'contact.offered', occurredAt: min(offeredMin), contactId: id, queue, channel: 'voice', ...(customer.onOffer ? { customerId: customer.onOffer } : {}) },
      { id: `${id}-2`, source: 'acd', type: 'contact.answered', occurredAt: min(offeredMin - 1), contactId: id, agentId: `a-${id}`, ...(customer.onAnswer ? { customerId: customer.onAnswer } : {}) },
      { id: `${id}-3`, source: 'acd', type: 'contact.ended', occurredAt: min(offeredMin - 2), contactId: id, agentId: `a-${id}`, talkMs: 60_000, holdMs: 0, acwMs: 0, resolved: true },
    ];
    const fcr = async (queue: string) => (await truth(clock)).find((s) => s.window === 'today' && s.scope === `queue:${queue}`)?.values.fcr;
    const pass = async (why: string) => {
      await worker.recomputeNow(why);
      expect(await published(), `after ${why}`).toEqual(await truth(clock));
    };

    // P, then Q, both offered without a customer, both naming cu-named on the answer: P (began 50 min ago) is
    // cu-named's interaction 20 minutes before Q began, so Q is not a first contact. P 1 of 1 = 100 %, Q 0 of 1 = 0 %.
    await insert(call('named-p', 'fcr-p', 50, { onAnswer: 'cu-named' }));
    await pass('P');
    await insert(call('named-q', 'fcr-q', 30, { onAnswer: 'cu-named' }));
    await pass('Q');
    expect(await fcr('fcr-p')).toEqual({ value: 100, n: 1 });
    expect(await fcr('fcr-q')).toEqual({ value: 0, n: 1 });

    // R is answered (customer cu-r named) and resolved, with no offer known; Z, offered 8 minutes later naming cu-r, is
    // then a first contact: 1 of 1 = 100 %. R's offer arrives late, without a customer: R is an interaction of cu-r from
    // its offer (began 22 min ago, before Z's 12), and Z is no longer a first contact: 0 of 1 = 0 %.
    const [rOffer, ...rRest] = call('late-r', 'fcr-r', 22, { onAnswer: 'cu-r' });
    await insert(rRest);
    await insert(call('late-z', 'fcr-z', 12, { onOffer: 'cu-r' }));
    await pass('R answered, Z');
    expect(await fcr('fcr-z')).toEqual({ value: 100, n: 1 });
    await insert([rOffer!]);
    await pass("R's late offer");
    expect(await fcr('fcr-z')).toEqual({ value: 0, n: 1 });

    // K1 (offered 14 min ago naming cu-k) makes K2 (offered 6 min ago naming cu-k) a repeat: 0 of 1 = 0 %. Then an
    // earlier event of K1 arrives, naming cu-other: K1's customer is cu-other, and K2 is cu-k's first contact again,
    // 1 of 1 = 100 %.
    await insert(call('switch-k1', 'fcr-k1', 14, { onOffer: 'cu-k' }));
    await insert(call('switch-k2', 'fcr-k2', 6, { onOffer: 'cu-k' }));
    await pass('K1, K2');
    expect(await fcr('fcr-k2')).toEqual({ value: 0, n: 1 });
    await insert([{ id: 'switch-k1-0', source: 'ivr', type: 'ivr.ended', occurredAt: min(15), contactId: 'switch-k1', outcome: 'transferred', customerId: 'cu-other' }]);
    await pass("K1's earlier event");
    expect(await fcr('fcr-k2')).toEqual({ value: 100, n: 1 });

    // a rebuild of the measures from the stored events (its own way of reading the interactions) gives the same
    await rebuildMeasures(ctx.clickhouse, { lookbackDays: ctx.config.FCR_LOOKBACK_DAYS });
    expect([await fcr('fcr-p'), await fcr('fcr-q'), await fcr('fcr-z'), await fcr('fcr-k2')]).toEqual([
      { value: 100, n: 1 }, { value: 0, n: 1 }, { value: 0, n: 1 }, { value: 100, n: 1 },
    ]);
  }, 60_000);

  it("a contact named days after it began is found when an earlier contact becomes its customer's interaction", async () => {
    const at = (ms: number) => new Date(clock - ms).toISOString();
    const H = 3_600_000;
    const fcrC = async () => (await truth(clock)).find((s) => s.window === 'today' && s.scope === 'queue:fcr-c')?.values.fcr;
    const pass = async (why: string) => {
      await worker.recomputeNow(why);
      expect(await published(), `after ${why}`).toEqual(await truth(clock));
    };
    // X: a call offered 7 days 2 hours ago, no customer named. C: a ticket created 3 h ago without a customer, named
    // cu-c on its reply 1 h ago, solved 50 min ago: no other interaction of cu-c, so 1 of 1 = 100 %.
    await insert([
      { id: 'lx-1', source: 'acd', type: 'contact.offered', occurredAt: at(7 * 24 * H + 2 * H), contactId: 'long-x', queue: 'fcr-x2', channel: 'voice' },
      { id: 'lc-1', source: 'crm', type: 'ticket.created', occurredAt: at(3 * H), contactId: 'long-c', queue: 'fcr-c', channel: 'email' },
      { id: 'lc-2', source: 'crm', type: 'ticket.replied', occurredAt: at(H), contactId: 'long-c', agentId: 'a-c', customerId: 'cu-c' },
      { id: 'lc-3', source: 'crm', type: 'ticket.solved', occurredAt: at(50 * 60_000), contactId: 'long-c', agentId: 'a-c' },
    ]);
    await pass('X, C');
    expect(await fcrC()).toEqual({ value: 100, n: 1 });
    // X's survey names cu-c: X is cu-c's interaction from 7 d 2 h ago, and C began 7 d 2 h − 3 h = 6 d 23 h after it,
    // within the 7-day look-back, so C is not a first contact: 0 of 1 = 0 %. (C's only event naming cu-c is 1 h ago,
    // 7 d 1 h after X began: past the look-back, so C must be found by when it began.)
    await insert([{ id: 'lx-2', source: 'ivr', type: 'survey.response', occurredAt: at(5 * 60_000), contactId: 'long-x', metric: 'csat', score: 4, customerId: 'cu-c' }]);
    await pass("X's survey");
    expect(await fcrC()).toEqual({ value: 0, n: 1 });
  }, 60_000);

  it('a pass whose writes fail is done again by the next one, and the figures converge', async () => {
    const offer = (id: string) => {
      const v = validateEvent({ id, source: 'acd', type: 'contact.offered', occurredAt: new Date(clock - 5_000).toISOString(), contactId: `c-${id}`, queue: 'fail', channel: 'voice' }, { now: clock, retentionDays: 400 });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      return toEventRow(v.event, clock);
    };
    const offeredInFail = async () => (await truth(clock)).find((s) => s.window === 'today' && s.scope === 'queue:fail')?.values.offered.value ?? 0;
    await ctx.clickhouse.insert({ table: 'events', values: [offer('f1')], format: 'JSONEachRow' });
    await worker.recomputeNow('before');
    expect(await offeredInFail()).toBe(1);
    // The measures table goes away for a moment: the next pass computes and publishes, but cannot write its measures.
    await ctx.clickhouse.insert({ table: 'events', values: [offer('f2'), offer('f3')], format: 'JSONEachRow' });
    await ctx.clickhouse.command({ query: 'RENAME TABLE kpi_measures TO kpi_measures_away' });
    try {
      await expect(worker.recomputeNow('writes fail')).rejects.toThrow(/kpi_measures/);
    } finally {
      await ctx.clickhouse.command({ query: 'RENAME TABLE kpi_measures_away TO kpi_measures' });
    }
    expect(await offeredInFail()).toBe(1); // ClickHouse has not got them
    // The next recomputation does that pass again (and reloads the rollup): every figure equals ClickHouse's.
    const r = await worker.recomputeNow('after');
    expect(r.loaded).toBe(true);
    expect(await offeredInFail()).toBe(3);
    expect(await published()).toEqual(await truth(clock));
  }, 60_000);
});
