// The simulator's ground truth: what really happened in the run, recorded from the simulation's own state (the real
// offer time of a contact, the real handle time, whether the customer called before…), not re-derived from the
// events. From it, the KPIs of any time range and scope, written from the definitions of docs/kpis.md independently
// of server/kpi/, so a test can hold the figures Nabız computes from the events against what the simulator knows.
import type { KpiKey, KpiValue } from '../kpi/catalog.ts';
import { requiredAgents } from '../kpi/erlang-c.ts';
import { elapsedSeconds } from '../kpi/windows.ts';

export type MeasureKind = 'offer' | 'ivr' | 'answer' | 'abandon' | 'end' | 'reply' | 'resolution' | 'survey';

export interface TruthMeasure {
  kind: MeasureKind;
  /** When the completing event happened (epoch ms). */
  at: number;
  queue: string;
  team: string;
  channel: string;
  agent: string;
  contactId: string;
  /** answer, abandon: wait since the contact's latest offer. */
  waitMs?: number;
  /** end: talk + hold + wrap-up. */
  handleMs?: number;
  /** reply: first public reply − creation. */
  frtMs?: number;
  /** ivr: contained. */
  contained?: boolean;
  metric?: 'csat' | 'ces' | 'nps' | 'fcr';
  score?: number;
}

export interface Thresholds {
  slThresholdMs: number;
  shortAbandonMs: number;
  slTargetPct: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { slThresholdMs: 20_000, shortAbandonMs: 5_000, slTargetPct: 80 };

interface ContactFacts {
  /** The interaction began: its first offer or its creation. */
  start: number;
  customer: string;
  /** Transferred or reopened at some point. */
  repeated: boolean;
}

interface AgentNow {
  state: string;
  team: string;
  queue: string;
  channel: string;
}

const DAY_MS = 86_400_000;

export class GroundTruth {
  readonly measures: TruthMeasure[] = [];
  private readonly facts = new Map<string, ContactFacts>();
  /** Per customer: its interactions, (contact, when it began: its first offer or its creation). */
  private readonly interactions = new Map<string, Array<{ contactId: string; at: number }>>();
  /** Contacts waiting (offered, and that offer not yet answered, abandoned or ended), with the offer's time and scope. */
  private readonly waiting = new Map<string, { at: number; queue: string; channel: string }>();
  private readonly lastQueueEvent = new Map<string, { at: number; offer: boolean }>();
  private readonly agents = new Map<string, AgentNow>();

  constructor(readonly thresholds: Thresholds = DEFAULT_THRESHOLDS, readonly fcrLookbackDays = 7) {}

  record(m: TruthMeasure): void {
    this.measures.push(m);
  }

  /** An offer or a ticket creation of `customer` (the contact's first one starts the interaction). */
  interaction(contactId: string, customer: string, at: number): void {
    if (this.facts.has(contactId)) return;
    this.facts.set(contactId, { start: at, customer, repeated: false });
    if (!customer) return;
    const list = this.interactions.get(customer) ?? this.interactions.set(customer, []).get(customer)!;
    list.push({ contactId, at });
  }

  repeated(contactId: string): void {
    const f = this.facts.get(contactId);
    if (f) f.repeated = true;
  }

  /** A queue event (offered, answered, abandoned, ended) of a contact; at equal times the end wins over the offer. */
  queueEvent(contactId: string, at: number, offer: boolean, scope: { queue: string; channel: string }): void {
    const last = this.lastQueueEvent.get(contactId);
    if (last && last.at === at && !last.offer && offer) return;
    if (last && last.at > at) return;
    this.lastQueueEvent.set(contactId, { at, offer });
    if (offer) this.waiting.set(contactId, { at, ...scope });
    else this.waiting.delete(contactId);
  }

  /** Forgets a finished contact's live entry (keeps memory bounded in long runs). */
  forgetLive(contactId: string): void {
    if (!this.waiting.has(contactId)) this.lastQueueEvent.delete(contactId);
  }

  agentState(agent: string, now: AgentNow): void {
    this.agents.set(agent, now);
  }

  /** First contact resolution of a resolved contact, as the definition says. */
  isFirstContact(contactId: string): boolean {
    const f = this.facts.get(contactId);
    if (!f) return false;
    if (f.repeated) return false;
    const others = this.interactions.get(f.customer) ?? [];
    const from = f.start - this.fcrLookbackDays * DAY_MS;
    return !others.some((o) => o.contactId !== contactId && o.at < f.start && o.at >= from);
  }

  /** Every scope something counts in. */
  scopes(): string[] {
    const seen = new Set<string>(['center']);
    for (const m of this.measures) for (const s of scopesOf(m)) seen.add(s);
    for (const [id, a] of this.agents) for (const s of scopesOf({ queue: a.queue, team: a.team, channel: a.channel, agent: id })) seen.add(s);
    return [...seen].sort();
  }

  /** The windowed KPIs over [from, to) for one scope. */
  windowed(from: number, to: number, scope: string): Partial<Record<KpiKey, KpiValue>> {
    const t = this.thresholds;
    let offered = 0, answered = 0, inSl = 0, waitN = 0, waitSum = 0, abandoned = 0, short = 0, ended = 0, handle = 0;
    let ivrN = 0, ivrContained = 0, resolutions = 0, fcrYes = 0;
    const frts: number[] = [];
    const survey = { csat: 0, csatTop: 0, ces: 0, cesPts: 0, nps: 0, promoters: 0, detractors: 0, fcr: 0, fcrYes: 0 };
    for (const m of this.measures) {
      if (m.at < from || m.at >= to || !inScope(m, scope)) continue;
      switch (m.kind) {
        case 'offer': offered++; break;
        case 'ivr': ivrN++; if (m.contained) ivrContained++; break;
        case 'answer':
          answered++;
          if (m.waitMs !== undefined) {
            waitN++;
            waitSum += m.waitMs;
            if (m.waitMs <= t.slThresholdMs) inSl++;
          }
          break;
        case 'abandon':
          if (m.waitMs !== undefined && m.waitMs < t.shortAbandonMs) short++;
          else abandoned++;
          break;
        case 'end': ended++; handle += m.handleMs!; break;
        case 'reply': frts.push(m.frtMs!); break;
        case 'resolution': resolutions++; if (this.isFirstContact(m.contactId)) fcrYes++; break;
        case 'survey': {
          const s = m.score!;
          if (m.metric === 'csat') { survey.csat++; if (s >= 4) survey.csatTop++; }
          else if (m.metric === 'ces') { survey.ces++; survey.cesPts += s - 1; }
          else if (m.metric === 'nps') { survey.nps++; if (s >= 9) survey.promoters++; if (s <= 6) survey.detractors++; }
          else { survey.fcr++; if (s === 1) survey.fcrYes++; }
          break;
        }
      }
    }
    const pct = (num: number, den: number): KpiValue => ({ value: den === 0 ? null : (100 * num) / den, n: den });
    const avg = (sum: number, n: number, scale: number): KpiValue => ({ value: n === 0 ? null : sum / n / scale, n });
    frts.sort((a, b) => a - b);
    const p90 = frts.length === 0 ? null : frts[Math.max(1, Math.ceil(0.9 * frts.length)) - 1]! / 1000;
    return {
      offered: { value: offered, n: offered },
      answered: { value: answered, n: answered },
      abandoned: { value: abandoned, n: abandoned },
      short_abandoned: { value: short, n: short },
      abandon_rate: pct(abandoned, answered + abandoned),
      service_level: pct(inSl, answered + abandoned),
      asa: avg(waitSum, waitN, 1000),
      aht: avg(handle, ended, 1000),
      frt: avg(frts.reduce((a, b) => a + b, 0), frts.length, 1000),
      frt_p90: { value: p90, n: frts.length },
      csat: pct(survey.csatTop, survey.csat),
      ces: { value: survey.ces === 0 ? null : ((survey.cesPts / survey.ces) * 100) / 6, n: survey.ces },
      nps: pct(survey.promoters - survey.detractors, survey.nps),
      fcr: pct(fcrYes, resolutions),
      fcr_survey: pct(survey.fcrYes, survey.fcr),
      ivr_containment: pct(ivrContained, ivrN),
    };
  }

  /**
   * The live KPIs at `now` for one scope (the end of the run: contacts still waiting, each agent's latest state), with
   * Erlang C from the last 30 minutes' offers and the last hour's AHT (today's when the hour has none).
   */
  live(now: number, scope: string, todayFrom: number): Partial<Record<KpiKey, KpiValue>> {
    let waiting = 0;
    let oldest = Infinity;
    for (const w of this.waiting.values()) {
      if (w.at > now || !inScope({ queue: w.queue, channel: w.channel, team: '', agent: '' }, scope)) continue;
      waiting++;
      oldest = Math.min(oldest, w.at);
    }
    const counts = { available: 0, busy: 0, acw: 0, aux: 0 };
    for (const [id, a] of this.agents) {
      if (a.state === 'offline' || !inScope({ queue: a.queue, team: a.team, channel: a.channel, agent: id }, scope)) continue;
      counts[a.state as keyof typeof counts]++;
    }
    const staffed = counts.available + counts.busy + counts.acw;
    const end = Math.floor(now / 60_000) * 60_000 + 60_000;
    const offered30 = this.windowed(end - 30 * 60_000, end, scope).offered!.value!;
    const aht = this.windowed(end - 60 * 60_000, end, scope).aht!.value ?? this.windowed(todayFrom, end, scope).aht!.value;
    const required =
      offered30 === 0 ? 0 : aht === null ? null : requiredAgents({ lambdaPerSecond: offered30 / elapsedSeconds(30, now), ahtSeconds: aht }, this.thresholds.slThresholdMs / 1000, this.thresholds.slTargetPct / 100).agents;
    return {
      waiting: { value: waiting, n: waiting },
      longest_wait: { value: waiting === 0 ? 0 : Math.max(0, now - oldest) / 1000, n: waiting },
      agents_available: { value: counts.available, n: counts.available },
      agents_busy: { value: counts.busy, n: counts.busy },
      agents_acw: { value: counts.acw, n: counts.acw },
      agents_aux: { value: counts.aux, n: counts.aux },
      occupancy: { value: staffed === 0 ? null : ((counts.busy + counts.acw) * 100) / staffed, n: staffed },
      required_agents: { value: required, n: offered30 },
      staffing_gap: { value: required === null ? null : required - staffed, n: offered30 },
    };
  }
}

function scopesOf(m: { queue: string; team: string; channel: string; agent: string }): string[] {
  const out = ['center'];
  if (m.queue) out.push(`queue:${m.queue}`);
  if (m.team) out.push(`team:${m.team}`);
  if (m.channel) out.push(`channel:${m.channel}`);
  if (m.agent) out.push(`agent:${m.agent}`);
  return out;
}

function inScope(m: { queue: string; team: string; channel: string; agent: string }, scope: string): boolean {
  if (scope === 'center') return true;
  const colon = scope.indexOf(':');
  const kind = scope.slice(0, colon);
  const name = scope.slice(colon + 1);
  return (kind === 'queue' && m.queue === name) || (kind === 'team' && m.team === name) || (kind === 'channel' && m.channel === name) || (kind === 'agent' && m.agent === name);
}
