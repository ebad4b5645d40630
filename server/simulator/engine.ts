// The discrete-event simulation of a contact center. Pure and deterministic: simulated time only (never the wall
// clock), every random draw from streams forked from the seed. `advance(t)` runs the simulation up to simulated time
// t and returns the contract events due to be sent by then (late events later, duplicates a second time), in send
// order; the sender (sender.ts) maps simulated time to wall time and posts them.
//
// What is simulated (docs/simulator.md): Poisson arrivals per queue following the intraday curve (thinning), voice
// calls through an IVR (contained, abandoned or sent to the queue), chats straight to their queue, email tickets
// into a backlog; callers with exponential patience who abandon; agents in teams with skills, longest-idle routing,
// log-normal talk, hold and wrap-up times, transfers, aux breaks, shifts following the curve (offline at shift end);
// ticket replies, solves and reopens; surveys whose scores depend on the wait, the resolution and transfers; repeat
// customers and callbacks after unresolved contacts; a few duplicates and late deliveries, as real integrations send.
import type { IngestEvent, Source, SurveyMetric } from '../ingest/contract.ts';
import { TimeHeap } from './heap.ts';
import {
  DEFAULT_MODEL, FLAT_CURVE, INTRADAY_CURVE, assignTeams, queueMaxRate, queueRate, staffTarget, utcOffsetMinutes,
  type CenterModel, type QueueModel, type RateInputs, type ResolvedSurge, type SurgeOptions, type TeamModel,
} from './model.ts';
import { Rng } from './random.ts';
import { DEFAULT_THRESHOLDS, GroundTruth, type Thresholds } from './truth.ts';

export interface EngineOptions {
  /** Same seed, same start, same options: the same events, byte for byte. */
  seed: number | string;
  /** Centre size: agents on the roster (on shift at the peak). */
  agents: number;
  /** Arrival-rate multiplier: 1 is the load the centre is staffed for (≈ 85 % occupancy at the peak). */
  load?: number;
  /** Simulated start (epoch ms). */
  startAt: number;
  /** Simulated length; unset: runs until stopped. */
  durationMs?: number;
  /**
   * Simulated time from which the run plays live, in step with the wall clock (where a backfill has caught up; after
   * the end if it never does). Default: the start. Only places the default surge where live thresholds can see it.
   */
  liveAt?: number;
  /** One queue's arrivals multiplied for a while, so it breaches its thresholds, then recovers. */
  surge?: SurgeOptions;
  /** Arrival-rate shape over the local day: the default weekday curve, flat, or 24 hourly values. */
  curve?: 'intraday' | 'flat' | readonly number[];
  /** Time zone of the curve's hours (default UTC). */
  timeZone?: string;
  model?: CenterModel;
  /** Share of events sent a second time with the same id (default 0.005). */
  duplicateRate?: number;
  /** Share of events sent 2–10 minutes after they happened (default 0.005). */
  lateRate?: number;
  /** Tag every event `attributes.demo = "1"`. */
  demo?: boolean;
  /** Keep every measure for ground-truth KPIs (tests; memory grows with the run). */
  keepTruth?: boolean;
  thresholds?: Thresholds;
}

export interface Emission {
  event: IngestEvent;
  /** When it happened (simulated epoch ms). */
  at: number;
  /** When to send it: `at`, or later for a late event or a duplicate. */
  sendAt: number;
  duplicate: boolean;
  late: boolean;
}

export interface QueueStats {
  /** Arrivals of the Poisson process (callbacks not included). */
  arrivals: number;
  /** Customers coming back after an abandon or an unresolved contact. */
  callbacks: number;
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandoned: number;
  answeredInSl: number;
  waitMsSum: number;
  ended: number;
  handleMsSum: number;
  transfers: number;
  ivrEnded: number;
  ivrContained: number;
  tickets: number;
  solved: number;
  reopened: number;
}

export interface EngineStats {
  simTime: number;
  events: number;
  duplicates: number;
  late: number;
  byType: Record<string, number>;
  queues: Record<string, QueueStats>;
  surveys: number;
  agentsOnShift: number;
  waiting: number;
}

type AgentState = 'offline' | 'available' | 'reserved' | 'busy' | 'acw' | 'aux';

interface Agent {
  id: string;
  /** What the ACD calls them (sent as attributes.agentName on agent.state events). */
  name: string;
  team: TeamModel;
  skills: ReadonlySet<string>;
  home: QueueModel;
  state: AgentState;
  onShift: boolean;
  leaving: boolean;
  breakDue: boolean;
  /** Bumped at every scheduled break and at logout: a break job from an older cycle sees it changed and ends. */
  breakCycle: number;
  idleSince: number;
}

interface Contact {
  id: string;
  customer: string;
  queue: QueueModel;
  state: 'ivr' | 'queued' | 'ringing' | 'talking' | 'done';
  offerAt: number;
  gen: number;
  transferred: boolean;
  lastWaitMs: number;
}

interface Ticket {
  id: string;
  customer: string;
  queue: QueueModel;
  createdAt: number;
  pendingSince: number;
  repliedPublic: boolean;
  solvedOnce: boolean;
  reopened: boolean;
}

interface Job {
  t: number;
  seq: number;
  run: () => void;
}

interface Pending extends Emission {
  t: number;
  seq: number;
}

const BREAK_REASONS = ['break', 'lunch', 'training', 'coaching'] as const;
const BREAK_WEIGHTS = [0.55, 0.2, 0.15, 0.1];
const STAFF_TICK_MS = 15 * 60_000;

const newQueueStats = (): QueueStats => ({
  arrivals: 0, callbacks: 0, offered: 0, answered: 0, abandoned: 0, shortAbandoned: 0, answeredInSl: 0, waitMsSum: 0, ended: 0,
  handleMsSum: 0, transfers: 0, ivrEnded: 0, ivrContained: 0, tickets: 0, solved: 0, reopened: 0,
});

/** A short, stable tag of a run (seed + start), prefixed to every id so runs never collide. */
export function runTag(seed: number | string, startAt: number): string {
  return `sim${new Rng(`${seed}@${startAt}`).int(2 ** 31).toString(36)}`;
}

export class Simulation {
  readonly tag: string;
  readonly startAt: number;
  readonly endAt: number;
  readonly truth: GroundTruth;
  readonly inputs: RateInputs;
  private readonly rng: Rng;
  private readonly r: Record<'ivr' | 'patience' | 'handle' | 'route' | 'agents' | 'survey' | 'customer' | 'delivery' | 'ticket', Rng>;
  private readonly jobs = new TimeHeap<Job>();
  private readonly out = new TimeHeap<Pending>();
  private seq = 0;
  private outSeq = 0;
  private eventSeq = 0;
  private contactSeq = 0;
  private customerSeq = 0;
  private clock: number;
  private readonly agents: Agent[];
  private available: Agent[] = [];
  private readonly queues = new Map<string, QueueModel>();
  private readonly waitingCalls = new Map<string, Contact[]>();
  private readonly backlog: Ticket[] = [];
  private readonly recentCustomers: string[] = [];
  private readonly qs: Record<string, QueueStats> = {};
  private readonly counts = { events: 0, duplicates: 0, late: 0, surveys: 0, byType: {} as Record<string, number> };
  private readonly opts: Required<Pick<EngineOptions, 'duplicateRate' | 'lateRate' | 'demo' | 'keepTruth'>>;
  private readonly surge: ResolvedSurge | undefined;

  constructor(options: EngineOptions) {
    const model = options.model ?? DEFAULT_MODEL;
    if (!Number.isInteger(options.agents) || options.agents < model.teams.length) {
      throw new RangeError(`agents must be an integer of at least ${model.teams.length} (one per team), got ${options.agents}`);
    }
    const load = options.load ?? 1;
    if (!(load > 0)) throw new RangeError(`load must be positive, got ${load}`);
    this.startAt = Math.round(options.startAt);
    this.endAt = options.durationMs === undefined ? Infinity : this.startAt + Math.round(options.durationMs);
    this.clock = this.startAt;
    this.tag = runTag(options.seed, this.startAt);
    this.rng = new Rng(String(options.seed));
    this.r = {
      ivr: this.rng.fork('ivr'), patience: this.rng.fork('patience'), handle: this.rng.fork('handle'), route: this.rng.fork('route'),
      agents: this.rng.fork('agents'), survey: this.rng.fork('survey'), customer: this.rng.fork('customer'),
      delivery: this.rng.fork('delivery'), ticket: this.rng.fork('ticket'),
    };
    this.opts = {
      duplicateRate: options.duplicateRate ?? 0.005,
      lateRate: options.lateRate ?? 0.005,
      demo: options.demo ?? false,
      keepTruth: options.keepTruth ?? false,
    };
    if (options.surge) {
      const s = options.surge;
      if (!model.queues.some((q) => q.name === s.queue)) {
        throw new RangeError(`surge queue ${JSON.stringify(s.queue)} is not a queue of the model (${model.queues.map((q) => q.name).join(', ')})`);
      }
      this.surge = { queue: s.queue, factor: s.factor ?? 3, ...this.surgePlace(s, options.liveAt) };
    }
    const curve = options.curve === undefined || options.curve === 'intraday' ? INTRADAY_CURVE : options.curve === 'flat' ? FLAT_CURVE : options.curve;
    if (curve.length !== 24 || curve.some((c) => !(c >= 0)) || Math.max(...curve) <= 0) throw new RangeError('curve must have 24 non-negative hourly values, not all 0');
    this.inputs = {
      model, agents: options.agents, load, curve,
      utcOffsetMinutes: utcOffsetMinutes(options.timeZone ?? 'UTC', this.startAt),
      ...(this.surge ? { surge: this.surge } : {}),
    };
    this.truth = new GroundTruth(options.thresholds ?? DEFAULT_THRESHOLDS);
    for (const q of model.queues) {
      this.queues.set(q.name, q);
      this.qs[q.name] = newQueueStats();
      if (q.kind === 'call') this.waitingCalls.set(q.name, []);
    }
    const teams = assignTeams(model, options.agents);
    this.agents = teams.map((ti, i) => {
      const team = model.teams[ti]!;
      return {
        id: `agent-${String(i + 1).padStart(3, '0')}`, name: agentName(i), team, skills: new Set(team.skills), home: this.queues.get(team.skills[0]!)!,
        state: 'offline', onShift: false, leaving: false, breakDue: false, breakCycle: 0, idleSince: 0,
      };
    });

    // Shifts, then the first arrival of every queue.
    this.at(this.startAt, () => this.staffTick(true));
    for (const q of model.queues) this.scheduleArrival(q, this.startAt, this.rng.fork(`arrivals/${q.name}`));
  }

  get now(): number {
    return this.clock;
  }

  /**
   * Where the surge goes (docs/simulator.md): thresholds look at rolling windows ending now, so by default it lies in
   * the part of the run played live (from `liveAt`): its middle 30 %, or without a duration from 2 minutes in for 10
   * minutes. A run with less than 10 minutes of it (all in the past, as `--speed 60 --duration 2h`) has the surge in
   * the 30 % of the run before its last 5 minutes: at the end its 15-minute figures breach, its live ones have
   * recovered. An explicit `startMs` counts from the start of the run.
   */
  private surgePlace(s: SurgeOptions, liveAt: number | undefined): { from: number; to: number } {
    const MIN = 60_000;
    const live = Math.min(this.endAt, Math.max(this.startAt, Math.round(liveAt ?? this.startAt)));
    const runMs = this.endAt - this.startAt;
    let from: number;
    let length: number;
    if (!Number.isFinite(this.endAt)) {
      from = live + 2 * MIN;
      length = 10 * MIN;
    } else if (this.endAt - live >= Math.min(10 * MIN, runMs)) {
      length = Math.round((this.endAt - live) * 0.3);
      from = live + length;
    } else {
      length = Math.round(runMs * 0.3);
      from = Math.max(this.startAt, this.endAt - 5 * MIN - length);
    }
    if (s.startMs !== undefined) from = this.startAt + s.startMs;
    if (s.durationMs !== undefined) length = s.durationMs;
    return { from, to: from + length };
  }

  get surgeWindow(): ResolvedSurge | undefined {
    return this.surge;
  }

  /** Runs the simulation up to `until` (simulated ms; at most the end) and returns the events due by then. */
  advance(until: number): Emission[] {
    const limit = Math.min(until, this.endAt);
    for (let job = this.jobs.peek(); job && job.t <= limit; job = this.jobs.peek()) {
      this.jobs.pop();
      this.clock = job.t;
      job.run();
    }
    if (limit > this.clock) this.clock = limit;
    return this.drain(until);
  }

  /** Every event still held back (late ones, duplicates), to be sent now: the run is over or stopped. */
  finish(): Emission[] {
    return this.drain(Infinity);
  }

  get pendingEmissions(): number {
    return this.out.size;
  }

  stats(): EngineStats {
    let waiting = 0;
    for (const list of this.waitingCalls.values()) for (const c of list) if (c.state === 'queued') waiting++;
    return {
      simTime: this.clock,
      events: this.counts.events,
      duplicates: this.counts.duplicates,
      late: this.counts.late,
      byType: { ...this.counts.byType },
      queues: structuredClone(this.qs),
      surveys: this.counts.surveys,
      agentsOnShift: this.agents.filter((a) => a.onShift).length,
      waiting,
    };
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  private at(t: number, run: () => void): void {
    this.jobs.push({ t: Math.max(Math.round(t), this.clock), seq: this.seq++, run });
  }

  private drain(until: number): Emission[] {
    const out: Emission[] = [];
    for (let p = this.out.peek(); p && p.sendAt <= until; p = this.out.peek()) {
      this.out.pop();
      out.push({ event: p.event, at: p.at, sendAt: p.sendAt, duplicate: p.duplicate, late: p.late });
    }
    return out;
  }

  private emit(source: Source, type: IngestEvent['type'], fields: Record<string, unknown>, attributes: Record<string, string> = {}): void {
    const at = this.clock;
    const event = {
      id: `${this.tag}-${(this.eventSeq++).toString(36).padStart(7, '0')}`,
      source,
      type,
      occurredAt: new Date(at).toISOString(),
      ...fields,
      attributes: { ...attributes, sim: this.tag, ...(this.opts.demo ? { demo: '1' } : {}) },
    } as unknown as IngestEvent;
    for (const k of Object.keys(event)) if ((event as Record<string, unknown>)[k] === undefined || (event as Record<string, unknown>)[k] === '') delete (event as Record<string, unknown>)[k];
    this.counts.events++;
    this.counts.byType[type] = (this.counts.byType[type] ?? 0) + 1;
    const d = this.r.delivery;
    const late = d.chance(this.opts.lateRate);
    const sendAt = late ? at + Math.round(d.uniform(120_000, 600_000)) : at;
    if (late) this.counts.late++;
    this.out.push({ t: sendAt, seq: this.outSeq++, event, at, sendAt, duplicate: false, late });
    if (d.chance(this.opts.duplicateRate)) {
      this.counts.duplicates++;
      const again = sendAt + Math.round(d.uniform(1_000, 60_000));
      this.out.push({ t: again, seq: this.outSeq++, event, at, sendAt: again, duplicate: true, late });
    }
  }

  private record(m: Parameters<GroundTruth['record']>[0]): void {
    if (this.opts.keepTruth) this.truth.record(m);
  }

  // ---- arrivals --------------------------------------------------------------------------------------------------

  /** Non-homogeneous Poisson arrivals by thinning: candidates at the maximum rate, kept with probability rate/max. */
  private scheduleArrival(q: QueueModel, from: number, rng: Rng): void {
    const max = queueMaxRate(this.inputs, q);
    if (!(max > 0)) return;
    let t = from;
    for (let i = 0; i < 1_000_000; i++) {
      t += rng.exponential(1000 / max);
      if (t >= this.endAt) return;
      if (rng.next() * max <= queueRate(this.inputs, q, t)) break;
    }
    this.at(t, () => {
      this.arrive(q, this.newCustomer());
      this.scheduleArrival(q, t, rng);
    });
  }

  private newCustomer(): string {
    const r = this.r.customer;
    if (this.recentCustomers.length > 0 && r.chance(this.inputs.model.repeatCustomerProb)) return r.pick(this.recentCustomers);
    const id = `${this.tag}-cu${(this.customerSeq++).toString(36)}`;
    if (this.recentCustomers.length < 5000) this.recentCustomers.push(id);
    else this.recentCustomers[r.int(5000)] = id;
    return id;
  }

  private arrive(q: QueueModel, customer: string, callback = false): void {
    if (callback) this.qs[q.name]!.callbacks++;
    else this.qs[q.name]!.arrivals++;
    if (q.kind === 'ticket') return this.createTicket(q, customer);
    const c: Contact = {
      id: `${this.tag}-${q.channel === 'voice' ? 'call' : 'chat'}${(this.contactSeq++).toString(36)}`,
      customer, queue: q, state: 'ivr', offerAt: 0, gen: 0, transferred: false, lastWaitMs: 0,
    };
    if (!q.ivr) return this.offer(c, q);
    const ivr = q.ivr;
    const scope = { contactId: c.id, queue: q.name, channel: q.channel, customerId: customer };
    this.emit('ivr', 'ivr.started', scope);
    const outcome = this.r.ivr.weighted([ivr.containment, ivr.abandon, 1 - ivr.containment - ivr.abandon]);
    const dur = Math.max(2_000, this.r.ivr.lognormal(ivr.meanS * (outcome === 0 ? 1.8 : 1) * 1000, 0.6));
    this.at(this.clock + dur, () => {
      const name = (['contained', 'abandoned', 'transferred'] as const)[outcome]!;
      this.emit('ivr', 'ivr.ended', { ...scope, outcome: name });
      const s = this.qs[q.name]!;
      s.ivrEnded++;
      if (name === 'contained') s.ivrContained++;
      this.record({ kind: 'ivr', at: this.clock, queue: q.name, team: '', channel: q.channel, agent: '', contactId: c.id, contained: name === 'contained' });
      if (name === 'transferred') this.offer(c, q);
    });
  }

  // ---- calls and chats -------------------------------------------------------------------------------------------

  private offer(c: Contact, q: QueueModel): void {
    const t = this.clock;
    c.queue = q;
    c.state = 'queued';
    c.offerAt = t;
    c.gen++;
    this.emit('acd', 'contact.offered', { contactId: c.id, queue: q.name, channel: q.channel, customerId: c.customer });
    this.qs[q.name]!.offered++;
    if (this.opts.keepTruth) this.truth.interaction(c.id, c.customer, t);
    this.truth.queueEvent(c.id, t, true, { queue: q.name, channel: q.channel });
    this.record({ kind: 'offer', at: t, queue: q.name, team: '', channel: q.channel, agent: '', contactId: c.id });
    const gen = c.gen;
    this.at(t + Math.max(1, this.r.patience.exponential(q.patienceMeanS * 1000)), () => this.abandon(c, gen));
    this.waitingCalls.get(q.name)!.push(c);
    const agent = this.available.find((a) => a.skills.has(q.name));
    if (agent) this.assign(agent, c);
  }

  private abandon(c: Contact, gen: number): void {
    if (c.state !== 'queued' || c.gen !== gen) return;
    const t = this.clock;
    const q = c.queue;
    c.state = 'done';
    this.removeWaiting(c);
    const waitMs = t - c.offerAt;
    this.emit('acd', 'contact.abandoned', { contactId: c.id, queue: q.name, channel: q.channel, customerId: c.customer });
    const s = this.qs[q.name]!;
    if (waitMs < this.truth.thresholds.shortAbandonMs) s.shortAbandoned++;
    else s.abandoned++;
    this.truth.queueEvent(c.id, t, false, { queue: q.name, channel: q.channel });
    this.truth.forgetLive(c.id);
    this.record({ kind: 'abandon', at: t, queue: q.name, team: '', channel: q.channel, agent: '', contactId: c.id, waitMs });
    // Some abandoners try again later.
    if (this.r.customer.chance(this.inputs.model.callbackProb * 0.6)) this.callback(q, c.customer);
  }

  private removeWaiting(c: Contact): void {
    const list = this.waitingCalls.get(c.queue.name)!;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  }

  private callback(q: QueueModel, customer: string): void {
    const t = this.clock + this.r.customer.exponential(this.inputs.model.callbackMeanS * 1000);
    if (t < this.endAt) this.at(t, () => this.arrive(q, customer, true));
  }

  /** Reserves the agent for the contact; the call rings a few seconds before it is answered. */
  private assign(agent: Agent, c: Contact): void {
    this.takeAgent(agent);
    agent.state = 'reserved';
    c.state = 'ringing';
    this.removeWaiting(c);
    const ring = c.queue.channel === 'voice' ? this.r.route.uniform(2_000, 6_000) : this.r.route.uniform(1_000, 3_000);
    this.at(this.clock + ring, () => this.answer(agent, c));
  }

  private answer(agent: Agent, c: Contact): void {
    const t = this.clock;
    const q = c.queue;
    c.state = 'talking';
    const waitMs = t - c.offerAt;
    c.lastWaitMs = waitMs;
    const scope = { queue: q.name, channel: q.channel, agentId: agent.id, team: agent.team.name };
    this.emit('acd', 'contact.answered', { contactId: c.id, ...scope, customerId: c.customer });
    this.setState(agent, 'busy', q);
    const s = this.qs[q.name]!;
    s.answered++;
    s.waitMsSum += waitMs;
    if (waitMs <= this.truth.thresholds.slThresholdMs) s.answeredInSl++;
    this.truth.queueEvent(c.id, t, false, { queue: q.name, channel: q.channel });
    this.record({ kind: 'answer', at: t, queue: q.name, team: agent.team.name, channel: q.channel, agent: agent.id, contactId: c.id, waitMs });

    const h = this.r.handle;
    const talk = Math.max(5_000, Math.round(h.lognormal(q.talkMeanS * 1000, q.talkCv)));
    const hold = h.chance(q.holdProb) ? Math.max(1_000, Math.round(h.lognormal(q.holdMeanS * 1000, 0.7))) : 0;
    const acw = Math.max(1_000, Math.round(h.lognormal(q.acwMeanS * 1000, 0.5)));
    const transferTo = !c.transferred && q.transferTo.length > 0 && h.chance(q.transferProb) ? this.queues.get(h.pick(q.transferTo)) : undefined;
    this.at(t + talk + hold, () => {
      if (transferTo) {
        c.transferred = true;
        this.emit('acd', 'contact.transferred', { contactId: c.id, ...scope, toQueue: transferTo.name });
        s.transfers++;
        if (this.opts.keepTruth) this.truth.repeated(c.id);
        this.offer(c, transferTo);
      }
      this.setState(agent, 'acw', q);
      this.at(this.clock + acw, () => this.endContact(agent, c, q, { talkMs: talk, holdMs: hold, acwMs: acw }, transferTo !== undefined));
    });
  }

  private endContact(agent: Agent, c: Contact, q: QueueModel, times: { talkMs: number; holdMs: number; acwMs: number }, transferred: boolean): void {
    const t = this.clock;
    const resolved = !transferred && this.r.handle.chance(q.resolveProb);
    const scope = { queue: q.name, channel: q.channel, agentId: agent.id, team: agent.team.name };
    this.emit('acd', 'contact.ended', { contactId: c.id, ...scope, ...times, resolved, customerId: c.customer });
    const handleMs = times.talkMs + times.holdMs + times.acwMs;
    const s = this.qs[q.name]!;
    s.ended++;
    s.handleMsSum += handleMs;
    // A transferred contact already waits in its new queue: this end closes the first leg, not that wait.
    if (!transferred) this.truth.queueEvent(c.id, t, false, { queue: q.name, channel: q.channel });
    this.record({ kind: 'end', at: t, queue: q.name, team: agent.team.name, channel: q.channel, agent: agent.id, contactId: c.id, handleMs });
    if (!transferred) {
      c.state = 'done';
      this.truth.forgetLive(c.id);
      if (resolved) this.record({ kind: 'resolution', at: t, queue: q.name, team: agent.team.name, channel: q.channel, agent: agent.id, contactId: c.id });
      if (this.r.survey.chance(q.surveyProb)) {
        const source: Source = q.channel === 'voice' ? 'ivr' : 'crm';
        const wait = c.lastWaitMs;
        this.at(t + this.r.survey.uniform(20_000, 180_000), () => this.survey(source, c.id, c.customer, scope, { waitMs: wait, resolved, transferred: c.transferred }));
      }
      if (!resolved && this.r.customer.chance(this.inputs.model.callbackProb)) this.callback(q, c.customer);
    }
    this.agentFree(agent);
  }

  // ---- tickets ---------------------------------------------------------------------------------------------------

  private createTicket(q: QueueModel, customer: string): void {
    const t = this.clock;
    const k: Ticket = {
      id: `${this.tag}-T${(this.contactSeq++).toString(36)}`, customer, queue: q, createdAt: t, pendingSince: t,
      repliedPublic: false, solvedOnce: false, reopened: false,
    };
    this.emit('crm', 'ticket.created', { contactId: k.id, queue: q.name, channel: q.channel, customerId: customer });
    this.qs[q.name]!.tickets++;
    if (this.opts.keepTruth) this.truth.interaction(k.id, customer, t);
    this.pushBacklog(k);
  }

  /**
   * Puts the ticket in the backlog, and gives the longest-idle available agent with its skill work (the oldest ticket of
   * its skills: this one, unless older ones of those queues wait), not whatever ticket heads the backlog.
   */
  private pushBacklog(k: Ticket): void {
    k.pendingSince = this.clock;
    this.backlog.push(k);
    const agent = this.available.find((a) => a.skills.has(k.queue.name));
    if (agent) this.serve(agent);
  }

  private work(agent: Agent, k: Ticket): void {
    const q = k.queue;
    this.takeAgent(agent);
    this.setState(agent, 'busy', q);
    const scope = { queue: q.name, channel: q.channel, agentId: agent.id, team: agent.team.name };
    const h = this.r.handle;
    const dur = Math.max(30_000, Math.round(h.lognormal(q.talkMeanS * 1000, q.talkCv)));
    if (this.r.ticket.chance(0.1)) this.at(this.clock + dur / 2, () => this.emit('crm', 'ticket.replied', { contactId: k.id, ...scope, public: false }));
    this.at(this.clock + dur, () => {
      const t = this.clock;
      this.emit('crm', 'ticket.replied', { contactId: k.id, ...scope, public: true });
      if (!k.repliedPublic) {
        k.repliedPublic = true;
        this.record({ kind: 'reply', at: t, queue: q.name, team: agent.team.name, channel: q.channel, agent: agent.id, contactId: k.id, frtMs: t - k.createdAt });
      }
      const rt = this.r.ticket;
      if (rt.chance(q.resolveProb)) {
        this.at(t + 1_000, () => this.solve(k, scope));
      } else {
        // The customer writes back; the ticket returns to the backlog.
        const back = t + rt.exponential(20 * 60_000);
        if (back < this.endAt) this.at(back, () => this.pushBacklog(k));
      }
      this.setState(agent, 'acw', q);
      this.at(t + Math.max(1_000, h.lognormal(q.acwMeanS * 1000, 0.5)), () => this.agentFree(agent));
    });
  }

  private solve(k: Ticket, scope: { queue: string; channel: string; agentId: string; team: string }): void {
    const t = this.clock;
    this.emit('crm', 'ticket.solved', { contactId: k.id, ...scope });
    const s = this.qs[k.queue.name]!;
    s.solved++;
    if (!k.solvedOnce) {
      k.solvedOnce = true;
      this.record({ kind: 'resolution', at: t, queue: scope.queue, team: scope.team, channel: scope.channel, agent: scope.agentId, contactId: k.id });
      const rs = this.r.survey;
      if (rs.chance(k.queue.surveyProb)) {
        // Email customers measure in hours what callers measure in seconds: an hour to solve weighs like a minute's wait.
        const waitMs = t - k.createdAt;
        this.at(t + rs.exponential(15 * 60_000), () => this.survey('crm', k.id, k.customer, scope, { waitMs: waitMs / 60, resolved: true, transferred: k.reopened }));
      }
    }
    const rt = this.r.ticket;
    if (!k.reopened && rt.chance(0.08)) {
      const again = t + rt.exponential(30 * 60_000);
      if (again < this.endAt) {
        this.at(again, () => {
          k.reopened = true;
          this.emit('crm', 'ticket.reopened', { contactId: k.id, queue: k.queue.name, channel: k.queue.channel, customerId: k.customer });
          s.reopened++;
          if (this.opts.keepTruth) this.truth.repeated(k.id);
          this.pushBacklog(k);
        });
      }
    }
  }

  // ---- surveys ---------------------------------------------------------------------------------------------------

  /**
   * A post-contact survey: a latent satisfaction driven by the resolution, the wait and transfers, plus noise,
   * mapped to each metric's scale. CSAT is always asked; NPS, CES and FCR sometimes.
   */
  private survey(
    source: Source,
    contactId: string,
    customer: string,
    scope: { queue: string; channel: string; agentId: string; team: string },
    how: { waitMs: number; resolved: boolean; transferred: boolean },
  ): void {
    const r = this.r.survey;
    const waitPenalty = Math.min(2, Math.max(0, (how.waitMs / 1000 - 30) / 120));
    const sat = Math.max(-3, Math.min(3, 0.6 + (how.resolved ? 0.8 : -1.2) - waitPenalty - (how.transferred ? 0.5 : 0) + 0.8 * r.normal()));
    const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(x)));
    const answers: Array<[SurveyMetric, number]> = [['csat', clamp(3.3 + sat, 1, 5)]];
    if (r.chance(0.5)) answers.push(['nps', clamp(6.8 + 1.6 * sat, 0, 10)]);
    if (r.chance(0.4)) answers.push(['ces', clamp(3 - 1.2 * sat + (how.transferred ? 1 : 0), 1, 7)]);
    if (r.chance(0.4)) answers.push(['fcr', how.resolved && !how.transferred ? (r.chance(0.9) ? 1 : 0) : r.chance(0.15) ? 1 : 0]);
    for (const [metric, score] of answers) {
      this.emit(source, 'survey.response', { contactId, ...scope, customerId: customer, metric, score });
      this.counts.surveys++;
      this.record({ kind: 'survey', at: this.clock, queue: scope.queue, team: scope.team, channel: scope.channel, agent: scope.agentId, contactId, metric, score });
    }
  }

  // ---- agents ----------------------------------------------------------------------------------------------------

  private setState(agent: Agent, state: 'available' | 'busy' | 'acw' | 'aux' | 'offline', q: QueueModel = agent.home, reason?: string): void {
    agent.state = state;
    this.emit('acd', 'agent.state', { agentId: agent.id, team: agent.team.name, queue: q.name, channel: q.channel, state, reason }, { agentName: agent.name });
    this.truth.agentState(agent.id, { state, team: agent.team.name, queue: q.name, channel: q.channel });
  }

  private takeAgent(agent: Agent): void {
    const i = this.available.indexOf(agent);
    if (i >= 0) this.available.splice(i, 1);
  }

  /** The longest-waiting call the agent can take, if any. */
  private callWaitingFor(agent: Agent): Contact | undefined {
    let best: Contact | undefined;
    for (const skill of agent.skills) {
      const head = this.waitingCalls.get(skill)?.[0];
      if (head && (!best || head.offerAt < best.offerAt)) best = head;
    }
    return best;
  }

  /** After a contact: a break if one is due, offline at shift end, else available for the next contact. */
  private agentFree(agent: Agent): void {
    if (agent.leaving) return this.logout(agent);
    if (agent.breakDue) return this.startBreak(agent);
    this.setState(agent, 'available');
    agent.idleSince = this.clock;
    this.available.push(agent);
    this.serve(agent);
  }

  /** Gives an available agent work: calls and chats first (voice cannot wait), then the oldest ticket. */
  private serve(agent: Agent): void {
    const call = this.callWaitingFor(agent);
    if (call) return this.assign(agent, call);
    const i = this.backlog.findIndex((k) => agent.skills.has(k.queue.name));
    if (i >= 0) this.work(agent, this.backlog.splice(i, 1)[0]!);
  }

  private startBreak(agent: Agent): void {
    agent.breakDue = false;
    this.takeAgent(agent);
    const r = this.r.agents;
    const reason = BREAK_REASONS[r.weighted(BREAK_WEIGHTS)]!;
    this.setState(agent, 'aux', agent.home, reason);
    const length = Math.max(60_000, r.lognormal(this.inputs.model.auxMeanS * 1000 * (reason === 'lunch' ? 2.5 : 1), 0.4));
    this.at(this.clock + length, () => {
      if (!agent.leaving) this.scheduleBreak(agent);
      this.agentFree(agent);
    });
  }

  /**
   * The agent's next break, about every 1/auxPerHour hours. One cycle per agent: scheduling a break (at login, after
   * a break) supersedes any earlier one still pending, so an agent who logs out and back in (the lunch dip) does not
   * keep the old cycle beside the new one and take extra breaks.
   */
  private scheduleBreak(agent: Agent): void {
    const cycle = ++agent.breakCycle;
    const perHour = this.inputs.model.auxPerHour;
    if (!(perHour > 0)) return;
    this.at(this.clock + this.r.agents.exponential(3_600_000 / perHour), () => {
      if (agent.breakCycle !== cycle || !agent.onShift) return;
      // About to log out: no break now, but the cycle goes on should the shift be extended.
      if (agent.leaving) return this.scheduleBreak(agent);
      agent.breakDue = true;
      if (agent.state === 'available') this.startBreak(agent);
    });
  }

  private logout(agent: Agent): void {
    agent.leaving = false;
    agent.onShift = false;
    agent.breakDue = false;
    agent.breakCycle++; // the pending break job, if any, belongs to this shift
    this.takeAgent(agent);
    this.setState(agent, 'offline', agent.home, 'shift-end');
  }

  /** Every 15 minutes: agents log in or finish their shift so that the number on shift follows the curve. */
  private staffTick(first: boolean): void {
    const target = staffTarget(this.inputs, this.clock + STAFF_TICK_MS / 2);
    const r = this.r.agents;
    this.agents.forEach((agent, i) => {
      if (i < target) {
        if (agent.leaving) agent.leaving = false;
        if (agent.onShift) return;
        agent.onShift = true;
        this.at(this.clock + (first ? r.uniform(0, 20_000) : r.uniform(0, 5 * 60_000)), () => {
          if (!agent.onShift || agent.state !== 'offline') return;
          this.scheduleBreak(agent);
          this.agentFree(agent);
        });
      } else if (agent.onShift && !agent.leaving) {
        agent.leaving = true;
        if (agent.state === 'available') this.logout(agent);
        else if (agent.state === 'offline') {
          agent.onShift = false; // had not logged in yet
          agent.leaving = false;
        }
      }
    });
    this.at(this.clock + STAFF_TICK_MS, () => this.staffTick(false));
  }
}

const FIRST_NAMES = ['Ayşe', 'Mehmet', 'Elif', 'Can', 'Zeynep', 'Emre', 'Deniz', 'Burak', 'Selin', 'Murat', 'Ana', 'Jonas', 'Leyla', 'Omar', 'Mia', 'Kerem', 'Sofia', 'Arda', 'Nora', 'Yusuf'];
const INITIALS = 'ABCDEGKMNOPSTYZ';

/** A simulated agent's name, the same for the same index in every run: "Ayşe A.", "Mehmet A.", …, then "Ayşe B.". */
function agentName(i: number): string {
  return `${FIRST_NAMES[i % FIRST_NAMES.length]} ${INITIALS[Math.floor(i / FIRST_NAMES.length) % INITIALS.length]}.`;
}
