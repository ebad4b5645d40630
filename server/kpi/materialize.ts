// The worker step that turns newly stored events into rollups (why a worker step and not views on `events`: see the
// headers of sql/004_kpi_rollups.sql and sql/008_fanout.sql).
//
// A pass takes the events committed since the last one, exactly: those whose `_block_number` is above the watermark W
// (kpi_progress 'fanout'), up to W' (the highest committed block it read, capped so one pass stays bounded). It
//   1. fans them out (INSERT INTO events_fanout: event_ids, kpi_contact_events, kpi_customer_events, kpi_agent_state),
//   2. materialises the measures of the contacts they touched, plus, when a touched contact became, stopped being or
//      moved as an interaction of a customer (FCR's look-back), the other contacts of that customer that began within
//      the look-back after it (their FCR may change), from each contact's whole history: one row per completing event,
//      keyed by the event, so a re-computation replaces the previous row,
//   3. moves W to W' once both are written (runPass hands the writes to the caller, which publishes meanwhile).
// Every step is idempotent: a pass repeated after a crash, or overlapping another, counts nothing twice.
import type { ClickHouseClient } from '@clickhouse/client';
import { eventKey } from '../ingest/contract.ts';
import { chTime } from '../clickhouse/time.ts';
import type { AgentStateRow } from './compute.ts';
import type { ContactChange } from './live-rollup.ts';
import { cmp, contactMeasures, MEASURES_DEFINITION, type ContactEvent, type Interaction, type Measure } from './measures.ts';
import { writeMeasureSettings } from './settings.ts';

const DAY_MS = 86_400_000;

/** Events per pass (at least one insert block): bounds the memory and time of a pass after a long pause. */
const MAX_PASS_ROWS = 100_000;

/**
 * The events above block {lo} (and at most {hi}, unless `open`). The first condition prunes whole parts by the highest
 * block in their name (partition_min_max_level[_mutation]), evaluated on the same snapshot of parts as the read, so
 * only parts holding new rows are read at all; the second picks the rows.
 */
export function newEvents(open = false, lo = '{lo:UInt64}'): string {
  return `toUInt64(splitByChar('_', _part)[3]) > ${lo} AND _block_number > ${lo}${open ? '' : ' AND _block_number <= {hi:UInt64}'}`;
}

/** Event types kept by contact (kpi_contact_events); the same filter as kpi_contact_events_mv. */
const CONTACT_EVENT = `contact_id != '' AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.') OR type IN ('survey.response', 'ivr.ended'))`;

/** Contacts (or customers) per materialisation query: their ids travel as a query parameter. */
const CONTACTS_PER_QUERY = 2_000;

/** max_query_size for queries with id lists (a parameter's value is parsed under it; 256 KiB by default). */
const MAX_PARAMS_BYTES = 1024 * 1024;

export interface MaterializeResult {
  /** The watermark the pass started from (above the caller's when another process moved it further). */
  from: number;
  /** Events fanned out up to this block number (the new watermark). */
  upTo: number;
  /** Events taken by this pass. */
  events: number;
  /** Contacts whose measures were recomputed. */
  contacts: number;
  elapsedMs: number;
}

/** The stored fan-out watermark, as a scalar subquery: the highest block number of `events` already fanned out (0 before the first pass). */
export const STORED_WATERMARK = `(SELECT argMax(position, updated_at) FROM kpi_progress WHERE name = 'fanout')`;

let lastVersion = 0;

/**
 * The `version` of the measure rows a computation writes (kpi_measures keeps each event's row of the highest): the
 * time in ms, but never at or below the last one this process gave. A clock set back (an NTP step) would otherwise
 * have a contact's recomputed rows lose to those written before it, until the contact changed again.
 */
export function measureVersion(now = Date.now()): number {
  lastVersion = Math.max(now, lastVersion + 1);
  return lastVersion;
}

/**
 * Raises measureVersion()'s floor to the highest version stored, for a worker taking the lease: the one before it may
 * have run on a host whose clock was ahead of this one's, and the rows this one recomputes must not lose to its older
 * ones until the clocks meet.
 */
export async function floorMeasureVersion(ch: ClickHouseClient): Promise<void> {
  const rs = await ch.query({ query: 'SELECT max(version) AS v FROM kpi_measures', format: 'JSONEachRow' });
  const [row] = await rs.json<{ v: string | number }>();
  lastVersion = Math.max(lastVersion, Number(row?.v ?? 0));
}

export async function readWatermark(ch: ClickHouseClient): Promise<number> {
  const rs = await ch.query({
    query: `SELECT ${STORED_WATERMARK} AS w`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ w: string | number }>();
  return Number(row?.w ?? 0);
}

/**
 * Stores the fan-out watermark. Its row must be the latest (argMax by updated_at) whatever the clock says: after a
 * rebuild sets it back to 0 on a clock behind the stored rows (a restore of a backup from a machine ahead, a clock
 * stepped back), an older, higher watermark would otherwise still win over truncated tables, and events never be
 * fanned out again.
 */
export async function writeWatermark(ch: ClickHouseClient, position: number): Promise<void> {
  await ch.command({
    query: `INSERT INTO kpi_progress (name, up_to, updated_at, position)
            SELECT 'fanout', now64(3, 'UTC'), greatest(now64(3, 'UTC'), max(updated_at) + toIntervalMillisecond(1)), {p:UInt64}
            FROM kpi_progress WHERE name = 'fanout'`,
    query_params: { p: position },
  });
}

/**
 * The next range of blocks: from the watermark (`from`, or the stored one when another process moved it further, e.g.
 * a rebuild) to the highest committed block within `maxRows` events (at least one block).
 */
export async function nextRange(ch: ClickHouseClient, from: number, maxRows: number): Promise<{ from: number; to: number; events: number }> {
  const rs = await ch.query({
    query: `WITH greatest({from:UInt64}, ${STORED_WATERMARK}) AS lo
            SELECT lo AS from, max(b) AS to, max(total) AS events
            FROM
            (
                SELECT b, n, sum(n) OVER (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS total
                FROM (SELECT _block_number AS b, count() AS n FROM events WHERE ${newEvents(true, 'lo')} GROUP BY b)
            )
            WHERE total - n < {max:UInt64}`,
    query_params: { from, max: maxRows },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ from: string | number; to: string | number; events: string | number }>();
  const lo = Number(row?.from ?? from);
  const to = Number(row?.to ?? 0);
  return to > lo ? { from: lo, to, events: Number(row!.events) } : { from: lo, to: lo, events: 0 };
}

async function fanOut(ch: ClickHouseClient, lo: number, hi: number): Promise<void> {
  await ch.command({
    query: `INSERT INTO events_fanout SELECT * FROM events WHERE ${newEvents()}`,
    query_params: { lo, hi },
    // the four views write their tables side by side
    clickhouse_settings: { parallel_view_processing: 1 },
  });
}

const EVENT_COLUMNS = `contact_id, toUnixTimestamp64Milli(occurred_at) AS t, source, id, type, queue, team, channel, agent_id, customer_id,
    talk_ms, hold_ms, acw_ms, ifNull(resolved, false) AS resolved, ifNull(public, false) AS public, metric, score, outcome`;

type EventRow = [string, string, string, string, string, string, string, string, string, string, number | null, number | null, number | null, boolean, boolean, string, number | null, string];

interface StoredEvent extends ContactEvent {
  contactId: string;
}

function toEvent(r: EventRow): StoredEvent {
  return {
    contactId: r[0], t: Number(r[1]), source: r[2], id: r[3], type: r[4], queue: r[5], team: r[6], channel: r[7], agentId: r[8],
    customerId: r[9], talkMs: r[10], holdMs: r[11], acwMs: r[12], resolved: r[13], public: r[14], metric: r[15], score: r[16], outcome: r[17],
  };
}

/**
 * What FCR's look-back needs to know of a contact (docs/kpis.md): a contact is an interaction of its customer when it
 * was offered (contact.offered) or created (ticket.created); its customer is the first one its events name, by (time,
 * source, id), as for its own measures (measures.ts); the interaction began at its earliest event.
 */
interface ContactSummary {
  start: number;
  /** The first event naming a customer, as (time, source, id, customer). */
  named: [number, string, string, string] | null;
  offered: boolean;
  /** Every customer its events name. */
  customers: Set<string>;
}

type SummaryInput = Pick<ContactEvent, 't' | 'source' | 'id' | 'type' | 'customerId'>;

const OFFERED_TYPES = new Set(['contact.offered', 'ticket.created']);

/** `summary` with the events added (a new summary; `summary` itself is left as it was). */
function summarize(events: Iterable<SummaryInput>, summary: ContactSummary | null = null): ContactSummary | null {
  let s = summary && { ...summary, customers: new Set(summary.customers) };
  for (const e of events) {
    s ??= { start: e.t, named: null, offered: false, customers: new Set() };
    s.start = Math.min(s.start, e.t);
    s.offered ||= OFFERED_TYPES.has(e.type);
    if (e.customerId === '') continue;
    s.customers.add(e.customerId);
    const n = s.named;
    if (n === null || (e.t - n[0] || cmp(e.source, n[1]) || cmp(e.id, n[2])) < 0) s.named = [e.t, e.source, e.id, e.customerId];
  }
  return s;
}

interface PassRows {
  /** The watermark the pass starts from: the caller's, or the stored one when further. */
  lo: number;
  /** The highest block read: the pass takes (lo, hi]. */
  hi: number;
  /** Events in (lo, hi]. */
  count: number;
  /** Those that go to kpi_contact_events (the measures' input). */
  contactEvents: StoredEvent[];
  /** The agent.state events (what goes to kpi_agent_state). */
  agentStates: AgentStateEvent[];
}

/** An agent.state event, as kpi_agent_state takes it (the latest by (time, source, id) wins). */
export type AgentStateEvent = AgentStateRow & { source: string; id: string };

/**
 * The events of the next pass, read from `events` itself in one query: every block above the watermark, whole blocks
 * only, up to `maxRows` rows (`LIMIT … WITH TIES` on the block number keeps the last block whole). Materialisation then
 * need not wait for the fan-out that copies them into kpi_contact_events (the two run side by side). A block that
 * commits while this runs has a higher number than any read, so the next pass takes it.
 */
async function readPass(ch: ClickHouseClient, from: number, maxRows: number): Promise<PassRows | null> {
  const rs = await ch.query({
    query: `WITH greatest({from:UInt64}, ${STORED_WATERMARK}) AS lo
            SELECT lo, _block_number AS b, ${CONTACT_EVENT} AS contact_event, state, reason, attributes['agentName'] AS agent_name, ${EVENT_COLUMNS}
            FROM events
            WHERE ${newEvents(true, 'lo')}
            ORDER BY _block_number
            LIMIT {max:UInt64} WITH TIES`,
    query_params: { from, max: maxRows },
    format: 'JSONCompactEachRow',
  });
  const rows = await rs.json<[string | number, string | number, number | boolean, string, string, string, ...EventRow]>();
  if (rows.length === 0) return null;
  let hi = 0;
  const contactEvents: StoredEvent[] = [];
  const agentStates: AgentStateEvent[] = [];
  for (const [, b, isContactEvent, state, reason, name, ...row] of rows) {
    hi = Math.max(hi, Number(b));
    const e = toEvent(row as unknown as EventRow);
    if (Number(isContactEvent)) contactEvents.push(e);
    else if (e.type === 'agent.state' && e.agentId !== '') {
      agentStates.push({ agentId: e.agentId, t: e.t, source: e.source, id: e.id, state, reason, name, queue: e.queue, team: e.team, channel: e.channel });
    }
  }
  return { lo: Number(rows[0]![0]), hi, count: rows.length, contactEvents, agentStates };
}

/** The interaction a contact makes, if any: its customer and when it began. */
function interactionOf(s: ContactSummary | null): { customer: string; t: number } | null {
  return s?.offered && s.named ? { customer: s.named[3], t: s.start } : null;
}

/** A contact of the pass: summarised from its stored history (null: nothing stored yet), and with the pass's events. */
interface FreshContact {
  before: ContactSummary | null;
  after: ContactSummary;
}

/**
 * The pass's contacts, summarised from their stored events (`stored`, read while the fan-out may be writing the pass's
 * own events: those are left out) and with the pass's.
 */
function summarizeFresh(freshOf: ReadonlyMap<string, StoredEvent[]>, stored: readonly StoredEvent[]): Map<string, FreshContact> {
  const freshKeys = new Set([...freshOf.values()].flat().map((e) => eventKey(e.source, e.id)));
  const storedOf = groupBy(stored.filter((e) => !freshKeys.has(eventKey(e.source, e.id))), (e) => e.contactId);
  const out = new Map<string, FreshContact>();
  for (const [contactId, events] of freshOf) {
    const before = summarize(storedOf.get(contactId) ?? []);
    out.set(contactId, { before, after: summarize(events, before)! });
  }
  return out;
}

/** Adds `value` to the list of `key`. */
function append<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) append(out, key(item), item);
  return out;
}

/**
 * The other contacts to recompute for a pass, besides those it touched: for each touched contact that became, stopped
 * being or moved as an interaction of a customer, the other contacts of that customer that began from then to the look-back
 * after (their FCR may change): every contact with an event naming the customer (sql/014_customer_contacts.sql), by
 * when it began (its events naming the customer may come days later: they are only at or after it).
 */
async function touchedContacts(ch: ClickHouseClient, contacts: ReadonlyMap<string, FreshContact>, lookbackMs: number): Promise<string[]> {
  const ids = new Set<string>();
  const spans = new Map<string, { t0: number; t1: number }>();
  for (const { before, after } of contacts.values()) {
    const was = interactionOf(before);
    const is = interactionOf(after);
    if (was?.customer === is?.customer && was?.t === is?.t) continue;
    for (const i of [was, is]) {
      if (i === null) continue;
      const s = spans.get(i.customer);
      spans.set(i.customer, s ? { t0: Math.min(s.t0, i.t), t1: Math.max(s.t1, i.t) } : { t0: i.t, t1: i.t });
    }
  }
  for (let i = 0, customers = [...spans.keys()]; i < customers.length; i += CONTACTS_PER_QUERY) {
    const chunk = customers.slice(i, i + CONTACTS_PER_QUERY);
    const rs = await ch.query({
      query: `WITH named AS
              (
                  SELECT customer_id, contact_id FROM kpi_customer_events
                  WHERE customer_id IN {customers:Array(String)} AND occurred_at >= fromUnixTimestamp64Milli({t0:Int64}, 'UTC')
              )
              SELECT DISTINCT n.customer_id, n.contact_id, toUnixTimestamp64Milli(s.start) AS t
              FROM named AS n
              INNER JOIN
              (
                  SELECT contact_id, min(occurred_at) AS start FROM kpi_contact_events
                  WHERE contact_id IN (SELECT contact_id FROM named) GROUP BY contact_id
              ) AS s ON s.contact_id = n.contact_id`,
      query_params: { customers: chunk, t0: Math.min(...chunk.map((c) => spans.get(c)!.t0)) },
      format: 'JSONCompactEachRow',
      clickhouse_settings: { max_query_size: String(MAX_PARAMS_BYTES) },
    });
    for (const [customer, contactId, t] of await rs.json<[string, string, string | number]>()) {
      const span = spans.get(customer)!;
      if (Number(t) >= span.t0 && Number(t) <= span.t1 + lookbackMs && !contacts.has(contactId)) ids.add(contactId);
    }
  }
  return [...ids];
}

/**
 * ContactSummary in SQL, for the contacts of kpi_contact_events that `where` picks: when each began, its customer
 * (the first its events name, by (time, source, id)), and whether it was offered or created.
 */
const contactSummaries = (where: string) => `
    SELECT contact_id, min(occurred_at) AS start,
           tupleElement(minIf((occurred_at, CAST(source AS String), id, customer_id), customer_id != ''), 4) AS customer,
           max(type IN ('contact.offered', 'ticket.created')) AS offered
    FROM kpi_contact_events
    WHERE ${where}
    GROUP BY contact_id`;

/**
 * The interactions FCR needs for the contacts `filter` picks, when some of their events are not stored yet (a pass):
 * the interactions of their customers (those their stored events name, and `fresh_customers`) that began at most the
 * look-back before the earliest of them (`fresh_start`: the earliest of their events not stored yet). Each is found by
 * any event naming its customer, and is one row: (customer, contact, when it began).
 */
const INTERACTIONS_OF_CUSTOMERS = (filter: string) => `
WITH greatest(least(ifNull((SELECT toUnixTimestamp64Milli(minOrNull(occurred_at)) FROM kpi_contact_events WHERE ${filter}), {fresh_start:Int64}),
                    {fresh_start:Int64}) - {lookback_ms:Int64}, 0) AS since_ms
SELECT customer, contact_id, toUnixTimestamp64Milli(start) AS t
FROM
(${contactSummaries(`contact_id IN
    (
        SELECT contact_id FROM kpi_customer_events
        WHERE (customer_id IN (SELECT customer_id FROM kpi_contact_events WHERE ${filter} AND customer_id != '')
               OR customer_id IN {fresh_customers:Array(String)})
          AND occurred_at >= fromUnixTimestamp64Milli(since_ms, 'UTC')
    )`)}
)
WHERE offered AND customer != '' AND toUnixTimestamp64Milli(start) >= since_ms`;

/**
 * The same in a rebuild, from every interaction summarised once into kpi_rebuild_interactions (sql/016): per customer
 * of the contacts `filter` picks, those that began from the look-back before the earliest of them to the latest. (A
 * regular customer has contacts in every slice of a rebuild: summarising each slice's customers' contacts again would
 * read the whole history once per slice.)
 */
const INTERACTIONS_IN_SPANS = (filter: string) => `
WITH spans AS
(
    SELECT customer, min(start) AS s0, max(start) AS s1 FROM (${contactSummaries(filter)}) WHERE customer != '' GROUP BY customer
)
SELECT i.customer_id, i.contact_id, toUnixTimestamp64Milli(i.start) AS t
FROM kpi_rebuild_interactions AS i
INNER JOIN spans ON i.customer_id = spans.customer
WHERE i.customer_id IN (SELECT customer FROM spans)
  AND toUnixTimestamp64Milli(i.start) >= toUnixTimestamp64Milli(spans.s0) - {lookback_ms:Int64}
  AND i.start <= spans.s1`;

/** The pass's contacts as interactions of their customers: before the pass and with it. */
interface FreshInteractions {
  /** The pass's contacts (their rows read from ClickHouse are left out: these stand for them). */
  ids: ReadonlySet<string>;
  before: ReadonlyMap<string, Interaction[]>;
  after: ReadonlyMap<string, Interaction[]>;
}

function freshInteractions(contacts: ReadonlyMap<string, FreshContact>): FreshInteractions {
  const before = new Map<string, Interaction[]>();
  const after = new Map<string, Interaction[]>();
  const add = (into: Map<string, Interaction[]>, contactId: string, s: ContactSummary | null) => {
    const i = interactionOf(s);
    if (i) append(into, i.customer, { contactId, t: i.t });
  };
  for (const [contactId, c] of contacts) {
    add(before, contactId, c.before);
    add(after, contactId, c.after);
  }
  return { ids: new Set(contacts.keys()), before, after };
}

/** What the measures of some contacts are computed from: their stored events, and their customers' stored interactions. */
interface Stored {
  events: StoredEvent[];
  /** (customer, contact, when it began) */
  interactions: Array<[string, string, string | number]>;
}

/**
 * Reads what the measures of the contacts chosen by `filter` (a condition on kpi_contact_events.contact_id) are computed
 * from. `freshEvents`: in a pass, those contacts' events of the pass (null in a rebuild).
 */
async function readStored(
  ch: ClickHouseClient,
  filter: string,
  params: Record<string, unknown>,
  lookbackMs: number,
  freshEvents: readonly StoredEvent[] | null,
): Promise<Stored> {
  const [eventsRs, interactionsRs] = await Promise.all([
    ch.query({
      query: `SELECT ${EVENT_COLUMNS} FROM kpi_contact_events FINAL WHERE ${filter}`,
      query_params: params,
      format: 'JSONCompactEachRow',
      clickhouse_settings: { max_query_size: String(MAX_PARAMS_BYTES) },
    }),
    ch.query({
      query: freshEvents ? INTERACTIONS_OF_CUSTOMERS(filter) : INTERACTIONS_IN_SPANS(filter),
      query_params: {
        ...params,
        fresh_customers: [...new Set((freshEvents ?? []).filter((e) => e.customerId !== '').map((e) => e.customerId))],
        fresh_start: (freshEvents ?? []).reduce((t, e) => Math.min(t, e.t), Number.MAX_SAFE_INTEGER),
        lookback_ms: lookbackMs,
      },
      format: 'JSONCompactEachRow',
      clickhouse_settings: { max_query_size: String(MAX_PARAMS_BYTES) },
    }),
  ]);
  return { events: (await eventsRs.json<EventRow>()).map(toEvent), interactions: await interactionsRs.json() };
}

/**
 * Computes the measures of some contacts from their whole history (server/kpi/measures.ts) and writes them: `stored`
 * as readStored gave it; `fresh`, in a pass, their events of the pass (which the fan-out may not have copied yet) and
 * the pass's contacts as interactions. With `observe`, each contact's measures before the pass (its history without
 * the fresh events) are computed too and reported with the new ones. Returns the number of contacts.
 */
function computeMeasures(
  ch: ClickHouseClient,
  stored: Stored,
  lookbackMs: number,
  fresh: { events: readonly StoredEvent[]; interactions: FreshInteractions } | null,
  observe?: (change: ContactChange) => void,
): { contacts: number; written: Promise<void> } {
  const freshEvents = fresh?.events ?? [];
  const seen = new Set<string>();
  const byContact = new Map<string, ContactEvent[]>();
  const add = (e: StoredEvent) => {
    const key = eventKey(e.source, e.id);
    if (seen.has(key)) return;
    seen.add(key);
    append(byContact, e.contactId, e);
  };
  for (const e of stored.events) add(e);
  for (const e of freshEvents) add(e);

  // the stored interactions, but the pass's contacts: fresh.interactions has them, before and with the pass
  const byCustomer = new Map<string, Interaction[]>();
  for (const [customer, contactId, t] of stored.interactions) {
    if (fresh?.interactions.ids.has(contactId)) continue;
    append(byCustomer, customer, { contactId, t: Number(t) });
  }
  const interactionsWith = (ofPass: ReadonlyMap<string, Interaction[]> | undefined) => (customer: string) => {
    const extra = ofPass?.get(customer);
    return extra ? [...(byCustomer.get(customer) ?? []), ...extra] : (byCustomer.get(customer) ?? []);
  };

  const version = measureVersion();
  const freshKeys = new Set(observe ? freshEvents.map((e) => eventKey(e.source, e.id)) : []);
  const isOld = (e: { source: string; id: string }) => !freshKeys.has(eventKey(e.source, e.id));
  const rows = [];
  for (const [contactId, events] of byContact) {
    const after = contactMeasures(contactId, events, interactionsWith(fresh?.interactions.after), lookbackMs);
    for (const m of after) rows.push(measureRow(m, version));
    if (observe) {
      const before = contactMeasures(contactId, events.filter(isOld), interactionsWith(fresh?.interactions.before), lookbackMs);
      observe({ contactId, before, after, events });
    }
  }
  const written = rows.length > 0 ? ch.insert({ table: 'kpi_measures', columns: MEASURE_COLUMNS, values: rows, format: 'JSONCompactEachRow' }).then(() => {}) : Promise.resolve();
  written.catch(() => {}); // the caller awaits it later; a failure meanwhile must not count as unhandled
  return { contacts: byContact.size, written };
}

/** The columns of a measure row, in the order measureRow gives them (JSONCompactEachRow: no names on every row). */
const MEASURE_COLUMNS: [string, ...string[]] = [
  'at', 'contact_id', 'source', 'event_id', 'kind', 'queue', 'team', 'channel', 'agent_id', 'wait_ms', 'handle_ms', 'frt_ms',
  'is_first_reply', 'is_resolution', 'fcr', 'metric', 'score', 'contained', 'version',
];

function measureRow(m: Measure, version: number): unknown[] {
  return [
    chTime(m.t), m.contactId, m.source, m.eventId, m.kind, m.queue, m.team, m.channel, m.agentId, m.waitMs, m.handleMs, m.frtMs,
    Number(m.isFirstReply), Number(m.isResolution), Number(m.fcr), m.metric, m.score, Number(m.contained), version,
  ];
}

export interface PassOptions {
  lookbackDays: number;
  /** Start from this watermark, or the stored one when it is further (default: the stored one). */
  from?: number;
  /** Told each recomputed contact's measures before and after the pass (the worker's in-memory rollup). */
  observe?: (change: ContactChange) => void;
}

export interface Pass extends MaterializeResult {
  /** The pass's agent.state events. */
  agentStates: AgentStateEvent[];
  /** The pass's writes (fan-out, measures): the watermark may move to `upTo` once they are done. */
  written: Promise<void>;
}

/**
 * One pass over the events committed after the watermark: the fan-out, and beside it the measures of the contacts the
 * pass touched. Resolves once the measures are computed (and observed), before they and the fan-out are written
 * (`written`): the worker publishes meanwhile. The next pass must not start before `written` resolved (it reads the
 * histories those writes complete), and the watermark must not move before.
 */
export async function runPass(ch: ClickHouseClient, opts: PassOptions): Promise<Pass> {
  const started = performance.now();
  const pass = await readPass(ch, opts.from ?? 0, MAX_PASS_ROWS);
  if (pass === null) {
    const lo = opts.from ?? 0;
    return { from: lo, upTo: lo, events: 0, contacts: 0, elapsedMs: performance.now() - started, agentStates: [], written: Promise.resolve() };
  }
  const { lo, hi, contactEvents: fresh } = pass;
  const fannedOut = fanOut(ch, lo, hi);
  fannedOut.catch(() => {}); // awaited below, with the other writes
  const writes: Array<Promise<void>> = [fannedOut];
  let contacts = 0;
  try {
    const lookbackMs = opts.lookbackDays * DAY_MS;
    const freshOf = groupBy(fresh, (e) => e.contactId);
    const byIds = 'contact_id IN {ids:Array(String)}';
    // The pass's contacts first: their histories tell which customers' interactions the pass changed, and are then
    // what their measures are computed from (one read).
    const freshChunks = [];
    for (let i = 0, ids = [...freshOf.keys()]; i < ids.length; i += CONTACTS_PER_QUERY) {
      const chunk = ids.slice(i, i + CONTACTS_PER_QUERY);
      const events = chunk.flatMap((id) => freshOf.get(id)!);
      freshChunks.push({ events, stored: await readStored(ch, byIds, { ids: chunk }, lookbackMs, events) });
    }
    const summaries = summarizeFresh(freshOf, freshChunks.flatMap((c) => c.stored.events));
    const others = await touchedContacts(ch, summaries, lookbackMs);
    const interactions = freshInteractions(summaries);
    const record = (m: { contacts: number; written: Promise<void> }) => {
      contacts += m.contacts;
      writes.push(m.written);
    };
    for (const c of freshChunks) record(computeMeasures(ch, c.stored, lookbackMs, { events: c.events, interactions }, opts.observe));
    for (let i = 0; i < others.length; i += CONTACTS_PER_QUERY) {
      const chunk = others.slice(i, i + CONTACTS_PER_QUERY);
      const stored = await readStored(ch, byIds, { ids: chunk }, lookbackMs, []);
      record(computeMeasures(ch, stored, lookbackMs, { events: [], interactions }, opts.observe));
    }
  } catch (err) {
    await Promise.allSettled(writes); // nothing of a failed pass is left running
    throw err;
  }
  const written = Promise.all(writes).then(() => {});
  written.catch(() => {}); // the caller awaits it; a failure must not surface as unhandled meanwhile
  return { from: lo, upTo: hi, events: pass.count, contacts, elapsedMs: performance.now() - started, agentStates: pass.agentStates, written };
}

/** One pass, its writes done and the watermark moved (tests, catch-up). */
export async function materializeMeasures(ch: ClickHouseClient, opts: Omit<PassOptions, 'observe'>): Promise<MaterializeResult> {
  const { written, agentStates: _, ...result } = await runPass(ch, opts);
  await written;
  if (result.events > 0) await writeWatermark(ch, result.upTo);
  return result;
}

/** Passes until every committed event is taken (tests, start-up after a long pause, the benchmark's bulk loads). */
export async function catchUp(ch: ClickHouseClient, opts: { lookbackDays: number }): Promise<MaterializeResult> {
  const started = performance.now();
  // from 0: a pass starts from the stored watermark when it is further
  let total = { from: 0, upTo: 0, events: 0, contacts: 0 };
  for (;;) {
    const r = await materializeMeasures(ch, { ...opts, from: total.upTo });
    if (r.events === 0) break;
    total = { from: total.events === 0 ? r.from : total.from, upTo: r.upTo, events: total.events + r.events, contacts: total.contacts + r.contacts };
  }
  return { ...total, elapsedMs: performance.now() - started };
}

/** Contacts per slice of a rebuild (ranges of contact ids, so the memory of one slice stays bounded). */
const REBUILD_SLICE_CONTACTS = 50_000;

/** Slices of a rebuild materialised at once. */
const REBUILD_CONCURRENCY = 2;

/** Events fanned out per pass when only fanning out (a rebuild's catch-up). */
const FAN_OUT_ONLY_ROWS = 1_000_000;

/**
 * Recomputes every contact's measures (after a restore, a change of the look-back or of the definition): fans out what
 * is pending, summarises every interaction once (kpi_rebuild_interactions), then materialises the contacts in ranges
 * of ids (kpi_contact_events is ordered by contact, so a range reads only itself), and records what the measures were
 * computed with (kpi_measure_settings). One rebuild at a time per database: `signal` stops it between slices (its
 * process lost the right to run it), and a failed slice stops the others before the rebuild fails.
 */
export async function rebuildMeasures(
  ch: ClickHouseClient,
  opts: { lookbackDays: number; signal?: AbortSignal; /** contacts per slice (tests) */ sliceContacts?: number },
): Promise<MaterializeResult> {
  const started = performance.now();
  let upTo = 0;
  let events = 0;
  for (;;) {
    const next = await nextRange(ch, upTo, FAN_OUT_ONLY_ROWS);
    upTo = next.from;
    if (next.events === 0) break;
    await fanOut(ch, upTo, next.to);
    await writeWatermark(ch, next.to);
    upTo = next.to;
    events += next.events;
  }
  // The first id of every slice, in order.
  const rs = await ch.query({
    query: `SELECT contact_id FROM
            (
                SELECT contact_id, row_number() OVER (ORDER BY contact_id) AS r
                FROM (SELECT DISTINCT contact_id FROM kpi_contact_events)
            )
            WHERE (r - 1) % {n:UInt64} = 0
            ORDER BY contact_id`,
    query_params: { n: opts.sliceContacts ?? REBUILD_SLICE_CONTACTS },
    format: 'JSONCompactEachRow',
  });
  const firsts = (await rs.json<[string]>()).map((r) => r[0]);
  const slice = (i: number) =>
    i === firsts.length - 1
      ? { filter: 'contact_id >= {first:String}', params: { first: firsts[i] } }
      : { filter: 'contact_id >= {first:String} AND contact_id < {next:String}', params: { first: firsts[i], next: firsts[i + 1] } };
  // Slices are disjoint: REBUILD_CONCURRENCY of them at once keep both the engine and this process busy. Nothing is
  // left running when it fails: a rebuild started again must not meet slices of this one.
  const eachSlice = async (work: (i: number) => Promise<void>) => {
    let next = 0;
    let failed = false;
    const slicer = async () => {
      for (let i = next++; i < firsts.length && !failed; i = next++) {
        try {
          opts.signal?.throwIfAborted();
          await work(i);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const done = await Promise.allSettled(Array.from({ length: REBUILD_CONCURRENCY }, slicer));
    const failure = done.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  };
  await ch.command({ query: 'TRUNCATE TABLE kpi_rebuild_interactions' });
  await eachSlice(async (i) => {
    const { filter, params } = slice(i);
    await ch.command({
      query: `INSERT INTO kpi_rebuild_interactions (customer_id, start, contact_id)
              SELECT customer, start, contact_id FROM (${contactSummaries(filter)}) WHERE offered AND customer != ''`,
      query_params: params,
    });
  });
  let contacts = 0;
  await eachSlice(async (i) => {
    const { filter, params } = slice(i);
    const lookbackMs = opts.lookbackDays * DAY_MS;
    const m = computeMeasures(ch, await readStored(ch, filter, params, lookbackMs, null), lookbackMs, null);
    await m.written;
    contacts += m.contacts;
  });
  await ch.command({ query: 'TRUNCATE TABLE kpi_rebuild_interactions' });
  await writeMeasureSettings(ch, { fcrLookbackDays: opts.lookbackDays, definition: MEASURES_DEFINITION });
  return { from: 0, upTo, events, contacts, elapsedMs: performance.now() - started };
}

/** What derives from `events` alone: the fan-out's targets (sql/008_fanout.sql) and the measures. */
const DERIVED_TABLES = ['event_ids', 'kpi_contact_events', 'kpi_customer_events', 'kpi_agent_state', 'kpi_measures'] as const;

/**
 * Empties every table derived from `events` and rebuilds them from it, from the first event (after a restore, whose
 * copies of `events` and of its derivations need not agree). Nothing may ingest or materialise meanwhile.
 */
export async function rebuildDerived(ch: ClickHouseClient, opts: { lookbackDays: number }): Promise<MaterializeResult> {
  for (const table of DERIVED_TABLES) await ch.command({ query: `TRUNCATE TABLE ${table}` });
  await writeWatermark(ch, 0);
  return rebuildMeasures(ch, opts);
}
