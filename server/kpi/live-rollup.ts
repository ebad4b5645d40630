// The KPI worker's in-memory rollup: what the snapshots need, kept current pass by pass, so a recomputation computes
// every snapshot without querying ClickHouse (the queries cost tens of milliseconds each; this costs a few).
//
//   minutes     sums per minute and scope, from an hour and a quarter before it was loaded on (the rolling windows)
//   intervals   sums per 15-minute interval and scope, from local midnight on (today, and today's series)
//   waiting     the contacts that may be waiting (waiting now, or with events still ahead), with their queue events
//   agents      each agent's latest state and scope (a state older than the cutoff counts as offline at snapshot time)
//   settings    the thresholds the sums were made with
//
// It is loaded from ClickHouse (the same tables and the same formulas as server/kpi/compute.ts), and every pass then
// hands it, for each contact it recomputed, the contact's measures before and after the pass: the sums move by the
// difference, so they stay equal to what ClickHouse would sum (the pipeline tests hold the two equal). Whatever could
// make it drift makes the worker load it again instead: a failed pass, a change of thresholds, a watermark moved by
// someone else (a rebuild); and, as a matter of hygiene, a new local day (when the load is cheapest: a load reads
// all of today's measures, ~1.4 s for 330k of them on the 2-core machine).
import type { ClickHouseClient } from '@clickhouse/client';
import {
  AGENT_STATES,
  MEASURE_FIELDS,
  QUEUE_EVENT_TYPES,
  QUEUE_TYPES,
  STEPS_SQL,
  WAITING_COLUMNS,
  agentStateOf,
  agentStatesSql,
  buildSeries,
  buildSnapshots,
  emptyLive,
  emptyMeasures,
  everyScope,
  isStateExpired,
  measuredScopes,
  measuresOf,
  rows,
  seriesPoint,
  settingsOf,
  sliceKey,
  snapshotSlices,
  sumsOf,
  type Live,
  type Measures,
  type AgentStateRow,
  type Row,
  type Series,
  type SeriesPoint,
  type SlSettings,
  type Snapshot,
  type SumField,
} from './compute.ts';
import type { AgentStateEvent } from './materialize.ts';
import { cmp, type ContactEvent, type Measure } from './measures.ts';
import { rosterAgent } from './roster.ts';
import { scopesOf } from './scopes.ts';
import type { RosterAgent } from '../live/protocol.ts';
import type { CenterHours } from '../center-hours.ts';
import { startOfLocalDay } from '../time-zone.ts';
import { INTERVAL_MS, MINUTE_MS, floorMinute, todayIntervals, type Slice } from './windows.ts';

/** How far back the minute sums reach when loaded: the longest rolling window (1 h) and a margin. */
const MINUTES_BACK_MS = 75 * MINUTE_MS;
/** The end of time for loads (measures are at most minutes in the future). */
const FAR_FUTURE_MS = 7 * 86_400_000;

/** Sums as an array in MEASURE_FIELDS order (adding arrays is what a snapshot does most), and the sorted FRTs. */
interface Sums {
  v: Float64Array;
  frt: number[];
}

interface Bucket extends Sums {
  rows: number;
}

const F = Object.fromEntries(MEASURE_FIELDS.map((f, i) => [f, i])) as Record<SumField, number>;
const FIELDS = MEASURE_FIELDS.length;

const emptySums = (): Sums => ({ v: new Float64Array(FIELDS), frt: [] });

function toMeasures(s: Sums): Measures {
  const m = emptyMeasures();
  MEASURE_FIELDS.forEach((f, i) => (m[f] = s.v[i]!));
  m.frt_sorted = s.frt;
  return m;
}

/** A queue event of a contact, for its waiting status (one of QUEUE_TYPES). */
interface QueueEvent {
  t: number;
  type: string;
  queue: string;
  team: string;
  channel: string;
  agentId: string;
}

const QUEUE_TYPE_SET: ReadonlySet<string> = new Set(QUEUE_TYPES);

/** An agent's latest state: the winning event's, with its (source, id) when known (not when loaded from kpi_agent_state). */
type AgentState = Omit<AgentStateRow, 'agentId'> & { source?: string; id?: string };

/** A contact a pass recomputed: its measures before and after, and its whole history (pass included). */
export interface ContactChange {
  contactId: string;
  before: readonly Measure[];
  after: readonly Measure[];
  events: readonly ContactEvent[];
}

/** Index of the first element ≥ v in a sorted array. */
function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Adds (sign 1) or removes (sign −1) one measure row's contribution to sums: the flags of kpi_measures_v
 * (sql/008_fanout.sql) under the queue's thresholds, summed as compute.ts's SUMS sum them.
 */
function applyMeasure(b: Sums, m: Measure, s: SlSettings, sign: 1 | -1): void {
  const x = b.v;
  switch (m.kind) {
    case 'offer':
      x[F.offered]! += sign;
      break;
    case 'ivr':
      x[F.ivr_n]! += sign;
      if (m.contained) x[F.ivr_contained]! += sign;
      break;
    case 'answer':
      x[F.answered]! += sign;
      if (m.waitMs !== null) {
        x[F.wait_n]! += sign;
        x[F.wait_ms_sum]! += sign * m.waitMs;
        if (m.waitMs <= s.slThresholdMs) x[F.answers_in_sl]! += sign;
      }
      break;
    case 'abandon':
      if (m.waitMs !== null && m.waitMs < s.shortAbandonMs) x[F.short_abandoned]! += sign;
      else x[F.abandoned]! += sign;
      break;
    case 'end':
      x[F.ended]! += sign;
      x[F.handle_ms]! += sign * (m.handleMs ?? 0);
      break;
    case 'reply':
      if (m.isFirstReply && m.frtMs !== null) {
        x[F.frt_n]! += sign;
        x[F.frt_ms_sum]! += sign * m.frtMs;
        if (sign === 1) b.frt.splice(lowerBound(b.frt, m.frtMs), 0, m.frtMs);
        else b.frt.splice(lowerBound(b.frt, m.frtMs), 1);
      }
      break;
    case 'survey':
      if (m.score === null) break;
      if (m.metric === 'csat') {
        x[F.csat_n]! += sign;
        if (m.score >= 4) x[F.csat_top2]! += sign;
      } else if (m.metric === 'ces') {
        x[F.ces_n]! += sign;
        if (m.score >= 1) x[F.ces_points]! += sign * (m.score - 1);
      } else if (m.metric === 'nps') {
        x[F.nps_n]! += sign;
        if (m.score >= 9) x[F.nps_promoters]! += sign;
        if (m.score <= 6) x[F.nps_detractors]! += sign;
      } else if (m.metric === 'fcr') {
        x[F.fcrs_n]! += sign;
        if (m.score === 1) x[F.fcrs_yes]! += sign;
      }
      break;
    case 'solve':
    case 'other_answer':
      break;
  }
  if (m.isResolution) {
    x[F.resolutions]! += sign;
    if (m.fcr) x[F.fcr_yes]! += sign;
  }
}

/** a += b (sums, and b's first-reply times appended: the caller sorts once at the end). */
function addInto(a: Sums, b: Sums): void {
  for (let i = 0; i < FIELDS; i++) a.v[i]! += b.v[i]!;
  if (b.frt.length > 0) a.frt.push(...b.frt);
}

/** The offer a contact waits on, if it waits: compute.ts's WAITING_COLUMNS over `events` (see there). */
function waitingOffer(events: readonly QueueEvent[]): QueueEvent | undefined {
  let offer: QueueEvent | undefined;
  for (const e of events) if (e.type === 'contact.offered' && (!offer || compareOffers(e, offer) > 0)) offer = e;
  if (!offer) return undefined;
  const at = offer.t;
  const answeredBefore = new Set(events.filter((e) => e.type === 'contact.answered' && e.t < at).map((e) => e.agentId));
  const closed = events.some((e) => e.type !== 'contact.offered' && e.t >= at && !(e.type === 'contact.ended' && answeredBefore.has(e.agentId)));
  return closed ? undefined : offer;
}

/** Offers in the order of their (ms, queue, team, channel, agent_id) tuples, as ClickHouse's maxIf compares them. */
function compareOffers(a: QueueEvent, b: QueueEvent): number {
  return a.t - b.t || cmp(a.queue, b.queue) || cmp(a.team, b.team) || cmp(a.channel, b.channel) || cmp(a.agentId, b.agentId);
}

export interface LiveRollupOptions {
  tz: string;
  waitingLookbackHours: number;
  /** AGENT_STATE_MAX_HOURS: an agent whose latest state is at least this old counts as offline (0: never). */
  agentStateMaxHours: number;
  /** CENTER_HOURS (Erlang C's span starts at the opening: compute.ts snapshotSlices). */
  hours: CenterHours | null;
}

export class LiveRollup {
  private readonly minutes = new Map<number, Map<string, Bucket>>();
  private readonly intervals = new Map<number, Map<string, Bucket>>();
  /**
   * The series points of closed intervals, per interval start and scope, made once and kept until a measure of that
   * interval and scope moves (a late event, a contact's later event that changes its measures): a day's series of
   * every scope is tens of thousands of points, of which a publication usually changes a few hundred.
   */
  private readonly closedPoints = new Map<number, Map<string, SeriesPoint>>();
  /** Per closed interval, the point of every scope without measures in it. Points are shared between calls: read only. */
  private readonly closedEmpty = new Map<number, SeriesPoint>();
  private readonly waiting = new Map<string, QueueEvent[]>();
  private readonly agents = new Map<string, AgentState>();
  /** Rows before these are not kept (no current or later window reaches them). */
  private minutesFrom: number;
  private intervalsFrom: number;
  /** The local day it was loaded on. */
  private readonly loadedDay: number;
  /** The agent-state cutoff in ms (0: never). */
  private readonly agentStateMaxMs: number;

  private constructor(
    private readonly opts: LiveRollupOptions,
    private readonly settings: ReadonlyMap<string, SlSettings>,
    now: number,
  ) {
    this.minutesFrom = floorMinute(now) + MINUTE_MS - MINUTES_BACK_MS;
    this.intervalsFrom = startOfLocalDay(now, opts.tz);
    this.loadedDay = this.intervalsFrom;
    this.agentStateMaxMs = opts.agentStateMaxHours * 3_600_000;
  }

  /** True once the local day it was loaded on is over (the worker then loads it again: cheap, today being young). */
  loadedBefore(now: number): boolean {
    return startOfLocalDay(now, this.opts.tz) !== this.loadedDay;
  }

  /**
   * Loads everything from ClickHouse as of `now` (after a pass: the measures then hold every event up to its
   * watermark), the sums made with `settings` (the thresholds the caller just read).
   */
  static async load(ch: ClickHouseClient, now: number, opts: LiveRollupOptions, settings: ReadonlyMap<string, SlSettings>): Promise<LiveRollup> {
    const r = new LiveRollup(opts, settings, now);
    const since = now - opts.waitingLookbackHours * 3_600_000;
    const steps = (from: number, step: number) => rows(ch, STEPS_SQL, { from, to: now + FAR_FUTURE_MS, step, scopes: [] });
    const [minutes, intervals, waiting, agents] = await Promise.all([
      steps(r.minutesFrom, MINUTE_MS),
      steps(r.intervalsFrom, INTERVAL_MS),
      rows(
        ch,
        // the queue events since the look-back of the contacts that may wait now or later: waiting, or with events
        // still in the future
        `SELECT contact_id, evs
         FROM
         (
             SELECT contact_id,
                 groupArray((toUnixTimestamp64Milli(occurred_at), CAST(type AS String), CAST(queue AS String),
                             CAST(team AS String), CAST(channel AS String), agent_id)) AS evs,
                 max(occurred_at) AS last_at, ${WAITING_COLUMNS}
             FROM events
             WHERE ${QUEUE_EVENT_TYPES} AND occurred_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND contact_id != ''
             GROUP BY contact_id
         )
         WHERE waits OR last_at > fromUnixTimestamp64Milli({now:Int64}, 'UTC')`,
        { since, now },
      ),
      rows(ch, agentStatesSql(), {}),
    ]);
    const fill = (target: Map<number, Map<string, Bucket>>, from: number, step: number, data: typeof minutes) => {
      for (const row of data) {
        const at = from + Number(row.slice) * step;
        const scopes = target.get(at) ?? target.set(at, new Map()).get(at)!;
        const m = measuresOf(row);
        scopes.set(String(row.scope), { rows: Number(row.rows), v: Float64Array.from(MEASURE_FIELDS, (f) => m[f]), frt: m.frt_sorted });
      }
    };
    fill(r.minutes, r.minutesFrom, MINUTE_MS, minutes);
    fill(r.intervals, r.intervalsFrom, INTERVAL_MS, intervals);
    for (const row of waiting) {
      const evs = row.evs as unknown as Array<[number | string, string, string, string, string, string]>;
      r.waiting.set(
        String(row.contact_id),
        evs.map(([t, type, queue, team, channel, agentId]) => ({ t: Number(t), type, queue, team, channel, agentId })),
      );
    }
    r.setAgents(agents);
    return r;
  }

  /** True when the sums were made with other thresholds than `settings` (the worker then loads again). */
  settingsDiffer(settings: ReadonlyMap<string, SlSettings>): boolean {
    const key = (m: ReadonlyMap<string, SlSettings>) => JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    return key(settings) !== key(this.settings);
  }

  /** The agents' latest states (rows of agentStatesSql), replacing what was known of them. */
  setAgents(agents: readonly Row[]): void {
    for (const r of agents) {
      const { agentId, ...a } = agentStateOf(r);
      this.agents.set(agentId, a);
    }
  }

  /**
   * A pass's agent.state events: the latest by (time, source, id) wins, as in kpi_agent_state. Returns the agents it
   * cannot decide (an event at the very millisecond of a state loaded without its source and id): the caller sets
   * those from kpi_agent_state once the pass is written.
   */
  applyAgentStates(events: readonly AgentStateEvent[]): string[] {
    const undecided = new Set<string>();
    for (const e of events) {
      const known = this.agents.get(e.agentId);
      if (known && (known.t > e.t || (known.t === e.t && known.source === undefined))) {
        if (known.t === e.t) undecided.add(e.agentId);
        continue;
      }
      if (known && known.t === e.t && (cmp(known.source!, e.source) || cmp(known.id!, e.id)) > 0) continue;
      this.agents.set(e.agentId, { state: e.state, reason: e.reason, name: e.name, queue: e.queue, team: e.team, channel: e.channel, t: e.t, source: e.source, id: e.id });
    }
    return [...undecided];
  }

  /** Moves the sums by each recomputed contact's difference, and updates its waiting status. `now`: the pass's clock. */
  apply(changes: readonly ContactChange[], now: number): void {
    for (const c of changes) {
      for (const m of c.before) this.applyRow(m, -1);
      for (const m of c.after) this.applyRow(m, 1);
      const queueEvents: QueueEvent[] = [];
      for (const e of c.events) {
        if (!QUEUE_TYPE_SET.has(e.type)) continue;
        queueEvents.push({ t: e.t, type: e.type, queue: e.queue, team: e.team, channel: e.channel, agentId: e.agentId });
      }
      // A contact that does not wait, with no event in the future, can never wait again (later windows only drop older
      // events, and dropping an offer's earlier answer only ends more waits): forget it. The others are decided at
      // each snapshot.
      if (waitingOffer(queueEvents) || queueEvents.some((e) => e.t > now)) this.waiting.set(c.contactId, queueEvents);
      else this.waiting.delete(c.contactId);
    }
  }

  private applyRow(m: Measure, sign: 1 | -1): void {
    const s = settingsOf(this.settings, m.queue);
    const scopes = scopesOf(m.queue, m.team, m.channel, m.agentId);
    const put = (target: Map<number, Map<string, Bucket>>, at: number) => {
      const byScope = target.get(at) ?? target.set(at, new Map()).get(at)!;
      const points = target === this.intervals ? this.closedPoints.get(at) : undefined;
      for (const scope of scopes) {
        points?.delete(scope);
        let b = byScope.get(scope);
        if (!b) byScope.set(scope, (b = { rows: 0, ...emptySums() }));
        b.rows += sign;
        applyMeasure(b, m, s, sign);
        if (b.rows === 0) byScope.delete(scope);
      }
      if (byScope.size === 0) target.delete(at);
    };
    if (m.t >= this.minutesFrom) put(this.minutes, floorMinute(m.t));
    if (m.t >= this.intervalsFrom) put(this.intervals, Math.floor(m.t / INTERVAL_MS) * INTERVAL_MS);
  }

  /** Drops what no window at `now` or later reaches. */
  private prune(now: number): void {
    const minutesFrom = floorMinute(now) + MINUTE_MS - MINUTES_BACK_MS;
    if (minutesFrom > this.minutesFrom) {
      this.minutesFrom = minutesFrom;
      for (const at of this.minutes.keys()) if (at < minutesFrom) this.minutes.delete(at);
    }
    const dayStart = startOfLocalDay(now, this.opts.tz);
    if (dayStart > this.intervalsFrom) {
      this.intervalsFrom = dayStart;
      for (const at of this.intervals.keys()) if (at < dayStart) this.intervals.delete(at);
      for (const at of this.closedPoints.keys()) if (at < dayStart) this.closedPoints.delete(at);
      for (const at of this.closedEmpty.keys()) if (at < dayStart) this.closedEmpty.delete(at);
    }
  }

  /**
   * Sums per `${label}\0${scope}` for slices that all end at the current minute's end or before it. The minute buckets
   * are added once each, into the band between two consecutive slice starts they fall in; a slice is then the sum of
   * its bands. A slice that starts on an interval boundary within the intervals kept (today, the series) takes its
   * whole intervals before the current one from `intervals` instead.
   */
  private sliceSums(now: number, slices: ReadonlyArray<{ label: string; start: number; end: number }>): Map<string, Measures> {
    const end = floorMinute(now) + MINUTE_MS;
    const currentInterval = Math.floor((end - 1) / INTERVAL_MS) * INTERVAL_MS;
    const plan = slices.map((s) => {
      const split = s.start % INTERVAL_MS === 0 && s.start >= this.intervalsFrom ? Math.max(s.start, Math.min(s.end, currentInterval)) : s.start;
      return { ...s, split };
    });
    // Bands of minutes: cut at every slice's minute start and end.
    const cuts = [...new Set(plan.flatMap((p) => (p.split < p.end ? [p.split, p.end] : [])))].sort((a, b) => a - b);
    const bands = new Map<string, Array<Sums | undefined>>(); // scope → sums per band
    if (cuts.length > 1) {
      for (const [at, byScope] of this.minutes) {
        if (at < cuts[0]! || at >= cuts.at(-1)!) continue;
        let band = 0;
        while (cuts[band + 1]! <= at) band++;
        for (const [scope, b] of byScope) {
          let perBand = bands.get(scope);
          if (!perBand) bands.set(scope, (perBand = []));
          addInto((perBand[band] ??= emptySums()), b);
        }
      }
    }
    const out = new Map<string, Map<string, Sums>>(); // label → scope → sums
    for (const p of plan) {
      const byScope = new Map<string, Sums>();
      out.set(p.label, byScope);
      const into = (scope: string) => byScope.get(scope) ?? byScope.set(scope, emptySums()).get(scope)!;
      if (p.split > p.start) {
        for (const [at, scopes] of this.intervals) if (at >= p.start && at < p.split) for (const [scope, b] of scopes) addInto(into(scope), b);
      }
      if (p.split >= p.end) continue;
      const first = cuts.indexOf(p.split);
      const last = cuts.indexOf(p.end);
      for (const [scope, perBand] of bands) {
        for (let band = first; band < last; band++) if (perBand[band]) addInto(into(scope), perBand[band]!);
      }
    }
    const measures = new Map<string, Measures>();
    for (const [label, byScope] of out) {
      for (const [scope, sums] of byScope) {
        if (sums.frt.length > 1) sums.frt.sort((a, b) => a - b);
        measures.set(sliceKey(label, scope), toMeasures(sums));
      }
    }
    return measures;
  }

  /** Live figures per scope at `now`: waiting contacts (within the look-back) and agents by state. */
  private live(now: number): Map<string, Live> {
    const out = new Map<string, Live>();
    const get = (scope: string) => out.get(scope) ?? out.set(scope, emptyLive()).get(scope)!;
    const since = now - this.opts.waitingLookbackHours * 3_600_000;
    for (const [contactId, events] of this.waiting) {
      if (events.every((e) => e.t < since)) {
        this.waiting.delete(contactId);
        continue;
      }
      const offer = waitingOffer(events.filter((e) => e.t >= since && e.t <= now));
      if (!offer) continue;
      for (const scope of scopesOf(offer.queue, offer.team, offer.channel, offer.agentId)) {
        const l = get(scope);
        l.waiting += 1;
        l.oldestOfferMs = l.oldestOfferMs === null ? offer.t : Math.min(l.oldestOfferMs, offer.t);
      }
    }
    for (const [agentId, a] of this.agents) {
      if (!(AGENT_STATES as readonly string[]).includes(a.state) || isStateExpired(a.t, now, this.agentStateMaxMs)) continue;
      for (const scope of scopesOf(a.queue, a.team, a.channel, agentId)) get(scope)[a.state as (typeof AGENT_STATES)[number]] += 1;
    }
    return out;
  }

  /** Every signed-in agent's latest state at `now` (expired ones left out), as computeRoster would read it from ClickHouse. */
  roster(now: number): RosterAgent[] {
    const out: RosterAgent[] = [];
    for (const [agentId, a] of this.agents) {
      if (isStateExpired(a.t, now, this.agentStateMaxMs)) continue;
      const entry = rosterAgent(agentId, a);
      if (entry) out.push(entry);
    }
    return out;
  }

  /**
   * True when an agent who counted at `from` (signed in, their state not expired) no longer does at `to` only because
   * their state expired in between: the clock alone changed the agent figures and the roster.
   */
  agentStateExpiredBetween(from: number, to: number): boolean {
    if (this.agentStateMaxMs === 0) return false;
    for (const a of this.agents.values()) {
      if (!(AGENT_STATES as readonly string[]).includes(a.state)) continue;
      if (!isStateExpired(a.t, from, this.agentStateMaxMs) && isStateExpired(a.t, to, this.agentStateMaxMs)) return true;
    }
    return false;
  }

  /**
   * Every window × active scope at `now` (or the `scopes` given, active or not), as computeSnapshots would compute them
   * from ClickHouse.
   */
  snapshots(now: number, scopes: readonly string[] = []): Snapshot[] {
    this.prune(now);
    const slices = snapshotSlices(now, this.opts.tz, this.opts.hours);
    const sums = this.sliceSums(now, slices);
    return buildSnapshots(now, scopes, { sums, live: this.live(now), settings: this.settings, erlangFrom: slices.at(-1)!.start });
  }

  /** Today's 15-minute series of every scope with measures today (or of the `scopes` given), as computeSeries would compute it. */
  series(now: number, scopes: readonly string[] = []): Series[] {
    this.prune(now);
    const slices = todayIntervals(now, this.opts.tz);
    // A slice before the current interval is one whole interval: its sums are that interval's buckets (sliceSums).
    const currentInterval = Math.floor(floorMinute(now) / INTERVAL_MS) * INTERVAL_MS;
    const isClosed = (s: Slice) => s.end <= currentInterval && s.start % INTERVAL_MS === 0 && s.start >= this.intervalsFrom;
    const sums = this.sliceSums(now, slices.filter((s) => !isClosed(s)));
    const measured = new Set<string>();
    for (const s of slices) if (isClosed(s)) for (const scope of this.intervals.get(s.start)?.keys() ?? []) measured.add(scope);
    const pointOf = (s: Slice, scope: string): SeriesPoint => {
      if (!isClosed(s)) return seriesPoint(s, sumsOf(sums, s.label, scope));
      const b = this.intervals.get(s.start)?.get(scope);
      if (!b) {
        let empty = this.closedEmpty.get(s.start);
        if (!empty) this.closedEmpty.set(s.start, (empty = seriesPoint(s, emptyMeasures())));
        return empty;
      }
      let points = this.closedPoints.get(s.start);
      if (!points) this.closedPoints.set(s.start, (points = new Map()));
      let point = points.get(scope);
      if (!point) points.set(scope, (point = seriesPoint(s, toMeasures({ v: b.v, frt: [...b.frt].sort((x, y) => x - y) }))));
      return point;
    };
    return buildSeries(now, slices, scopes.length > 0 ? scopes : everyScope([...measured, ...measuredScopes(sums)]), sums, pointOf);
  }
}
