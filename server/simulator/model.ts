// The simulated center: queues per channel, teams with skills, handle-time and patience distributions, the intraday
// arrival curve, and how the knobs (centre size, load factor, surge) turn into arrival rates and staffing.
// docs/simulator.md describes the model and where it is (and is not) realistic.
import { tzOffsetMs } from '../time-zone.ts';

export type SimChannel = 'voice' | 'chat' | 'email';

export interface QueueModel {
  name: string;
  channel: SimChannel;
  /** `call`: voice or chat, waits in queue and may abandon; `ticket`: email, worked from a backlog. */
  kind: 'call' | 'ticket';
  /** Share of the center's arrivals. */
  share: number;
  /** Mean patience in seconds (exponential); callers whose wait exceeds it abandon. */
  patienceMeanS: number;
  /** Talk time (tickets: work time per reply), log-normal. */
  talkMeanS: number;
  talkCv: number;
  /** Probability a call has a hold, and its mean length (log-normal, cv 0.7). */
  holdProb: number;
  holdMeanS: number;
  /** After-call work (wrap-up), log-normal, cv 0.5. */
  acwMeanS: number;
  /** Voice only: the IVR in front of the queue. */
  ivr?: { containment: number; abandon: number; meanS: number };
  /** Probability the agent transfers the contact, and where to: other queues of the same channel (a call stays a call). */
  transferProb: number;
  transferTo: readonly string[];
  /** Probability a handled contact (or a ticket's reply) resolves the issue. */
  resolveProb: number;
  /** Probability the customer answers a post-contact survey. */
  surveyProb: number;
}

export interface TeamModel {
  name: string;
  /** Queues the team's agents serve. */
  skills: readonly string[];
}

export interface CenterModel {
  queues: readonly QueueModel[];
  teams: readonly TeamModel[];
  /** Occupancy the arrival rate is sized for at the peak of the curve with load 1. */
  targetOccupancy: number;
  /** Breaks (aux) per agent per hour on shift, and their mean length in seconds. */
  auxPerHour: number;
  auxMeanS: number;
  /** Probability a new contact is from a customer seen earlier in the run (besides callbacks after unresolved contacts). */
  repeatCustomerProb: number;
  /** Probability an unresolved customer comes back, and the mean delay in seconds. */
  callbackProb: number;
  callbackMeanS: number;
}

/** Relative arrival rate per local hour (0–23), peak 1: a weekday with a morning peak, a lunch dip and a second peak. */
export const INTRADAY_CURVE: readonly number[] = [
  0.05, 0.04, 0.03, 0.03, 0.04, 0.06, 0.12, 0.3, 0.62, 0.9, 1.0, 0.96, 0.8, 0.85, 0.92, 0.88, 0.78, 0.62, 0.45, 0.32, 0.22, 0.15, 0.1, 0.07,
];
export const FLAT_CURVE: readonly number[] = Array.from({ length: 24 }, () => 1);

export const DEFAULT_MODEL: CenterModel = {
  queues: [
    {
      name: 'billing', channel: 'voice', kind: 'call', share: 0.3, patienceMeanS: 150, talkMeanS: 220, talkCv: 0.8,
      holdProb: 0.25, holdMeanS: 40, acwMeanS: 30, ivr: { containment: 0.3, abandon: 0.04, meanS: 50 },
      transferProb: 0.05, transferTo: ['tech-support', 'sales'], resolveProb: 0.8, surveyProb: 0.3,
    },
    {
      name: 'tech-support', channel: 'voice', kind: 'call', share: 0.25, patienceMeanS: 200, talkMeanS: 380, talkCv: 0.9,
      holdProb: 0.4, holdMeanS: 60, acwMeanS: 45, ivr: { containment: 0.15, abandon: 0.04, meanS: 60 },
      transferProb: 0.07, transferTo: ['billing'], resolveProb: 0.7, surveyProb: 0.3,
    },
    {
      name: 'sales', channel: 'voice', kind: 'call', share: 0.15, patienceMeanS: 100, talkMeanS: 300, talkCv: 0.7,
      holdProb: 0.15, holdMeanS: 30, acwMeanS: 40, ivr: { containment: 0.05, abandon: 0.03, meanS: 30 },
      transferProb: 0.04, transferTo: ['billing'], resolveProb: 0.85, surveyProb: 0.2,
    },
    {
      name: 'chat-support', channel: 'chat', kind: 'call', share: 0.18, patienceMeanS: 240, talkMeanS: 420, talkCv: 0.7,
      // The only chat queue: a chat cannot be transferred to a voice queue (it would become a call), so none is.
      holdProb: 0, holdMeanS: 0, acwMeanS: 20, transferProb: 0, transferTo: [], resolveProb: 0.75, surveyProb: 0.35,
    },
    {
      name: 'email', channel: 'email', kind: 'ticket', share: 0.12, patienceMeanS: 0, talkMeanS: 300, talkCv: 0.8,
      holdProb: 0, holdMeanS: 0, acwMeanS: 20, transferProb: 0, transferTo: [], resolveProb: 0.6, surveyProb: 0.25,
    },
  ],
  teams: [
    { name: 'red', skills: ['billing', 'sales', 'tech-support'] },
    { name: 'blue', skills: ['tech-support', 'chat-support'] },
    { name: 'green', skills: ['email', 'chat-support', 'billing'] },
  ],
  targetOccupancy: 0.85,
  auxPerHour: 0.5,
  auxMeanS: 600,
  repeatCustomerProb: 0.08,
  callbackProb: 0.5,
  callbackMeanS: 1800,
};

/** Mean handle time (talk + hold + wrap-up) of one handling of the queue's contacts, in seconds. */
export function meanHandleS(q: QueueModel): number {
  return q.talkMeanS + q.holdProb * q.holdMeanS + q.acwMeanS;
}

/** A ticket needs about this many replies on average (a reply resolves with resolveProb; reopens add some). */
function meanWorkItems(q: QueueModel): number {
  return q.kind === 'ticket' ? 1 / Math.max(0.2, q.resolveProb) : 1 + q.transferProb;
}

export interface SurgeOptions {
  queue: string;
  /** Arrival-rate multiplier of the queue during the surge (default 3). */
  factor?: number;
  /** Start, in ms after the simulation start. */
  startMs?: number;
  durationMs?: number;
}

export interface ResolvedSurge {
  queue: string;
  factor: number;
  from: number;
  to: number;
}

/** Everything that determines arrival rates: the model, the knobs and the calendar. */
export interface RateInputs {
  model: CenterModel;
  agents: number;
  load: number;
  curve: readonly number[];
  /** Offset of the curve's local time from UTC at `t`, in minutes (it changes with daylight saving time). */
  utcOffsetMinutes: (t: number) => number;
  surge?: ResolvedSurge;
}

/** Relative load at time `t` (epoch ms): the curve interpolated linearly between hour midpoints. */
export function curveAt(curve: readonly number[], utcOffsetMinutes: number, t: number): number {
  const hours = ((((t + utcOffsetMinutes * 60_000) / 3_600_000) % 24) + 24) % 24;
  const x = hours - 0.5;
  const i = Math.floor(x);
  const f = x - i;
  const a = curve[(i + 24) % 24]!;
  const b = curve[(i + 1) % 24]!;
  return a + (b - a) * f;
}

/** Center arrivals per second at the peak of the curve with load 1: sized for the target occupancy of all agents. */
export function peakRatePerS(model: CenterModel, agents: number): number {
  const productive = agents * (1 - Math.min(0.5, (model.auxPerHour * model.auxMeanS) / 3600));
  let workPerArrival = 0;
  for (const q of model.queues) workPerArrival += queueWork(q);
  return (model.targetOccupancy * productive) / workPerArrival;
}

/** Arrival rate of queue `q` (per second) at time `t`. */
export function queueRate(inputs: RateInputs, q: QueueModel, t: number): number {
  const base = inputs.load * q.share * peakRatePerS(inputs.model, inputs.agents) * curveAt(inputs.curve, inputs.utcOffsetMinutes(t), t);
  const s = inputs.surge;
  return s && s.queue === q.name && t >= s.from && t < s.to ? base * s.factor : base;
}

/** The highest rate of the queue over the run (for thinning). */
export function queueMaxRate(inputs: RateInputs, q: QueueModel): number {
  const peak = inputs.load * q.share * peakRatePerS(inputs.model, inputs.agents) * Math.max(...inputs.curve);
  return inputs.surge?.queue === q.name ? peak * Math.max(1, inputs.surge.factor) : peak;
}

/** Expected arrivals of a queue (or all queues) in [from, to): the integral of the rate (1-second steps). */
export function expectedArrivals(inputs: RateInputs, from: number, to: number, queue?: string): number {
  let sum = 0;
  for (const q of inputs.model.queues) {
    if (queue !== undefined && q.name !== queue) continue;
    for (let t = from; t < to; t += 1000) sum += queueRate(inputs, q, t + Math.min(500, (to - t) / 2)) * (Math.min(1000, to - t) / 1000);
  }
  return sum;
}

/** Agents on shift at time `t`: the curve's share of the centre (at least the team count, so every queue is covered). */
export function staffTarget(inputs: RateInputs, t: number): number {
  const c = curveAt(inputs.curve, inputs.utcOffsetMinutes(t), t) / Math.max(...inputs.curve);
  return Math.min(inputs.agents, Math.max(inputs.model.teams.length, Math.ceil(inputs.agents * Math.min(1, c * 1.05))));
}

const QUARTER_HOUR_MS = 900_000;

/**
 * Offset of `timeZone` from UTC at an instant, in minutes: a function of the instant, since daylight saving time moves
 * it (a demo running across the change keeps its curve on the local clock). Zones change offset on a quarter hour, so
 * one look-up per quarter hour serves every instant in it.
 */
export function utcOffsetIn(timeZone: string): (t: number) => number {
  let quarter = NaN;
  let offset = 0;
  return (t) => {
    const q = Math.floor(t / QUARTER_HOUR_MS);
    if (q === quarter) return offset;
    quarter = q;
    offset = Math.round(tzOffsetMs(timeZone, q * QUARTER_HOUR_MS) / 60_000);
    return offset;
  };
}

/** Work (arrivals × handle time) a queue brings per unit of center arrival rate. */
function queueWork(q: QueueModel): number {
  const ivrLoss = q.ivr ? q.ivr.containment + q.ivr.abandon : 0;
  return q.share * (1 - ivrLoss) * meanHandleS(q) * meanWorkItems(q);
}

/**
 * Team of each agent (index order). Each queue's work is split evenly over the teams with its skill; agent i joins the
 * team furthest behind its share, so every prefix of the agent list (the agents on shift when fewer are needed) is
 * balanced across teams, and the first agents cover one team each.
 */
export function assignTeams(model: CenterModel, agents: number): number[] {
  const work = model.teams.map((team) => {
    let w = 0;
    for (const q of model.queues) {
      const servers = model.teams.filter((t) => t.skills.includes(q.name)).length;
      if (team.skills.includes(q.name)) w += queueWork(q) / servers;
    }
    return w;
  });
  const total = work.reduce((a, b) => a + b, 0);
  const weights = work.map((w) => (total > 0 ? w / total : 1 / work.length));
  const counts = model.teams.map(() => 0);
  const out: number[] = [];
  for (let i = 0; i < agents; i++) {
    let best = 0;
    let bestDeficit = -Infinity;
    for (let t = 0; t < weights.length; t++) {
      const deficit = i < weights.length ? (counts[t] === 0 ? 1 - t * 1e-9 : -1) : weights[t]! * (i + 1) - counts[t]!;
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = t;
      }
    }
    counts[best]!++;
    out.push(best);
  }
  return out;
}
