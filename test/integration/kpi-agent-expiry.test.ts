// Ghost agents: an agent whose latest agent.state is at least AGENT_STATE_MAX_HOURS (default 12) old counts as offline —
// in no agent count, not in occupancy or the staffing gap, not on the roster — in the figures computed from ClickHouse
// (the API), in the KPI worker's rollup and the roster it stores and publishes, and in the analyst view; and the worker
// notices an expiry by the clock alone. Against the embedded ClickHouse and a real redis-server.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import { startKpiWorker, type KpiWorkerHandle } from '../../server/kpi/pipeline.ts';
import { computeRoster, readRoster, rosterNames, type RosterPublication } from '../../server/kpi/roster.ts';
import { readLiveSettings, setLiveSettings } from '../../server/kpi/settings.ts';
import { kpiRedisNames, readSnapshots, type SnapshotMessage } from '../../server/kpi/snapshots.ts';
import { WINDOWS } from '../../server/kpi/windows.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import type { Config } from '../../server/config.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, uniqueName, type TestContext } from '../support/context.ts';
import { waitFor } from '../support/wait.ts';

const H = 3_600_000;
const MIN = 60_000;
// 10:00:20 UTC. The Erlang window (last 30 minutes) is [09:31, 10:01), the last hour [09:01, 10:01).
const NOW = Date.parse('2026-03-02T10:00:20.000Z');

let ctx: TestContext;
let redis: Redis;
let seq = 0;

/** Inserts events (contract-validated at `now`) into `events`, as ingest would store them. */
async function insert(now: number, events: Array<Record<string, unknown>>): Promise<void> {
  const rows = events.map((e) => {
    const v = validateEvent({ id: `x-${++seq}`, source: 'acd', ...e }, { now, retentionDays: 400 });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return toEventRow(v.event, now);
  });
  await ctx.clickhouse.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
}

const state = (agentId: string, st: string, at: number, team = 'floor', reason?: string) => ({
  type: 'agent.state',
  occurredAt: new Date(at).toISOString(),
  agentId,
  state: st,
  team,
  queue: 'billing',
  channel: 'voice',
  ...(reason ? { reason } : {}),
});

/** Every snapshot of every window, sorted alike (what the worker stored, or what ClickHouse computes). */
const byScope = (a: { scope: string }, b: { scope: string }) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0);
async function published(prefix: string): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  for (const w of WINDOWS) out.push(...(await readSnapshots(redis, kpiRedisNames(prefix), w)).sort(byScope));
  return out;
}
const byValuesJson = (a: object, b: object) => JSON.stringify(a).localeCompare(JSON.stringify(b));
async function truth(now: number): Promise<Snapshot[]> {
  const all = await computeSnapshots(ctx.clickhouse, { now, tz: 'UTC', waitingLookbackHours: 24 });
  return WINDOWS.flatMap((w) => all.filter((s) => s.window === w).sort(byScope));
}
const center = (snaps: Snapshot[]) => snaps.find((s) => s.window === 'today' && s.scope === 'center')!.values;
/** The live figures that depend on the agents. */
const agentFigures = (snaps: Snapshot[]) => {
  const v = center(snaps);
  return {
    available: v.agents_available.value,
    busy: v.agents_busy.value,
    acw: v.agents_acw.value,
    aux: v.agents_aux.value,
    occupancy: v.occupancy.value,
    required: v.required_agents.value,
    gap: v.staffing_gap.value,
  };
};
const ids = (agents: Array<{ agentId: string }>) => agents.map((a) => a.agentId).sort();
const storedRosterIds = async (prefix: string) => ids((await readRoster(redis, rosterNames(prefix)))?.agents ?? []);

/** A KPI worker on its own Redis prefix, with its own clock. */
function worker(overrides: Partial<Config>, clock: () => number, schedulers = false): Promise<KpiWorkerHandle> {
  const config = { ...ctx.config, REDIS_PREFIX: uniqueName('t'), ...overrides };
  return startKpiWorker({ config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: ctx.config.REDIS_URL!, now: clock, schedulers });
}
const prefixOf = (overrides: Partial<Config>) => overrides.REDIS_PREFIX!;

beforeAll(async () => {
  ctx = await createTestContext({ CENTER_TZ: 'UTC' }); // AGENT_STATE_MAX_HOURS: the default, 12
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  await insert(NOW, [
    state('g-under', 'available', NOW - 12 * H + 1), // 11:59:59.999 old: counts
    state('g-at', 'available', NOW - 12 * H), // exactly 12 h old: offline
    state('g-over', 'available', NOW - 30 * H), // a day and more: offline
    state('g-acw-old', 'acw', NOW - 13 * H), // offline
    state('g-fresh', 'busy', NOW - 5 * MIN),
    state('g-aux', 'aux', NOW - 1 * H, 'floor', 'lunch'),
    state('g-off', 'offline', NOW - 1 * H), // signed off: offline whatever the cutoff
    state('g-back', 'available', NOW - 20 * H), // an old state, then a fresh one: the latest counts
    state('g-back', 'busy', NOW - 2 * H),
  ]);
  // Ten calls in the last 30 minutes, each answered at once and handled in 180 s. At 10:00:20 they have run 29 min 20 s:
  // λ = 10 / 1760 s, AHT 180 s, so A = 1.0227 Erlang. Erlang C at 80 % in 20 s: N = 2 gives P(wait) = 0.3460 and
  // SL = 1 − 0.3460·e^(−0.9773·20/180) = 0.690; N = 3 gives P(wait) = 0.0961 and SL = 1 − 0.0961·e^(−1.9773·20/180)
  // = 0.923 ≥ 0.8: 3 required agents. Nobody waits.
  const calls: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 10; i++) {
    const at = NOW - 20 * MIN + i * 10_000;
    const c = { contactId: `call-${i}`, queue: 'billing', channel: 'voice' };
    calls.push(
      { type: 'contact.offered', occurredAt: new Date(at).toISOString(), ...c },
      { type: 'contact.answered', occurredAt: new Date(at + 1_000).toISOString(), ...c, agentId: 'g-fresh' },
      { type: 'contact.ended', occurredAt: new Date(at + 181_000).toISOString(), ...c, agentId: 'g-fresh', talkMs: 180_000, holdMs: 0, acwMs: 0 },
    );
  }
  await insert(NOW, calls);
});
afterAll(async () => {
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('ghost agents: a state at least AGENT_STATE_MAX_HOURS old counts as offline', () => {
  const w1 = { REDIS_PREFIX: uniqueName('t') };
  let clock1 = NOW;
  let first: KpiWorkerHandle;

  afterAll(async () => first?.close());

  it('the figures from ClickHouse count an agent just under the cutoff, and not one at or over it', async () => {
    first = await worker(w1, () => clock1);
    await first.recomputeNow('load'); // the pass that fans the events out
    expect((await readLiveSettings(ctx.clickhouse)).agentStateMaxHours).toBe(12);
    const snaps = await truth(NOW);
    // available: g-under (g-at, g-over expired); busy: g-fresh, g-back (its fresh state); acw: none (g-acw-old
    // expired); aux: g-aux. Occupancy (2 + 0) / (1 + 2 + 0) = 66.67 %; staffing gap 3 required − 3 staffed = 0.
    expect(agentFigures(snaps)).toEqual({ available: 1, busy: 2, acw: 0, aux: 1, occupancy: (2 / 3) * 100, required: 3, gap: 0 });
    const agentScope = (id: string) => snaps.find((s) => s.window === 'today' && s.scope === `agent:${id}`)?.values;
    expect(agentScope('g-under')!.agents_available.value).toBe(1);
    // an expired agent is live nowhere: no scope of its own (g-at has no measures either)
    expect(agentScope('g-at')).toBeUndefined();
    expect(ids(await computeRoster(ctx.clickhouse, NOW))).toEqual(['g-aux', 'g-back', 'g-fresh', 'g-under']);
  });

  it('the worker\'s rollup publishes the same figures and roster', async () => {
    expect(await published(prefixOf(w1))).toEqual(await truth(NOW));
    expect(await storedRosterIds(prefixOf(w1))).toEqual(['g-aux', 'g-back', 'g-fresh', 'g-under']);
  });

  it('as the clock passes, an agent reaching the cutoff leaves the figures and the roster with no new event', async () => {
    const sub = createRedis(ctx.config.REDIS_URL!, 'subscriber');
    const messages: RosterPublication[] = [];
    const snapshotMessages: SnapshotMessage[] = [];
    try {
      const snapshotsChannel = kpiRedisNames(prefixOf(w1)).snapshotsChannel;
      await sub.subscribe(rosterNames(prefixOf(w1)).channel, snapshotsChannel);
      sub.on('message', (channel: string, m: string) => {
        if (channel === snapshotsChannel) snapshotMessages.push(JSON.parse(m) as SnapshotMessage);
        else messages.push(JSON.parse(m) as RosterPublication);
      });
      clock1 = NOW + 1; // g-under is now exactly 12 h old
      await first.recomputeNow('a millisecond later');
      const expected = await truth(clock1);
      // available 0; busy 2, acw 0: occupancy 2 / 2 = 100 %; gap 3 − 2 = 1
      expect(agentFigures(expected)).toEqual({ available: 0, busy: 2, acw: 0, aux: 1, occupancy: 100, required: 3, gap: 1 });
      expect(await published(prefixOf(w1))).toEqual(expected);
      expect(await storedRosterIds(prefixOf(w1))).toEqual(['g-aux', 'g-back', 'g-fresh']);
      expect(ids(await computeRoster(ctx.clickhouse, clock1))).toEqual(['g-aux', 'g-back', 'g-fresh']);
      // the publication (same minute: not a full one) tells the hubs to remove g-under
      const m = await waitFor('the roster publication', async () => messages.find((x) => x.asOf === new Date(clock1).toISOString()));
      expect(m).toMatchObject({ full: false, changed: [], removed: ['g-under'] });
      // g-under's own scope is no longer active: a screen showing it gets its last update (every window, nobody
      // available: 1 → 0), which is what ClickHouse computes for it now; it is no longer stored
      const last = await waitFor('the snapshots publication', async () => snapshotMessages.find((x) => x.asOf === new Date(clock1).toISOString()));
      const farewell = last.snapshots.filter((x) => x.scope === 'agent:g-under');
      expect(farewell.map((x) => x.window).sort()).toEqual([...WINDOWS].sort());
      expect(farewell.map((x) => x.values.agents_available.value)).toEqual(WINDOWS.map(() => 0));
      const onDemand = await computeSnapshots(ctx.clickhouse, { now: clock1, tz: 'UTC', waitingLookbackHours: 24, scopes: ['agent:g-under'] });
      expect(farewell.map((x) => x.values).sort(byValuesJson)).toEqual(onDemand.map((x) => x.values).sort(byValuesJson));
      expect((await published(prefixOf(w1))).some((x) => x.scope === 'agent:g-under')).toBe(false);
    } finally {
      sub.disconnect();
    }
    await first.close();
  });

  it('the worker\'s tick recomputes when an agent\'s state expires within the minute', async () => {
    // 10:10:10: no new event, nobody waiting, the minute not over; g-tick's state turns 12 h old at 10:10:30.
    const t0 = NOW + 9 * MIN + 50_000;
    await insert(t0, [state('g-tick', 'available', t0 - 12 * H + 20_000, 'tick')]);
    let clock = t0;
    const overrides = { REDIS_PREFIX: uniqueName('t') };
    const sub = createRedis(ctx.config.REDIS_URL!, 'subscriber');
    const messages: RosterPublication[] = [];
    await sub.subscribe(rosterNames(prefixOf(overrides)).channel);
    sub.on('message', (_channel: string, m: string) => messages.push(JSON.parse(m) as RosterPublication));
    const ticking = await worker(overrides, () => clock, true);
    try {
      await waitFor('g-tick on the stored roster', async () => ((await storedRosterIds(prefixOf(overrides))).includes('g-tick') ? true : undefined));
      clock = t0 + 30_000; // 10:10:40, the same minute: only the expiry can make the tick recompute
      await waitFor('g-tick off the stored roster', async () => ((await storedRosterIds(prefixOf(overrides))).includes('g-tick') ? undefined : true));
      const m = messages.find((x) => x.removed.includes('g-tick'));
      expect(m).toMatchObject({ asOf: new Date(clock).toISOString(), full: false, removed: ['g-tick'] });
      expect(await published(prefixOf(overrides))).toEqual(await truth(clock));
      expect(center(await truth(clock)).agents_available.value).toBe(0); // g-under, g-at, g-over, g-tick: all expired
    } finally {
      await ticking.close();
      sub.disconnect();
    }
  });

  it('AGENT_STATE_MAX_HOURS=0 never expires a state: the worker stores it, and every path counts every agent', async () => {
    const overrides = { REDIS_PREFIX: uniqueName('t'), AGENT_STATE_MAX_HOURS: 0 };
    const never = await worker(overrides, () => NOW);
    try {
      await never.recomputeNow('never');
      expect((await readLiveSettings(ctx.clickhouse)).agentStateMaxHours).toBe(0);
      const expected = await truth(NOW);
      // available g-under, g-at, g-over and g-tick of the previous test (4); busy g-fresh, g-back (2); acw g-acw-old (1);
      // aux g-aux (1). Occupancy (2 + 1) / (4 + 2 + 1) = 42.86 %; gap 3 − 7 = −4.
      expect(agentFigures(expected)).toEqual({ available: 4, busy: 2, acw: 1, aux: 1, occupancy: (3 / 7) * 100, required: 3, gap: -4 });
      expect(await published(prefixOf(overrides))).toEqual(expected);
      const all = ['g-acw-old', 'g-at', 'g-aux', 'g-back', 'g-fresh', 'g-over', 'g-tick', 'g-under'];
      expect(await storedRosterIds(prefixOf(overrides))).toEqual(all);
      expect(ids(await computeRoster(ctx.clickhouse, NOW))).toEqual(all);
    } finally {
      await never.close();
    }
  });

  it('the analyst view marks an expired agent offline, with the cutoff the worker stored', async () => {
    // The view reads the real clock: states 10 minutes either side of the 12 h cutoff, in a team of their own.
    const now = Date.now();
    await insert(now, [
      state('v-under', 'available', now - 12 * H + 10 * MIN, 'view'),
      state('v-over', 'busy', now - 12 * H - 10 * MIN, 'view'),
      state('v-off', 'offline', now - 13 * H, 'view'),
    ]);
    await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 });
    const view = async () => {
      const rs = await ctx.clickhouse.query({
        query: `SELECT agent_id, state, reported_state, expired FROM kpi_agent_states_now WHERE team = 'view' ORDER BY agent_id`,
        format: 'JSONEachRow',
      });
      return (await rs.json<{ agent_id: string; state: string; reported_state: string; expired: number }>()).map((r) => [r.agent_id, r.state, r.reported_state, Number(r.expired)]);
    };
    await setLiveSettings(ctx.clickhouse, { agentStateMaxHours: 12 });
    expect(await view()).toEqual([
      ['v-off', 'offline', 'offline', 1],
      ['v-over', 'offline', 'busy', 1],
      ['v-under', 'available', 'available', 0],
    ]);
    // the same as the figures and the roster computed for the same moment
    const team = (await computeSnapshots(ctx.clickhouse, { now, tz: 'UTC', waitingLookbackHours: 24, scopes: ['team:view'] }))[0]!.values;
    expect([team.agents_available.value, team.agents_busy.value]).toEqual([1, 0]);
    expect(ids((await computeRoster(ctx.clickhouse, now)).filter((a) => a.team === 'view'))).toEqual(['v-under']);
    // 0 = never: the view says what the ACD said
    await setLiveSettings(ctx.clickhouse, { agentStateMaxHours: 0 });
    expect(await view()).toEqual([
      ['v-off', 'offline', 'offline', 0],
      ['v-over', 'busy', 'busy', 0],
      ['v-under', 'available', 'available', 0],
    ]);
  });
});
