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
// `closeOut()` ends a run where it stands (stopped, or at its end) so that nothing is left waiting or signed in.
import type { IngestEvent, Source, SurveyMetric } from '../ingest/contract.ts';
import { TimeHeap } from './heap.ts';
import {
  DEFAULT_MODEL, FLAT_CURVE, INTRADAY_CURVE, assignTeams, queueMaxRate, queueRate, staffTarget, utcOffsetIn,
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
  /** The call or chat ringing at the agent (state `reserved`). */
  ringing?: Contact;
  /** The call or chat the agent is handling (talk and hold, then wrap-up): what a close-out ends where it stands. */
  handling?: Handling;
}

interface Handling {
  contact: Contact;
  queue: QueueModel;
  answeredAt: number;
  /** The drawn talk and hold times (the whole conversation). */
  talkMs: number;
  holdMs: number;
  /** When wrap-up began; unset while the conversation lasts. */
  wrapAt?: number;
  /** This leg ended in a transfer (the contact waits in its new queue). */
  transferred: boolean;
}

type HandleTimes = { talkMs: number; holdMs: number; acwMs: number };

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
/** The reason of the `offline` a close-out sends every agent still signed in. */
export const CLOSE_OUT_REASON = 'end-of-run';
/** The contract's largest duration field (ms). */
const MAX_MS = 86_400_000;

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
  /** Callers in the IVR (between ivr.started and ivr.ended). */
  private readonly inIvr = new Set<Contact>();
  /** closeOut() has run: the floor is closed, nothing happens any more. */
  private closed = false;
  /** Integration faults (duplicates, late deliveries) on emitted events; off for the close-out, sent at once. */
  private faults = true;
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
      utcOffsetMinutes: utcOffsetIn(options.timeZone ?? 'UTC'),
      ...(this.surge ? { surge: this.surge } : {}),
    };
    this.truth = new GroundTruth(options.thresholds ?? DEFAULT_THRESHOLDS);
    for (const q of model.queues) {
      this.queues.set(q.name, q);
      this.qs[q.name] = newQueueStats();
      if (q.kind === 'call') this.waitingCalls.set(q.name, []);
    }
    // A transfer moves the same contact to another queue: a call stays a call, a chat a chat.
    for (const q of model.queues) {
      for (const name of q.transferTo) {
        const to = this.queues.get(name);
        if (!to || to === q || to.kind !== 'call' || to.channel !== q.channel) {
          throw new RangeError(`queue ${q.name} transfers to ${JSON.stringify(name)}, which is not another ${q.channel} queue of the model`);
        }
      }
    }
    const teams = assignTeams(model, options.agents);
    // An agent's home queue (where the ACD reports them while available, on a break or offline) is their primary skill,
    // taken in turn from their team's skills: every queue a team serves shows agents, not only the team's first.
    const members = new Map<number, number>();
    this.agents = teams.map((ti, i) => {
      const team = model.teams[ti]!;
      const nth = members.get(ti) ?? 0;
      members.set(ti, nth + 1);
      return {
        id: `agent-${String(i + 1).padStart(3, '0')}`, name: agentName(i), team, skills: new Set(team.skills),
        home: this.queues.get(team.skills[nth % team.skills.length]!)!,
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

  /**
   * Every event still held back (late ones, duplicates), to be sent now: the run is over or stopped. The floor is left
   * as it is (contacts waiting, agents signed in): for a window of a floor that goes on (tests, benchmarks). A run that
   * ends for good calls `closeOut()` instead.
   */
  finish(): Emission[] {
    return this.drain(Infinity);
  }

  /**
   * Closes the floor at the current simulated time, as if everyone hung up and signed out at once, so that a wallboard
   * fed by the run shows nothing left waiting and no agent on once it ends: callers in the IVR leave it (`ivr.ended`,
   * abandoned); contacts queued or ringing abandon (`contact.abandoned`, counted as the model counts abandons, short
   * ones included); contacts in conversation or wrap-up end (`contact.ended` with the talk, hold and wrap-up elapsed so
   * far; cut off mid-conversation: not resolved); every agent signed in goes `offline` (reason `end-of-run`). The ground
   * truth records all of it. Nothing is scheduled any more (no surveys, callbacks or later events): `advance` emits
   * nothing after it. Returns the close-out's events (sent without duplicates or lateness) and every event still held
   * back, to be sent now. Open email tickets stay open: a backlog is not a wait. Calling it again returns only what is
   * still held back (nothing).
   */
  closeOut(): Emission[] {
    if (!this.closed) {
      this.closed = true;
      this.jobs.clear();
      // Events carry whole milliseconds (a paced run's clock may have a fraction).
      this.clock = Math.floor(this.clock);
      this.faults = false;
      for (const c of [...this.inIvr]) this.ivrEnd(c, 'abandoned');
      // Oldest first; a ringing contact was taken off its queue's list by its agent.
      const leaving: Contact[] = [];
      for (const list of this.waitingCalls.values()) leaving.push(...list);
      for (const agent of this.agents) if (agent.ringing) leaving.push(agent.ringing);
      leaving.sort((a, b) => a.offerAt - b.offerAt);
      for (const c of leaving) this.giveUp(c, false);
      for (const agent of this.agents) {
        const h = agent.handling;
        if (!h) continue;
        const times =
          h.wrapAt === undefined ? this.cutTimes(h, this.clock - h.answeredAt) : { talkMs: h.talkMs, holdMs: h.holdMs, acwMs: Math.min(MAX_MS, this.clock - h.wrapAt) };
        this.endContact(agent, h.contact, h.queue, times, h.transferred, h.wrapAt === undefined ? 'talk' : 'wrap-up');
      }
      this.available = [];
      for (const agent of this.agents) {
        agent.ringing = undefined;
        agent.onShift = false;
        agent.leaving = false;
        agent.breakDue = false;
        agent.breakCycle++;
        if (agent.state !== 'offline') this.setState(agent, 'offline', agent.home, CLOSE_OUT_REASON);
      }
      this.faults = true;
    }
    return this.drain(Infinity);
  }

  /**
   * Talk and hold of a conversation cut off `elapsed` ms after the answer. Where the hold fell in the call is not
   * modelled: the time so far is split in the drawn proportion of talk to hold, so the parts add up to it exactly.
   */
  private cutTimes(h: Handling, elapsed: number): HandleTimes {
    const e = Math.min(MAX_MS, Math.max(0, elapsed));
    const talkMs = h.holdMs === 0 ? e : Math.round((e * h.talkMs) / (h.talkMs + h.holdMs));
    return { talkMs, holdMs: e - talkMs, acwMs: 0 };
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
    const late = this.faults && d.chance(this.opts.lateRate);
    const sendAt = late ? at + Math.round(d.uniform(120_000, 600_000)) : at;
    if (late) this.counts.late++;
    this.out.push({ t: sendAt, seq: this.outSeq++, event, at, sendAt, duplicate: false, late });
    if (this.faults && d.chance(this.opts.duplicateRate)) {
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
    this.emit('ivr', 'ivr.started', { contactId: c.id, queue: q.name, channel: q.channel, customerId: customer });
    this.inIvr.add(c);
    const outcome = this.r.ivr.weighted([ivr.containment, ivr.abandon, 1 - ivr.containment - ivr.abandon]);
    const dur = Math.max(2_000, this.r.ivr.lognormal(ivr.meanS * (outcome === 0 ? 1.8 : 1) * 1000, 0.6));
    this.at(this.clock + dur, () => {
      const name = (['contained', 'abandoned', 'transferred'] as const)[outcome]!;
      this.ivrEnd(c, name);
      if (name === 'transferred') this.offer(c, q);
    });
  }

  private ivrEnd(c: Contact, outcome: 'contained' | 'abandoned' | 'transferred'): void {
    const q = c.queue;
    this.inIvr.delete(c);
    this.emit('ivr', 'ivr.ended', { contactId: c.id, queue: q.name, channel: q.channel, customerId: c.customer, outcome });
    const s = this.qs[q.name]!;
    s.ivrEnded++;
    if (outcome === 'contained') s.ivrContained++;
    this.record({ kind: 'ivr', at: this.clock, queue: q.name, team: '', channel: q.channel, agent: '', contactId: c.id, contained: outcome === 'contained' });
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
    this.giveUp(c, true);
  }

  /** The customer leaves before an answer (queued, or ringing at a close-out); some try again later (`callbacks`). */
  private giveUp(c: Contact, callbacks: boolean): void {
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
    if (callbacks && this.r.customer.chance(this.inputs.model.callbackProb * 0.6)) this.callback(q, c.customer);
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
    agent.ringing = c;
    c.state = 'ringing';
    this.removeWaiting(c);
    const ring = c.queue.channel === 'voice' ? this.r.route.uniform(2_000, 6_000) : this.r.route.uniform(1_000, 3_000);
    this.at(this.clock + ring, () => this.answer(agent, c));
  }

  private answer(agent: Agent, c: Contact): void {
    const t = this.clock;
    const q = c.queue;
    c.state = 'talking';
    agent.ringing = undefined;
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
    const handling: Handling = { contact: c, queue: q, answeredAt: t, talkMs: talk, holdMs: hold, transferred: false };
    agent.handling = handling;
    this.at(t + talk + hold, () => {
      handling.wrapAt = this.clock;
      handling.transferred = transferTo !== undefined;
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

  /**
   * The end of a leg, after wrap-up; or, at a close-out (`closing`), where it stands: then a conversation cut off
   * resolves nothing, and nothing follows (no survey, no callback, the agent is not freed for more work).
   */
  private endContact(agent: Agent, c: Contact, q: QueueModel, times: HandleTimes, transferred: boolean, closing?: 'talk' | 'wrap-up'): void {
    const t = this.clock;
    agent.handling = undefined;
    const resolved = !transferred && closing !== 'talk' && this.r.handle.chance(q.resolveProb);
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
      if (closing) return;
      if (this.r.survey.chance(q.surveyProb)) {
        const source: Source = q.channel === 'voice' ? 'ivr' : 'crm';
        const wait = c.lastWaitMs;
        this.at(t + this.r.survey.uniform(20_000, 180_000), () => this.survey(source, c.id, c.customer, scope, { waitMs: wait, resolved, transferred: c.transferred }));
      }
      if (!resolved && this.r.customer.chance(this.inputs.model.callbackProb)) this.callback(q, c.customer);
    }
    if (!closing) this.agentFree(agent);
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
