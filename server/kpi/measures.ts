// The measures of one contact, from its whole event history: one row per completing event, as stored in kpi_measures
// (sql/004_kpi_rollups.sql, sql/008_fanout.sql). Pure: the worker reads the events and writes the rows
// (server/kpi/materialize.ts). The definitions are those of docs/kpis.md.
//
// Per contact: its offers, its creation, its first public reply and first resolution (earliest by (time, source, id)),
// whether it was ever transferred or reopened, when it began (its earliest event), its customer, and the scope values
// its events carry. Per completing event: its scope (its own values, else the contact's; offers, IVR ends and abandons
// keep their own), the wait since the latest offer at or before it, handle time, FRT, first reply / first resolution,
// FCR, the survey answer and the IVR outcome. An answer counts once per offer: the first answer since the contact's latest
// offer (an outbound call, never offered, and a transfer straight to another agent, answered again without a new
// offer, answer no offer).

/**
 * The version of the measures' definition. Raise it with any change that alters stored measures (kpi_measures): the
 * KPI worker rebuilds them all at its next start (sql/016_measure_settings.sql).
 * 2: a contact is an interaction of the first customer its events name, beginning at its earliest event (FCR).
 * 3: an answer counts once per offer; an event's queue is its agent's leg's, its team its agent's else the contact's.
 */
export const MEASURES_DEFINITION = 3;

export interface ContactEvent {
  /** occurred_at, epoch ms */
  t: number;
  source: string;
  id: string;
  type: string;
  queue: string;
  team: string;
  channel: string;
  agentId: string;
  customerId: string;
  talkMs: number | null;
  holdMs: number | null;
  acwMs: number | null;
  resolved: boolean;
  public: boolean;
  metric: string;
  score: number | null;
  outcome: string;
}

/** Another interaction (offered contact or created ticket) of a customer. */
export interface Interaction {
  contactId: string;
  t: number;
}

/**
 * `other_answer`: a `contact.answered` that answers no offer of its own (a second answer of one offer, an outbound call;
 * or its offer has not arrived yet). It counts in nothing, and is stored all the same: a late event can turn an
 * answer into one or back (rows are replaced by event, never deleted).
 */
export type MeasureKind = 'offer' | 'ivr' | 'answer' | 'other_answer' | 'abandon' | 'end' | 'reply' | 'solve' | 'survey';

export interface Measure {
  t: number;
  contactId: string;
  source: string;
  eventId: string;
  kind: MeasureKind;
  queue: string;
  team: string;
  channel: string;
  agentId: string;
  waitMs: number | null;
  handleMs: number | null;
  frtMs: number | null;
  isFirstReply: boolean;
  isResolution: boolean;
  fcr: boolean;
  metric: string;
  score: number | null;
  contained: boolean;
}

const KIND: Readonly<Record<string, MeasureKind>> = {
  'contact.offered': 'offer',
  'ivr.ended': 'ivr',
  'contact.answered': 'answer',
  'contact.abandoned': 'abandon',
  'contact.ended': 'end',
  'ticket.replied': 'reply',
  'ticket.solved': 'solve',
  'survey.response': 'survey',
};

/** Orders events by (time, source, id), as ClickHouse orders such tuples (strings bytewise; ids are ASCII in practice). */
function byTimeSourceId(a: ContactEvent, b: ContactEvent): number {
  return a.t - b.t || cmp(a.source, b.source) || cmp(a.id, b.id);
}

/** Compares strings as ClickHouse compares them in tuples (bytewise; ids are ASCII in practice). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** (time, value) pairs of the non-empty values, sorted by time then value. */
function timeline(events: readonly ContactEvent[], value: (e: ContactEvent) => string): Array<[number, string]> {
  return events
    .filter((e) => value(e) !== '')
    .map((e): [number, string] => [e.t, value(e)])
    .sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]));
}

/** The value at time t: the latest at or before t, else the earliest after t, else ''. */
function valueAt(line: ReadonlyArray<readonly [number, string]>, t: number): string {
  let before = '';
  for (const [at, v] of line) {
    if (at <= t) before = v;
    else return before !== '' ? before : v;
  }
  return before;
}

/**
 * The measures of one contact. `events`: all of the contact's events (contact.*, ticket.*, survey.response, ivr.ended);
 * `interactions(customer)`: the customer's interactions, for FCR's look-back (`lookbackMs` before the contact began).
 */
export function contactMeasures(
  contactId: string,
  events: readonly ContactEvent[],
  interactions: (customerId: string) => readonly Interaction[],
  lookbackMs: number,
): Measure[] {
  if (events.length === 0) return [];
  const sorted = [...events].sort(byTimeSourceId);
  const offers = sorted.filter((e) => e.type === 'contact.offered').map((e) => e.t);
  const created = sorted.find((e) => e.type === 'ticket.created');
  // a reply stamped before the creation is left out (docs/kpis.md): the first reply is the first one from then on
  const firstReply = sorted.find((e) => e.type === 'ticket.replied' && e.public && (created === undefined || e.t >= created.t));
  const firstResolution = sorted.find((e) => (e.type === 'contact.ended' && e.resolved) || e.type === 'ticket.solved');
  const repeated = sorted.some((e) => e.type === 'contact.transferred' || e.type === 'ticket.reopened');
  const startT = sorted[0]!.t;
  const customer = sorted.find((e) => e.customerId !== '')?.customerId ?? '';
  const prior = customer === ''
    ? 0
    : interactions(customer).filter((i) => i.contactId !== contactId && i.t < startT && i.t >= startT - lookbackMs).length;
  const queues = timeline(sorted, (e) => e.queue);
  const channels = timeline(sorted, (e) => e.channel);
  const agents = timeline(sorted, (e) => e.agentId);
  // the teams each agent's events name, and those named by events of no agent (an offer's, a ticket's creation)
  const teamsOf = new Map<string, Array<[number, string]>>();
  for (const e of sorted) if (e.team !== '') (teamsOf.get(e.agentId) ?? teamsOf.set(e.agentId, []).get(e.agentId)!).push([e.t, e.team]);
  for (const line of teamsOf.values()) line.sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]));
  const answers = sorted.filter((e) => e.type === 'contact.answered');
  const latestOffer = (t: number) => offers.reduce((latest, o) => (o <= t && o > latest ? o : latest), -Infinity);
  // an answer counts when no answer before it (by time, source, id) came at or after its offer
  const answering = new Set(answers.filter((a, i) => {
    const offer = latestOffer(a.t);
    return offer > -Infinity && !answers.slice(0, i).some((b) => b.t >= offer);
  }));

  const out: Measure[] = [];
  for (const e of sorted) {
    const kind = KIND[e.type];
    if (kind === undefined || (kind === 'reply' && !e.public)) continue;
    const ownScope = kind === 'offer' || kind === 'ivr';
    const agentId = ownScope || kind === 'abandon' || e.agentId !== '' ? e.agentId : valueAt(agents, e.t);
    // an agent's events belong to the queue the agent answered the contact in (a first leg's end after a transfer is
    // the first queue's), others to the contact's queue at the time
    const answeredAt = agentId === '' ? undefined : answers.filter((a) => a.agentId === agentId && a.t <= e.t).at(-1)?.t;
    const queue = ownScope || e.queue !== '' ? e.queue : valueAt(queues, answeredAt ?? e.t);
    const channel = ownScope || e.channel !== '' ? e.channel : valueAt(channels, e.t);
    let team = e.team;
    if (!(ownScope || kind === 'abandon') && team === '') {
      // the team the event's agent had on this contact, else the team events of no agent name
      const ofAgent = agentId === '' ? undefined : teamsOf.get(agentId);
      team = valueAt(ofAgent ?? teamsOf.get('') ?? [], e.t);
    }
    const earlier = offers.filter((o) => o <= e.t);
    const isResolution = (kind === 'end' || kind === 'solve') && e === firstResolution;
    out.push({
      t: e.t,
      contactId,
      source: e.source,
      eventId: e.id,
      kind: kind === 'answer' && !answering.has(e) ? 'other_answer' : kind,
      queue,
      team,
      channel,
      agentId,
      waitMs: ((kind === 'answer' && answering.has(e)) || kind === 'abandon') && earlier.length > 0 ? e.t - Math.max(...earlier) : null,
      handleMs: kind === 'end' ? (e.talkMs ?? 0) + (e.holdMs ?? 0) + (e.acwMs ?? 0) : null,
      frtMs: kind === 'reply' && created !== undefined && created.t <= e.t ? e.t - created.t : null,
      isFirstReply: kind === 'reply' && e === firstReply,
      isResolution,
      // first contact: never transferred or reopened, and no other interaction of the customer in the look-back
      fcr: isResolution && !repeated && prior === 0,
      metric: kind === 'survey' ? e.metric : '',
      score: kind === 'survey' ? e.score : null,
      contained: kind === 'ivr' && e.outcome === 'contained',
    });
  }
  return out;
}
