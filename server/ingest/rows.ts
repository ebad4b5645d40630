// Maps a validated event to its row in the `events` table (sql/001_events.sql), and writes rows.
import type { ClickHouseClient } from '@clickhouse/client';
import type { ValidEvent } from './contract.ts';
import { chTime } from '../clickhouse/time.ts';

export interface EventRow {
  source: string;
  id: string;
  type: string;
  occurred_at: string;
  received_at: string;
  contact_id: string;
  queue: string;
  team: string;
  channel: string;
  agent_id: string;
  customer_id: string;
  to_queue: string;
  to_agent_id: string;
  talk_ms: number | null;
  hold_ms: number | null;
  acw_ms: number | null;
  resolved: boolean | null;
  state: string;
  reason: string;
  outcome: string;
  public: boolean | null;
  metric: string;
  score: number | null;
  attributes: Record<string, string>;
}

function text(f: Partial<Record<string, unknown>>, key: string): string {
  const v = f[key];
  return typeof v === 'string' ? v : '';
}

function numberOrNull(f: Partial<Record<string, unknown>>, key: string): number | null {
  const v = f[key];
  return typeof v === 'number' ? v : null;
}

export function toEventRow(e: ValidEvent, receivedAtMs: number): EventRow {
  return eventRow(e, chTime(receivedAtMs));
}

/** The rows of a batch received together: their received_at is formatted once, not per row. */
export function toEventRows(events: readonly ValidEvent[], receivedAtMs: number): EventRow[] {
  const receivedAt = chTime(receivedAtMs);
  return events.map((e) => eventRow(e, receivedAt));
}

function eventRow(e: ValidEvent, receivedAt: string): EventRow {
  const f = e as Partial<Record<string, unknown>> & ValidEvent;
  return {
    source: e.source,
    id: e.id,
    type: e.type,
    occurred_at: chTime(e.occurredAtMs),
    received_at: receivedAt,
    contact_id: text(f, 'contactId'),
    queue: text(f, 'queue'),
    team: text(f, 'team'),
    channel: text(f, 'channel'),
    agent_id: text(f, 'agentId'),
    customer_id: text(f, 'customerId'),
    to_queue: text(f, 'toQueue'),
    to_agent_id: text(f, 'toAgentId'),
    talk_ms: numberOrNull(f, 'talkMs'),
    hold_ms: numberOrNull(f, 'holdMs'),
    acw_ms: numberOrNull(f, 'acwMs'),
    resolved: typeof f.resolved === 'boolean' ? f.resolved : null,
    state: text(f, 'state'),
    reason: text(f, 'reason'),
    outcome: text(f, 'outcome'),
    // a reply is public unless the CRM says otherwise (the contract's default)
    public: e.type === 'ticket.replied' ? (e.public ?? true) : null,
    metric: text(f, 'metric'),
    score: numberOrNull(f, 'score'),
    attributes: e.attributes ?? {},
  };
}

/** The columns of an event row, in the order the rows are sent. */
const EVENT_COLUMNS: [keyof EventRow, ...Array<keyof EventRow>] = [
  'source', 'id', 'type', 'occurred_at', 'received_at', 'contact_id', 'queue', 'team', 'channel', 'agent_id', 'customer_id',
  'to_queue', 'to_agent_id', 'talk_ms', 'hold_ms', 'acw_ms', 'resolved', 'state', 'reason', 'outcome', 'public', 'metric',
  'score', 'attributes',
];

/**
 * Inserts event rows into `table` (`events`, or a copy of it) as JSONCompactEachRow: no field names on every row, which
 * the engine parses ~1.3–1.4× faster than JSONEachRow (measured: 100,000 simulator events in batches of 5–20k).
 */
export async function insertEventRows(ch: ClickHouseClient, table: string, rows: readonly EventRow[]): Promise<void> {
  await ch.insert({ table, columns: EVENT_COLUMNS, values: rows.map((r) => EVENT_COLUMNS.map((c) => r[c])), format: 'JSONCompactEachRow' });
}
