// The hand-built KPI scenario shared by the golden, parity and restart tests. Every event is listed here with the
// fields the sender would give it; the expected figures are worked out by hand in kpi-golden.test.ts, which posts the
// events through POST /v1/events as their senders would (toIngestEvent); the other tests insert the rows directly.
//
// Center time zone Europe/Istanbul (UTC+3, no DST). "Now" is 2025-03-10 09:37:30 UTC = 12:37:30 local, so
//   today = [2025-03-09 21:00 UTC, 09:38 UTC)   (local midnight; events at 2025-03-09 22:xx UTC are today,
//                                                  events at 2025-03-09 20:xx UTC are yesterday)
//   1h    = [08:38, 09:38)    15m = [09:23, 09:38)    Erlang's last 30 minutes = [09:08, 09:38)
// Queues: billing (voice, default thresholds T = 20 s, short abandon 5 s), support (chat, T = 60 s, target 95 %,
// short abandon 10 s), email (tickets). Teams: red (a1–a5), blue (a6–a10).
// Like real senders (docs/events.md), some events leave out the queue, team, channel or agent (marked below): they
// count in the scopes of their contact's earlier events, so the expected figures are the same as if every event named
// them.
import type { ClickHouseClient } from '@clickhouse/client';
import type { IngestEvent } from '../../server/ingest/contract.ts';
import type { EventRow } from '../../server/ingest/rows.ts';

export const TZ = 'Europe/Istanbul';
export const NOW = Date.parse('2025-03-10T09:37:30.000Z');

/** A row of `events`, as the scenario inserts it. */
export type ScenarioEvent = EventRow;

type Fields = Partial<Omit<ScenarioEvent, 'id' | 'type' | 'occurred_at'>>;

/** `time` is UTC: 'HH:MM:SS' on 2025-03-10, or a full 'YYYY-MM-DD HH:MM:SS'. */
function e(id: string, type: string, time: string, f: Fields = {}): ScenarioEvent {
  const at = time.length <= 8 ? `2025-03-10 ${time}.000` : `${time}.000`;
  const source = type.startsWith('ticket.') || type === 'survey.response' ? 'crm' : type.startsWith('ivr.') ? 'ivr' : 'acd';
  return {
    source, id, type, occurred_at: at, received_at: at,
    contact_id: '', queue: '', team: '', channel: '', agent_id: '', customer_id: '', to_queue: '', to_agent_id: '',
    talk_ms: null, hold_ms: null, acw_ms: null, resolved: null, state: '', reason: '', outcome: '', public: null,
    metric: '', score: null, attributes: {},
    ...f,
  };
}

const billing = { queue: 'billing', channel: 'voice' };
const support = { queue: 'support', channel: 'chat' };
const email = { queue: 'email', channel: 'email' };
const red = (agent: string) => ({ team: 'red', agent_id: agent });
const blue = (agent: string) => ({ team: 'blue', agent_id: agent });
const ended = (talk: number, hold: number, acw: number, resolved: boolean) => ({ talk_ms: talk, hold_ms: hold, acw_ms: acw, resolved });
const survey = (metric: string, score: number) => ({ metric, score });
const agentState = (state: string, team: string, q: { queue: string; channel: string }, reason = '') => ({ state, team, reason, ...q });

/** Everything but the late events, in no particular order. */
export const MAIN_EVENTS: ScenarioEvent[] = [
  // Voice, queue billing
  e('e1', 'contact.offered', '06:00:00', { contact_id: 'V1', customer_id: 'cu1', ...billing }),
  e('e2', 'contact.answered', '06:00:10', { contact_id: 'V1', customer_id: 'cu1', ...billing, ...red('a1') }),
  e('e3', 'contact.ended', '06:05:00', { contact_id: 'V1', queue: 'billing', agent_id: 'a1', ...ended(240_000, 20_000, 40_000, true) }), // no team, channel
  // V2's offer (e4) arrives late, after its answer and end
  e('e5', 'contact.answered', '08:40:30', { contact_id: 'V2', customer_id: 'cu2', ...billing, ...red('a2') }),
  e('e6', 'contact.ended', '08:45:00', { contact_id: 'V2', customer_id: 'cu2', ...billing, ...red('a2'), ...ended(200_000, 0, 40_000, true) }),
  e('e7', 'contact.offered', '09:25:00', { contact_id: 'V3', customer_id: 'cu3', ...billing }),
  e('e8', 'contact.answered', '09:25:05', { contact_id: 'V3', queue: 'billing', ...red('a3') }), // no channel
  e('e9', 'contact.transferred', '09:27:00', { contact_id: 'V3', customer_id: 'cu3', ...billing, ...red('a3'), to_queue: 'billing', to_agent_id: 'a4' }),
  e('e10', 'contact.ended', '09:30:00', { contact_id: 'V3', queue: 'billing', ...red('a4'), ...ended(150_000, 30_000, 0, true) }),
  e('e11', 'contact.offered', '09:30:00', { contact_id: 'V4', customer_id: 'cu4', ...billing }),
  e('e12', 'contact.abandoned', '09:30:03', { contact_id: 'V4', queue: 'billing' }), // channel from the offer
  e('e13', 'contact.offered', '08:50:00', { contact_id: 'V5', customer_id: 'cu5', ...billing }),
  e('e14', 'contact.abandoned', '08:51:00', { contact_id: 'V5', customer_id: 'cu5', ...billing }),
  e('e15', 'contact.offered', '09:36:00', { contact_id: 'V6', customer_id: 'cu13', ...billing }),
  e('e16', 'contact.offered', '09:10:00', { contact_id: 'V7', customer_id: 'cu1', ...billing }),
  e('e17', 'contact.answered', '09:10:20', { contact_id: 'V7', customer_id: 'cu1', ...billing, ...red('a1') }),
  e('e18', 'contact.ended', '09:14:00', { contact_id: 'V7', agent_id: 'a1', ...ended(180_000, 0, 60_000, true) }), // queue, team, channel from e16/e17
  e('e19', 'contact.offered', '2025-03-09 20:30:00', { contact_id: 'V8', customer_id: 'cu8', ...billing }),
  e('e20', 'contact.answered', '2025-03-09 20:30:15', { contact_id: 'V8', customer_id: 'cu8', ...billing, ...red('a2') }),
  e('e21', 'contact.ended', '2025-03-09 20:35:00', { contact_id: 'V8', customer_id: 'cu8', ...billing, ...red('a2'), ...ended(100_000, 0, 20_000, true) }),
  e('e22', 'contact.offered', '2025-03-09 22:30:00', { contact_id: 'V9', customer_id: 'cu9', ...billing }),
  e('e23', 'contact.answered', '2025-03-09 22:30:40', { contact_id: 'V9', customer_id: 'cu9', ...billing, ...red('a5') }),
  e('e24', 'contact.ended', '2025-03-09 22:40:00', { contact_id: 'V9', customer_id: 'cu9', ...billing, ...red('a5'), ...ended(500_000, 60_000, 40_000, false) }),
  // Chat, queue support
  e('e25', 'contact.offered', '07:00:00', { contact_id: 'C1', customer_id: 'cu6', ...support }),
  e('e26', 'contact.answered', '07:00:45', { contact_id: 'C1', customer_id: 'cu6', ...support, ...blue('a6') }),
  e('e27', 'contact.ended', '07:10:00', { contact_id: 'C1', ...support, agent_id: 'a6', ...ended(500_000, 0, 100_000, true) }), // team from e26
  e('e28', 'contact.offered', '09:00:00', { contact_id: 'C2', customer_id: 'cu7', ...support }),
  e('e29', 'contact.answered', '09:01:10', { contact_id: 'C2', customer_id: 'cu7', ...support, ...blue('a7') }),
  e('e30', 'contact.ended', '09:20:00', { contact_id: 'C2', customer_id: 'cu7', ...support, ...blue('a7'), ...ended(1_000_000, 0, 20_000, true) }),
  e('e31', 'contact.offered', '09:24:00', { contact_id: 'C3', customer_id: 'cu14', ...support }),
  e('e32', 'contact.abandoned', '09:24:08', { contact_id: 'C3', customer_id: 'cu14', ...support }),
  e('e33', 'contact.offered', '09:26:00', { contact_id: 'C4', customer_id: 'cu15', ...support }),
  e('e34', 'contact.abandoned', '09:26:30', { contact_id: 'C4', customer_id: 'cu15', ...support }),
  e('e35', 'contact.offered', '09:37:00', { contact_id: 'C5', customer_id: 'cu16', ...support }),
  e('e36', 'contact.offered', '09:28:00', { contact_id: 'C7', customer_id: 'cu17', ...support }),
  e('e37', 'contact.answered', '09:28:50', { contact_id: 'C7', customer_id: 'cu17', ...support, ...blue('a8') }),
  // Email tickets, queue email
  e('e38', 'ticket.created', '2025-03-09 15:00:00', { contact_id: 'T1', customer_id: 'cu10', ...email }),
  e('e39', 'ticket.replied', '06:00:00', { contact_id: 'T1', customer_id: 'cu10', ...email, ...blue('a9'), public: false }),
  e('e40', 'ticket.replied', '07:00:00', { contact_id: 'T1', customer_id: 'cu10', ...email, ...blue('a9'), public: true }),
  e('e41', 'ticket.solved', '07:05:00', { contact_id: 'T1', customer_id: 'cu10', ...email, ...blue('a9') }),
  e('e42', 'ticket.reopened', '09:00:00', { contact_id: 'T1', customer_id: 'cu10', ...email }),
  e('e43', 'ticket.solved', '09:30:00', { contact_id: 'T1', customer_id: 'cu10', ...email, ...blue('a9') }),
  e('e44', 'ticket.created', '08:00:00', { contact_id: 'T2', customer_id: 'cu11', ...email }),
  e('e45', 'ticket.replied', '08:45:00', { contact_id: 'T2', customer_id: 'cu11', ...email, ...blue('a10'), public: true }),
  e('e46', 'ticket.replied', '09:00:00', { contact_id: 'T2', customer_id: 'cu11', ...email, ...blue('a10'), public: true }),
  e('e47', 'ticket.solved', '09:05:00', { contact_id: 'T2' }), // everything from T2's earlier events: email, a10 (e46), blue
  e('e48', 'ticket.created', '09:20:00', { contact_id: 'T3', customer_id: 'cu12', ...email }),
  e('e49', 'ticket.replied', '09:29:00', { contact_id: 'T3', customer_id: 'cu12', ...email, ...blue('a9'), public: true }),
  e('e50', 'ticket.created', '09:24:00', { contact_id: 'T4', customer_id: 'cu18', ...email }),
  e('e51', 'ticket.replied', '09:35:00', { contact_id: 'T4', customer_id: 'cu18', ...email, ...blue('a10'), public: true }),
  // IVR (no queue, team or agent; channel voice)
  e('e53', 'ivr.ended', '2025-03-09 20:00:00', { contact_id: 'I0', channel: 'voice', outcome: 'contained' }),
  e('e54', 'ivr.ended', '07:30:00', { contact_id: 'I1', channel: 'voice', outcome: 'contained' }),
  e('e55', 'ivr.ended', '08:50:00', { contact_id: 'I2', channel: 'voice', outcome: 'transferred' }),
  e('e56', 'ivr.ended', '09:30:00', { contact_id: 'I3', channel: 'voice', outcome: 'contained' }),
  e('e57', 'ivr.ended', '09:31:00', { contact_id: 'I4', channel: 'voice', outcome: 'abandoned' }),
  // Surveys, with the fields of the contact they rate
  e('e58', 'survey.response', '06:10:00', { contact_id: 'V1', queue: 'billing', ...survey('csat', 5) }), // agent a1 (e3), team red (e2), voice
  e('e59', 'survey.response', '06:11:00', { contact_id: 'V1', ...billing, ...red('a1'), ...survey('ces', 2) }),
  e('e60', 'survey.response', '06:12:00', { contact_id: 'V1', ...billing, ...red('a1'), ...survey('nps', 10) }),
  e('e61', 'survey.response', '06:13:00', { contact_id: 'V1', ...billing, ...red('a1'), ...survey('fcr', 1) }),
  e('e62', 'survey.response', '08:50:00', { contact_id: 'V2', ...billing, ...red('a2'), ...survey('csat', 3) }),
  e('e63', 'survey.response', '07:15:00', { contact_id: 'C1', ...support, ...blue('a6'), ...survey('ces', 7) }),
  e('e64', 'survey.response', '07:16:00', { contact_id: 'C1', ...support, ...blue('a6'), ...survey('nps', 8) }),
  e('e65', 'survey.response', '09:20:00', { contact_id: 'V7', ...survey('nps', 3) }), // all from V7's events
  e('e66', 'survey.response', '09:21:00', { contact_id: 'V7', ...billing, ...red('a1'), ...survey('fcr', 0) }),
  e('e67', 'survey.response', '09:25:00', { contact_id: 'C2', ...support, ...blue('a7'), ...survey('csat', 4) }),
  e('e68', 'survey.response', '09:30:00', { contact_id: 'T2', queue: 'email', agent_id: 'a10', ...survey('nps', 9) }),
  e('e69', 'survey.response', '2025-03-09 20:40:00', { contact_id: 'V8', ...billing, ...red('a2'), ...survey('csat', 1) }),
  // Agent states
  e('s1', 'agent.state', '06:00:00', { agent_id: 'a1', ...agentState('busy', 'red', billing) }),
  e('s2', 'agent.state', '09:14:00', { agent_id: 'a1', ...agentState('available', 'red', billing) }),
  e('s3', 'agent.state', '09:30:00', { agent_id: 'a2', ...agentState('busy', 'red', billing) }),
  e('s4', 'agent.state', '09:27:00', { agent_id: 'a3', ...agentState('acw', 'red', billing) }),
  e('s5', 'agent.state', '09:27:00', { agent_id: 'a4', ...agentState('busy', 'red', billing) }),
  e('s6', 'agent.state', '08:00:00', { agent_id: 'a5', ...agentState('available', 'red', billing) }),
  e('s7', 'agent.state', '09:00:00', { agent_id: 'a5', ...agentState('offline', 'red', billing) }),
  e('s8', 'agent.state', '09:00:00', { agent_id: 'a6', ...agentState('aux', 'blue', support, 'lunch') }),
  e('s9', 'agent.state', '09:20:00', { agent_id: 'a7', ...agentState('available', 'blue', support) }),
  e('s10', 'agent.state', '09:28:00', { agent_id: 'a8', ...agentState('busy', 'blue', support) }),
  e('s11', 'agent.state', '09:30:00', { agent_id: 'a9', ...agentState('available', 'blue', email) }),
  e('s12', 'agent.state', '09:35:00', { agent_id: 'a10', ...agentState('acw', 'blue', email) }),
];

/**
 * Late events, inserted after the rest has been processed:
 *  - e4: V2's offer, after its answer (out of order): until it arrives V2's wait is unknown;
 *  - e52: a ticket customer cu6 opened on 2025-03-05 (5 days before C1): C1 stops being a first contact;
 *  - s13: an older state of a2 (available at 09:00), which must not replace its latest (busy at 09:30).
 */
export const LATE_EVENTS: ScenarioEvent[] = [
  e('e4', 'contact.offered', '08:40:00', { contact_id: 'V2', customer_id: 'cu2', ...billing }),
  e('e52', 'ticket.created', '2025-03-05 10:00:00', { contact_id: 'T5', customer_id: 'cu6', ...email }),
  e('s13', 'agent.state', '09:00:00', { agent_id: 'a2', ...agentState('available', 'red', billing) }),
];

/**
 * The start of each IVR session of MAIN_EVENTS (I0–I4, each has an `ivr.ended`), as an IVR sends them. IVR containment
 * counts `ivr.ended` only, so they change no figure. I2's start (08:37:00) is before the 1h window and I3's (09:22:30)
 * before the 15m window while their ends are inside; I0's is yesterday (local), like its end.
 */
export const IVR_STARTS: ScenarioEvent[] = [
  e('i0', 'ivr.started', '2025-03-09 19:59:00', { contact_id: 'I0' }),
  e('i1', 'ivr.started', '07:29:00', { contact_id: 'I1' }),
  e('i2', 'ivr.started', '08:37:00', { contact_id: 'I2' }),
  e('i3', 'ivr.started', '09:22:30', { contact_id: 'I3' }),
  e('i4', 'ivr.started', '09:30:30', { contact_id: 'I4' }),
];

/** Row columns and the contract's field for each (docs/events.md): what a sender writes for the row. */
const CONTRACT_FIELDS = [
  ['contact_id', 'contactId'], ['queue', 'queue'], ['team', 'team'], ['channel', 'channel'], ['agent_id', 'agentId'],
  ['customer_id', 'customerId'], ['to_queue', 'toQueue'], ['to_agent_id', 'toAgentId'], ['talk_ms', 'talkMs'],
  ['hold_ms', 'holdMs'], ['acw_ms', 'acwMs'], ['resolved', 'resolved'], ['state', 'state'], ['reason', 'reason'],
  ['outcome', 'outcome'], ['public', 'public'], ['metric', 'metric'], ['score', 'score'],
] as const satisfies ReadonlyArray<readonly [keyof ScenarioEvent, string]>;

/**
 * A scenario event as its sender posts it to `/v1/events`: camelCase fields, the empty ones left out, and `occurredAt`
 * the same instant written at `offset` ('Z', '+03:00', '-05:00', …), e.g. 09:25:00 UTC at -05:00 is
 * '2025-03-10T04:25:00.000-05:00'.
 */
export function toIngestEvent(row: ScenarioEvent, offset = 'Z'): IngestEvent {
  const utcMs = Date.parse(`${row.occurred_at.replace(' ', 'T')}Z`);
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (offset !== 'Z' && !m) throw new Error(`not an offset: ${offset}`);
  const offsetMin = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const local = new Date(utcMs + offsetMin * 60_000).toISOString().slice(0, 23); // the wall clock at that offset
  const event: Record<string, unknown> = { id: row.id, source: row.source, type: row.type, occurredAt: `${local}${offset}` };
  for (const [column, field] of CONTRACT_FIELDS) {
    const value = row[column];
    if (value !== '' && value !== null) event[field] = value;
  }
  if (Object.keys(row.attributes).length > 0) event.attributes = row.attributes;
  return event as unknown as IngestEvent;
}

export async function insertEvents(ch: ClickHouseClient, events: readonly ScenarioEvent[]): Promise<void> {
  await ch.insert({ table: 'events', values: events as ScenarioEvent[], format: 'JSONEachRow' });
}

export const SUPPORT_SETTINGS = { slThresholdS: 60, slTargetPct: 95, shortAbandonS: 10 };
