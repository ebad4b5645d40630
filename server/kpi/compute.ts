// Snapshot computation: every KPI of the catalog, per window and scope, from the rollups in ClickHouse.
//   windowed                         ← kpi_measures_v (offers, IVR ends and completions in the window, thresholds applied)
//   live                             ← events (waiting, bounded by WAITING_LOOKBACK_HOURS) and kpi_agent_state
//                                      (states older than the cutoff in kpi_agent_settings count as offline)
// The same formulas, written in SQL, are the analyst views (sql/005_analyst_views.sql); a parity test holds them equal.
// `now` is always passed in.
import type { ClickHouseClient } from '@clickhouse/client';
import { ROSTER_STATES } from '../live/protocol.ts';
import { KPI_CATALOG, type KpiKey, type KpiValue } from './catalog.ts';
import { requiredAgents } from './erlang-c.ts';
import { listQueueSettings } from './settings.ts';
import { centerOpen, type CenterHours } from '../center-hours.ts';
import { erlangRange, INTERVAL_MS, todayIntervals, windowRange, WINDOWS, type Slice, type WindowName } from './windows.ts';

export interface Snapshot {
  window: WindowName;
  scope: string;
  /** ISO time the figures are computed for. */
  asOf: string;
  values: Record<KpiKey, KpiValue>;
}

export interface SeriesPoint {
  /** Interval start and end (ISO); the last interval of the day is still open and ends at the current minute's end. */
  start: string;
  end: string;
  values: Partial<Record<KpiKey, KpiValue>>;
}

export interface Series {
  window: 'today';
  scope: string;
  asOf: string;
  intervalMinutes: 15;
  points: SeriesPoint[];
}

export interface ComputeOptions {
  now: number;
  tz: string;
  /** Scopes to compute; omitted or empty: every active scope (those with data today, or live, plus `center`). */
  scopes?: readonly string[];
  waitingLookbackHours: number;
  /** CENTER_HOURS: Erlang C's arrivals are counted from the opening when the center opened less than 30 minutes ago. */
  hours?: CenterHours | null;
}

/** The scopes a row counts in, from its queue/team/channel/agent fields (SQL; '' where a field is empty: filter it out). */
export function scopesExpr(queue = 'queue', team = 'team', channel = 'channel', agent = 'agent_id'): string {
  return `['center',
    if(${queue} = '', '', concat('queue:', ${queue})),
    if(${team} = '', '', concat('team:', ${team})),
    if(${channel} = '', '', concat('channel:', ${channel})),
    if(${agent} = '', '', concat('agent:', ${agent}))]`;
}

const SCOPE_FILTER = `scope != '' AND (empty({scopes:Array(String)}) OR has({scopes:Array(String)}, scope))`;

/**
 * The additive sums behind the windowed KPIs: [field, value, condition] over kpi_measures_v (value counted where the
 * condition holds). The same sums are the columns of the analyst view kpi_facts_minute (sql/008_fanout.sql).
 */
const SUMS = [
  ['offered', 'is_offer', '1'],
  ['ivr_n', 'is_ivr', '1'],
  ['ivr_contained', 'is_ivr_contained', '1'],
  ['answered', 'is_answer', '1'],
  ['answers_in_sl', 'is_answer_in_sl', '1'],
  ['wait_n', 'has_wait', '1'],
  ['wait_ms_sum', 'ifNull(wait_ms, 0)', 'has_wait = 1'],
  ['abandoned', 'is_abandoned', '1'],
  ['short_abandoned', 'is_short_abandoned', '1'],
  ['ended', 'is_end', '1'],
  ['handle_ms', 'ifNull(handle_ms, 0)', 'is_end = 1'],
  ['frt_n', 'is_first_reply', '1'],
  ['frt_ms_sum', 'ifNull(frt_ms, 0)', 'is_first_reply = 1'],
  ['resolutions', 'is_resolution', '1'],
  ['fcr_yes', 'fcr', 'is_resolution = 1'],
  ['csat_n', 'is_csat', '1'],
  ['csat_top2', 'is_csat_top2', '1'],
  ['ces_n', 'is_ces', '1'],
  ['ces_points', 'ces_points', '1'],
  ['nps_n', 'is_nps', '1'],
  ['nps_promoters', 'is_nps_promoter', '1'],
  ['nps_detractors', 'is_nps_detractor', '1'],
  ['fcrs_n', 'is_fcr_survey', '1'],
  ['fcrs_yes', 'is_fcr_survey_yes', '1'],
] as const;

export const MEASURE_FIELDS = SUMS.map(([f]) => f);
export type SumField = (typeof MEASURE_FIELDS)[number];

/** The sums, and the sorted first-reply times, as columns. */
const SUM_COLUMNS = [
  ...SUMS.map(([f, v, c]) => (c === '1' ? `sum(${v}) AS ${f}` : `sumIf(${v}, ${c}) AS ${f}`)),
  'arraySort(groupArrayIf(ifNull(frt_ms, 0), is_first_reply = 1)) AS frt_sorted',
].join(',\n    ');

/** The measures of [from, to), once per scope they count in (only the columns the sums read). */
const MEASURES_BY_SCOPE = `
    SELECT scope, toUnixTimestamp64Milli(at) AS ms, is_offer, is_ivr, is_ivr_contained, is_answer, is_answer_in_sl, has_wait,
        wait_ms, is_abandoned, is_short_abandoned, is_end, handle_ms, is_first_reply, frt_ms, is_resolution, fcr, is_csat,
        is_csat_top2, is_ces, ces_points, is_nps, is_nps_promoter, is_nps_detractor, is_fcr_survey, is_fcr_survey_yes
    FROM kpi_measures_v
    ARRAY JOIN ${scopesExpr()} AS scope
    WHERE at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
      AND ${SCOPE_FILTER}`;

/**
 * Sums per scope and band, for windows that all end at {to}: the bands are the stretches between the windows' starts
 * ({b0} < {b1} < …), so each row falls in one band and a window is the sum of the bands from its start on. Each row is
 * read once, with one aggregate per sum (the engine's planning time grows with the number of expressions).
 */
function bandsSql(bands: number): string {
  const conditions = Array.from({ length: bands - 1 }, (_, i) => bands - 1 - i).map((b) => `ms >= {b${b}:Int64}, ${b}`);
  const band = conditions.length === 0 ? '0' : `multiIf(${conditions.join(', ')}, 0)`;
  return `SELECT scope, ${band} AS band,\n    ${SUM_COLUMNS}\nFROM (${MEASURES_BY_SCOPE})\nGROUP BY scope, band`;
}

/** Sums per scope and step of [from, to) (slice i starts at from + i × step), with the number of measure rows. */
export const STEPS_SQL = `
SELECT scope, intDiv(ms - {from:Int64}, {step:Int64}) AS slice, count() AS rows,
    ${SUM_COLUMNS}
FROM (${MEASURES_BY_SCOPE})
GROUP BY scope, slice`;

/** The events that start or end a contact's wait. */
export const QUEUE_TYPES = ['contact.offered', 'contact.answered', 'contact.abandoned', 'contact.ended'] as const;
export const QUEUE_EVENT_TYPES = `type IN (${QUEUE_TYPES.map((t) => `'${t}'`).join(', ')})`;

/**
 * Whether a contact waits, from its queue events (columns of a GROUP BY contact_id over them):
 *   offer  its latest offer: (ms, queue, team, channel, agent_id), the largest such tuple
 *   waits  offered, and since that offer (same millisecond included) neither answered nor abandoned, nor ended
 *          other than by an agent who answered it before that offer. A transferred contact is offered to its new queue
 *          while the first agent wraps up; that agent's `contact.ended` closes the first leg, not the new wait.
 * The TypeScript twin is live-rollup.ts's waitingOffer; the analyst view kpi_waiting_now restates it (sql/010).
 */
export const WAITING_COLUMNS = `
        maxIf((toUnixTimestamp64Milli(occurred_at), CAST(queue AS String), CAST(team AS String), CAST(channel AS String), agent_id),
              type = 'contact.offered') AS offer,
        groupArrayIf((toUnixTimestamp64Milli(occurred_at), CAST(type AS String), agent_id), type != 'contact.offered') AS closes,
        arrayMap(c -> c.3, arrayFilter(c -> c.2 = 'contact.answered' AND c.1 < offer.1, closes)) AS answered_before,
        countIf(type = 'contact.offered') > 0
            AND NOT arrayExists(c -> c.1 >= offer.1 AND NOT (c.2 = 'contact.ended' AND has(answered_before, c.3)), closes) AS waits`;

const WAITING_SQL = `
SELECT scope, count() AS waiting, min(offer.1) AS oldest_offer_ms
FROM
(
    SELECT contact_id, ${WAITING_COLUMNS}
    FROM events
    WHERE ${QUEUE_EVENT_TYPES}
      AND occurred_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND occurred_at <= fromUnixTimestamp64Milli({now:Int64}, 'UTC')
      AND contact_id != ''
    GROUP BY contact_id
)
ARRAY JOIN ${scopesExpr('offer.2', 'offer.3', 'offer.4', 'offer.5')} AS scope
WHERE waits AND ${SCOPE_FILTER}
GROUP BY scope`;

/** Each agent's latest state and the queue/team/channel it reported (kpi_agent_state), for the agents `where` picks. */
export function agentStatesSql(where = '1'): string {
  return `SELECT agent_id, argMaxMerge(state) AS st, argMaxMerge(queue) AS q, argMaxMerge(team) AS tm, argMaxMerge(channel) AS ch,
        argMaxMerge(reason) AS rs, argMaxMerge(name) AS nm, toUnixTimestamp64Milli(maxMerge(last_at)) AS last_ms
    FROM kpi_agent_state
    WHERE ${where}
    GROUP BY agent_id`;
}

/**
 * The agent-state cutoff in force in milliseconds (kpi_agent_settings, written by the KPI worker from
 * AGENT_STATE_MAX_HOURS; 0: never), as a scalar subquery.
 */
const AGENT_STATE_MAX_MS = `(SELECT toInt64(argMax(agent_state_max_hours, updated_at)) * 3600000 FROM kpi_agent_settings)`;

/**
 * The agents of agentStatesSql whose latest state has not expired at {now:Int64} (epoch ms): an expired one is offline
 * (isStateExpired, with the stored cutoff).
 */
export function currentAgentStatesSql(): string {
  return `WITH ${AGENT_STATE_MAX_MS} AS max_ms
    SELECT * FROM (${agentStatesSql()})
    WHERE NOT (max_ms > 0 AND last_ms <= {now:Int64} - max_ms)`;
}

/**
 * Whether an agent's latest state, taken at `t`, is expired at `now`: at least the cutoff old (`maxMs` 0: never). An
 * expired agent counts as offline — in no agent count, occupancy, staffing gap or roster — as if the ACD had sent the
 * logout it lost (a crashed softphone, an ACD restart). The SQL twin is currentAgentStatesSql.
 */
export function isStateExpired(t: number, now: number, maxMs: number): boolean {
  return maxMs > 0 && now - t >= maxMs;
}

/** An agent's latest state as a row of agentStatesSql gives it (and as an agent.state event carries it). */
export interface AgentStateRow {
  agentId: string;
  state: string;
  reason: string;
  /** attributes.agentName ('' when none). */
  name: string;
  queue: string;
  team: string;
  channel: string;
  /** The latest agent.state's time, epoch ms. */
  t: number;
}

export function agentStateOf(r: Row): AgentStateRow {
  return { agentId: String(r.agent_id), state: String(r.st), reason: String(r.rs), name: String(r.nm), queue: String(r.q), team: String(r.tm), channel: String(r.ch), t: Number(r.last_ms) };
}

/** Agent states that count: available, busy, after-call work, auxiliary (offline agents are not staffed). */
export const AGENT_STATES = ROSTER_STATES;

const AGENTS_SQL = `
SELECT scope,
    countIf(st = 'available') AS available, countIf(st = 'busy') AS busy, countIf(st = 'acw') AS acw, countIf(st = 'aux') AS aux
FROM (${currentAgentStatesSql()})
ARRAY JOIN ${scopesExpr('q', 'tm', 'ch', 'agent_id')} AS scope
WHERE st IN ('available', 'busy', 'acw', 'aux') AND ${SCOPE_FILTER}
GROUP BY scope`;

export type Row = Record<string, string | number | Array<string | number>>;

export type Measures = Record<(typeof MEASURE_FIELDS)[number], number> & { frt_sorted: number[] };
export interface Live { waiting: number; oldestOfferMs: number | null; available: number; busy: number; acw: number; aux: number }

const ZERO_SUMS = Object.freeze(Object.fromEntries(MEASURE_FIELDS.map((f) => [f, 0])) as Record<SumField, number>);
export const emptyMeasures = (): Measures => ({ ...ZERO_SUMS, frt_sorted: [] });
export const emptyLive = (): Live => ({ waiting: 0, oldestOfferMs: null, available: 0, busy: 0, acw: 0, aux: 0 });

export async function rows(ch: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<Row[]> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<Row>();
}

/** The sums of one result row. */
export function measuresOf(r: Row): Measures {
  const m = Object.fromEntries(MEASURE_FIELDS.map((f) => [f, Number(r[f])])) as Omit<Measures, 'frt_sorted'>;
  return { ...m, frt_sorted: (r.frt_sorted as Array<string | number>).map(Number) };
}

function addMeasures(a: Measures, b: Measures): Measures {
  const sum = Object.fromEntries(MEASURE_FIELDS.map((f) => [f, a[f] + b[f]])) as Omit<Measures, 'frt_sorted'>;
  return { ...sum, frt_sorted: [...a.frt_sorted, ...b.frt_sorted].sort((x, y) => x - y) };
}

/** Windowed sums per `${slice label}\0${scope}`, for windows that all end at the same time (the snapshot windows). */
async function windowSums(ch: ClickHouseClient, slices: readonly Slice[], scopes: readonly string[]): Promise<Map<string, Measures>> {
  const to = slices[0]!.end;
  if (slices.some((s) => s.end !== to)) throw new Error('windowSums: the windows must share their end');
  const starts = [...new Set(slices.map((s) => s.start))].sort((a, b) => a - b);
  const params: Record<string, unknown> = { from: starts[0], to, scopes };
  starts.forEach((b, i) => (params[`b${i}`] = b));
  const perScope = new Map<string, Map<number, Measures>>();
  for (const r of await rows(ch, bandsSql(starts.length), params)) {
    const scope = String(r.scope);
    (perScope.get(scope) ?? perScope.set(scope, new Map()).get(scope)!).set(Number(r.band), measuresOf(r));
  }
  const measures = new Map<string, Measures>();
  for (const [scope, bands] of perScope) {
    for (const s of slices) {
      let sum = emptyMeasures();
      for (const [band, m] of bands) if (starts[band]! >= s.start) sum = addMeasures(sum, m);
      measures.set(sliceKey(s.label, scope), sum);
    }
  }
  return measures;
}

/** The sums of consecutive slices of `step` ms each (the last may be shorter), per slice and scope. */
export async function intervalSums(ch: ClickHouseClient, slices: readonly Slice[], scopes: readonly string[], step = INTERVAL_MS): Promise<Map<string, Measures>> {
  const from = slices[0]!.start;
  const byStart = new Map(slices.map((s) => [s.start, s]));
  const measures = new Map<string, Measures>();
  for (const r of await rows(ch, STEPS_SQL, { from, to: slices.at(-1)!.end, step, scopes })) {
    const slice = byStart.get(from + Number(r.slice) * step);
    if (slice) measures.set(sliceKey(slice.label, String(r.scope)), measuresOf(r));
  }
  return measures;
}

async function liveState(ch: ClickHouseClient, now: number, lookbackHours: number, scopes: readonly string[]): Promise<Map<string, Live>> {
  const [w, a] = await Promise.all([
    rows(ch, WAITING_SQL, { since: now - lookbackHours * 3_600_000, now, scopes }),
    rows(ch, AGENTS_SQL, { now, scopes }),
  ]);
  const out = new Map<string, Live>();
  const get = (scope: string) => out.get(scope) ?? out.set(scope, emptyLive()).get(scope)!;
  for (const r of w) {
    const l = get(String(r.scope));
    l.waiting = Number(r.waiting);
    l.oldestOfferMs = Number(r.oldest_offer_ms);
  }
  for (const r of a) {
    const l = get(String(r.scope));
    l.available = Number(r.available);
    l.busy = Number(r.busy);
    l.acw = Number(r.acw);
    l.aux = Number(r.aux);
  }
  return out;
}

/** A queue's thresholds as the KPIs apply them (`*`: the defaults). */
export interface SlSettings { slThresholdMs: number; slTargetPct: number; shortAbandonMs: number }

/** The thresholds in force, by queue name (`*`: the defaults). */
export async function slSettings(ch: ClickHouseClient): Promise<Map<string, SlSettings>> {
  const out = new Map<string, SlSettings>();
  for (const s of await listQueueSettings(ch)) {
    out.set(s.queue, { slThresholdMs: Math.round(s.slThresholdS * 1000), slTargetPct: s.slTargetPct, shortAbandonMs: Math.round(s.shortAbandonS * 1000) });
  }
  return out;
}

/** The thresholds of a queue: its own, else the defaults (as kpi_measures_v applies them). */
export function settingsOf(settings: ReadonlyMap<string, SlSettings>, queue: string): SlSettings {
  return (queue !== '' ? settings.get(queue) : undefined) ?? settings.get('*') ?? DEFAULT_SETTINGS;
}

const DEFAULT_SETTINGS: SlSettings = { slThresholdMs: 20_000, slTargetPct: 80, shortAbandonMs: 5_000 };

const ratio = (num: number, den: number, scale = 100): KpiValue => ({ value: den === 0 ? null : (num / den) * scale, n: den });
const mean = (sum: number, n: number, scale: number): KpiValue => ({ value: n === 0 ? null : sum / n / scale, n });
const count = (c: number): KpiValue => ({ value: c, n: c });

/** Nearest-rank percentile: the ⌈p·n⌉-th smallest value (p given in percent, integer arithmetic). */
export function nearestRank(sorted: readonly number[], pct: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((pct * sorted.length) / 100));
  return sorted[rank - 1]!;
}

/** The windowed KPIs from a window's sums (the formulas of the catalog). */
export function windowedValues(m: Measures): Partial<Record<KpiKey, KpiValue>> {
  const handled = m.answered + m.abandoned;
  const p90 = nearestRank(m.frt_sorted, 90);
  return {
    offered: count(m.offered),
    answered: count(m.answered),
    abandoned: count(m.abandoned),
    short_abandoned: count(m.short_abandoned),
    abandon_rate: ratio(m.abandoned, handled),
    service_level: ratio(m.answers_in_sl, handled),
    asa: mean(m.wait_ms_sum, m.wait_n, 1000),
    aht: mean(m.handle_ms, m.ended, 1000),
    frt: mean(m.frt_ms_sum, m.frt_n, 1000),
    frt_p90: { value: p90 === null ? null : p90 / 1000, n: m.frt_n },
    csat: ratio(m.csat_top2, m.csat_n),
    ces: { value: m.ces_n === 0 ? null : (m.ces_points / m.ces_n / 6) * 100, n: m.ces_n },
    nps: ratio(m.nps_promoters - m.nps_detractors, m.nps_n),
    fcr: ratio(m.fcr_yes, m.resolutions),
    fcr_survey: ratio(m.fcrs_yes, m.fcrs_n),
    ivr_containment: ratio(m.ivr_contained, m.ivr_n),
  };
}

/** The live KPIs of a scope, and Erlang C from the last 30 minutes' offers and the last hour's (else today's) AHT. */
export function liveValues(
  l: Live,
  now: number,
  erlang: { offered30: number; from: number; aht1h: KpiValue; ahtToday: KpiValue; thresholdS: number; targetPct: number },
): Partial<Record<KpiKey, KpiValue>> {
  const staffed = l.available + l.busy + l.acw;
  const aht = erlang.aht1h.value ?? erlang.ahtToday.value;
  let required: number | null = null;
  if (erlang.offered30 === 0) required = 0;
  else if (aht !== null) {
    try {
      required = requiredAgents({ lambdaPerSecond: erlang.offered30 / ((now - erlang.from) / 1000), ahtSeconds: aht }, erlang.thresholdS, erlang.targetPct / 100).agents;
    } catch (err) {
      // a load beyond any center (MAX_AGENTS: absurd handle times) has no figure; it must not stop every scope's
      if (!(err instanceof RangeError)) throw err;
    }
  }
  return {
    waiting: count(l.waiting),
    longest_wait: { value: l.waiting === 0 || l.oldestOfferMs === null ? 0 : Math.max(0, now - l.oldestOfferMs) / 1000, n: l.waiting },
    agents_available: count(l.available),
    agents_busy: count(l.busy),
    agents_acw: count(l.acw),
    agents_aux: count(l.aux),
    occupancy: ratio(l.busy + l.acw, staffed),
    required_agents: { value: required, n: erlang.offered30 },
    staffing_gap: { value: required === null ? null : required - staffed, n: erlang.offered30 },
  };
}

/** The values in the catalog's order (the order every snapshot lists them in). */
function ordered(...parts: Array<Partial<Record<KpiKey, KpiValue>>>): Record<KpiKey, KpiValue> {
  const out = {} as Record<KpiKey, KpiValue>;
  for (const d of KPI_CATALOG) {
    for (const p of parts) {
      const v = p[d.key];
      if (v !== undefined) {
        out[d.key] = v;
        break;
      }
    }
  }
  return out;
}

/**
 * The slices a snapshot computation sums: the windows, and Erlang C's span (`30m`: the last 30 minutes, from the opening
 * when the center opened since; windows.ts erlangRange). All end with the current minute.
 */
export function snapshotSlices(now: number, tz: string, hours: CenterHours | null = null): Slice[] {
  const open = centerOpen(hours, now, tz);
  return [...WINDOWS.map((w) => ({ label: w, ...windowRange(w, now, tz) })), { label: '30m', ...erlangRange(now, open.open ? open.since : -Infinity) }];
}

/**
 * Sums per slice and scope, keyed `${slice label}\0${scope}`, wherever they come from (ClickHouse below, or the KPI
 * worker's memory); a scope has a key only for the slices it has measures in.
 */
export type SliceSums = ReadonlyMap<string, Measures>;

export const sliceKey = (label: string, scope: string) => `${label}\u0000${scope}`;
export const sumsOf = (sums: SliceSums, label: string, scope: string) => sums.get(sliceKey(label, scope)) ?? emptyMeasures();
/** The scopes with measures in any slice. */
export const measuredScopes = (sums: SliceSums) => [...sums.keys()].map((k) => k.slice(k.indexOf('\u0000') + 1));

/** What snapshots are made of, wherever they come from. */
export interface SnapshotInputs {
  sums: SliceSums;
  live: ReadonlyMap<string, Live>;
  settings: ReadonlyMap<string, SlSettings>;
  /** Where Erlang C's span (the `30m` slice) starts. */
  erlangFrom: number;
}

const centerFirst = (a: string, b: string) => (a === 'center' ? -1 : b === 'center' ? 1 : a < b ? -1 : a > b ? 1 : 0);

/** Snapshots for every window × scope: the requested scopes, else every active one (measured or live, and `center`). */
export function buildSnapshots(now: number, requested: readonly string[], inputs: SnapshotInputs): Snapshot[] {
  let scopes: string[];
  if (requested.length > 0) scopes = [...requested];
  else scopes = [...new Set(['center', ...measuredScopes(inputs.sums), ...inputs.live.keys()])].sort(centerFirst);
  const asOf = new Date(now).toISOString();
  const out: Snapshot[] = [];
  for (const scope of scopes) {
    const perWindow = new Map(WINDOWS.map((w) => [w, windowedValues(sumsOf(inputs.sums, w, scope))]));
    const qs = settingsOf(inputs.settings, scope.startsWith('queue:') ? scope.slice('queue:'.length) : '');
    const liveVals = liveValues(inputs.live.get(scope) ?? emptyLive(), now, {
      offered30: sumsOf(inputs.sums, '30m', scope).offered,
      from: inputs.erlangFrom,
      aht1h: perWindow.get('1h')!.aht!,
      ahtToday: perWindow.get('today')!.aht!,
      thresholdS: qs.slThresholdMs / 1000,
      targetPct: qs.slTargetPct,
    });
    for (const window of WINDOWS) out.push({ window, scope, asOf, values: ordered(liveVals, perWindow.get(window)!) });
  }
  return out;
}

/** Center and every scope given, by name: the scopes of a series when none are requested. */
export const everyScope = (measured: Iterable<string>): string[] => [...new Set(['center', ...measured])].sort();

/** One point of a series: the windowed values of a slice's sums. */
export function seriesPoint(s: Slice, m: Measures): SeriesPoint {
  return { start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString(), values: windowedValues(m) };
}

/**
 * Today's 15-minute series from the sums of each interval (labelled by slice): the requested scopes, else every
 * measured one. `pointOf` gives a scope's point of a slice (default: from `sums`).
 */
export function buildSeries(
  now: number,
  slices: readonly Slice[],
  requested: readonly string[],
  sums: SliceSums,
  pointOf = (s: Slice, scope: string): SeriesPoint => seriesPoint(s, sumsOf(sums, s.label, scope)),
): Series[] {
  const scopes = requested.length > 0 ? [...requested] : everyScope(measuredScopes(sums));
  const asOf = new Date(now).toISOString();
  return scopes.map((scope) => ({ window: 'today' as const, scope, asOf, intervalMinutes: 15 as const, points: slices.map((s) => pointOf(s, scope)) }));
}

/** Snapshots for every window × scope at `now`, from ClickHouse. */
export async function computeSnapshots(ch: ClickHouseClient, opts: ComputeOptions): Promise<Snapshot[]> {
  const requested = opts.scopes ?? [];
  const slices = snapshotSlices(opts.now, opts.tz, opts.hours);
  const [measures, live, settings] = await Promise.all([
    windowSums(ch, slices, requested),
    liveState(ch, opts.now, opts.waitingLookbackHours, requested),
    slSettings(ch),
  ]);
  return buildSnapshots(opts.now, requested, { sums: measures, live, settings, erlangFrom: slices.at(-1)!.start });
}

/** Today's 15-minute series (windowed KPIs only) for the given scopes, or every scope with data today, from ClickHouse. */
export async function computeSeries(ch: ClickHouseClient, opts: Omit<ComputeOptions, 'waitingLookbackHours'>): Promise<Series[]> {
  const slices = todayIntervals(opts.now, opts.tz);
  const requested = opts.scopes ?? [];
  const measures = await intervalSums(ch, slices, requested);
  return buildSeries(opts.now, slices, requested, measures);
}
