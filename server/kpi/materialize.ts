// The worker step that turns newly stored events into rollups (why a worker step and not views on `events`: see the
// headers of sql/004_kpi_rollups.sql and sql/008_fanout.sql).
//
// A pass takes the events committed since the last one, exactly: those whose `_block_number` is above the watermark W
// (kpi_progress 'fanout'), up to W' (the highest committed block, capped so one pass stays bounded). It
//   1. fans them out (INSERT INTO events_fanout: event_ids, kpi_contact_events, kpi_customer_events, kpi_agent_state),
//   2. materialises the measures of the contacts they touched, plus the other contacts of the touched customers that
//      began within the FCR look-back after the touch (their FCR may change), from each contact's whole history: one
//      row per completing event, keyed by the event, so a re-computation replaces the previous row,
//   3. moves W to W'.
// Every step is idempotent: a pass repeated after a crash, or overlapping another, counts nothing twice.
import type { ClickHouseClient } from '@clickhouse/client';

const DAY_MS = 86_400_000;

/** Events per pass (at least one insert block): bounds the memory and time of a pass after a long pause. */
export const MAX_PASS_ROWS = 500_000;

/**
 * The events above block {lo} (and at most {hi}, unless `open`). The engine prunes whole parts by their block range
 * (measured: ~3 ms for a read of 10 new rows next to a 10M-row part), so this reads what is new, not the history.
 */
function newEvents(open = false): string {
  return `_block_number > {lo:UInt64}${open ? '' : ' AND _block_number <= {hi:UInt64}'}`;
}

/** Event types kept by contact (kpi_contact_events); the same filter as kpi_contact_events_mv. */
const CONTACT_EVENT = `contact_id != '' AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.') OR type IN ('survey.response', 'ivr.ended'))`;

/** The contacts to recompute: those touched by the range's events (and their customers' later ones), or `all`. */
function idsCte(mode: 'range' | 'all'): string {
  if (mode === 'all') return `ids AS (SELECT DISTINCT contact_id FROM kpi_contact_events)`;
  return `touches AS (
    SELECT contact_id, customer_id, occurred_at FROM events WHERE ${newEvents()} AND ${CONTACT_EVENT}
),
ids AS (
    SELECT contact_id FROM touches
    UNION DISTINCT
    SELECT ce.contact_id
    FROM kpi_customer_events AS ce
    INNER JOIN
    (
        SELECT customer_id, min(occurred_at) AS t0, max(occurred_at) AS t1 FROM touches WHERE customer_id != '' GROUP BY customer_id
    ) AS tc ON ce.customer_id = tc.customer_id
    WHERE ce.customer_id IN (SELECT customer_id FROM touches WHERE customer_id != '')
      AND ce.occurred_at >= tc.t0
      AND toUnixTimestamp64Milli(ce.occurred_at) <= toUnixTimestamp64Milli(tc.t1) + {lookback:Int64}
)`;
}

/**
 * SQL for "the contact's value of a scope field for event e": the event's own when not empty, else the latest earlier
 * value on the contact's events (`arr` holds (time, …, value) tuples sorted by time), else the earliest later one.
 */
function filled(own: string, arr: string, index: 2 | 3 = 2, extra = 'true'): string {
  const before = `x -> x.1 <= e.t AND ${extra}`;
  const after = `x -> x.1 > e.t AND ${extra}`;
  return `if(${own} != '', ${own}, if(arrayExists(${before}, ${arr}), arrayLast(${before}, ${arr}).${index}, arrayFirst(${after}, ${arr}).${index}))`;
}

/**
 * The materialisation itself. Per contact: its offers (sorted), its creation, its first public reply and first
 * resolution (earliest by (time, source, id)), whether it was ever transferred or reopened, when it began (its earliest
 * event), its customer, and the scope values its events carry. Per completing event: its scope (own values, else the
 * contact's), the wait since the latest offer at or before it, handle time, FRT, first reply / first resolution, FCR,
 * and the survey answer.
 */
export function materializeSql(mode: 'range' | 'all'): string {
  return `INSERT INTO kpi_measures (at, contact_id, source, event_id, kind, queue, team, channel, agent_id, wait_ms, handle_ms,
    frt_ms, is_first_reply, is_resolution, fcr, metric, score, contained, version)
WITH
${idsCte(mode)},
ev AS (
    SELECT contact_id, occurred_at, toUnixTimestamp64Milli(occurred_at) AS t, CAST(source AS String) AS src, id,
        CAST(type AS String) AS etype, CAST(queue AS String) AS q, CAST(team AS String) AS tm, CAST(channel AS String) AS ch,
        agent_id, customer_id, talk_ms, hold_ms, acw_ms, ifNull(resolved, false) AS is_resolved,
        ifNull(public, false) AS is_public, CAST(metric AS String) AS survey_metric, score,
        CAST(outcome AS String) AS ivr_outcome
    FROM kpi_contact_events FINAL
    WHERE contact_id IN (SELECT contact_id FROM ids)
),
per_contact AS (
    SELECT contact_id,
        arraySort(groupArrayIf(t, etype = 'contact.offered')) AS offers,
        countIf(etype = 'ticket.created') AS n_created,
        minIf(t, etype = 'ticket.created') AS created_t,
        minIf((t, src, id), etype = 'ticket.replied' AND is_public) AS first_reply,
        minIf((t, src, id), (etype = 'contact.ended' AND is_resolved) OR etype = 'ticket.solved') AS first_resolution,
        countIf(etype IN ('contact.transferred', 'ticket.reopened')) AS n_repeat,
        min(t) AS start_t,
        argMinIf(customer_id, t, customer_id != '') AS customer,
        arraySort(groupArrayIf((t, q), q != '')) AS queues,
        arraySort(groupArrayIf((t, ch), ch != '')) AS channels,
        arraySort(groupArrayIf((t, agent_id), agent_id != '')) AS agents,
        arraySort(groupArrayIf((t, agent_id, tm), tm != '')) AS teams
    FROM ev
    GROUP BY contact_id
),
prior AS (
    SELECT p.contact_id AS contact_id, count() AS n
    FROM per_contact AS p
    INNER JOIN
    (
        SELECT customer_id, contact_id, toUnixTimestamp64Milli(occurred_at) AS t
        FROM kpi_customer_events FINAL
        WHERE customer_id IN (SELECT customer FROM per_contact WHERE customer != '')
    ) AS ce ON ce.customer_id = p.customer
    WHERE ce.contact_id != p.contact_id AND ce.t < p.start_t AND ce.t >= p.start_t - {lookback:Int64}
    GROUP BY p.contact_id
)
SELECT at, contact_id, src, event_id, kind, queue, team, channel, agent, wait_ms, handle_ms, frt_ms, is_first_reply,
    is_resolution, fcr, survey_metric, score, contained, {version:UInt64}
FROM
(
    SELECT
        e.occurred_at AS at, e.contact_id AS contact_id, e.src AS src, e.id AS event_id,
        multiIf(e.etype = 'contact.offered', 'offer', e.etype = 'ivr.ended', 'ivr', e.etype = 'contact.answered', 'answer', e.etype = 'contact.abandoned', 'abandon', e.etype = 'contact.ended', 'end',
                e.etype = 'ticket.replied', 'reply', e.etype = 'ticket.solved', 'solve', 'survey') AS kind,
        -- offers and IVR ends keep their own scope; abandons belong to no agent or team, whoever touched the contact before
        if(kind IN ('offer', 'ivr'), e.q, ${filled('e.q', 'p.queues')}) AS queue,
        if(kind IN ('offer', 'ivr'), e.ch, ${filled('e.ch', 'p.channels')}) AS channel,
        if(kind IN ('abandon', 'offer', 'ivr'), e.agent_id, ${filled('e.agent_id', 'p.agents')}) AS agent,
        if(kind IN ('abandon', 'offer', 'ivr'), e.tm,
           if(agent != '', ${filled('e.tm', 'p.teams', 3, 'x.2 = agent')}, ${filled('e.tm', 'p.teams', 3)})) AS team,
        arrayFilter(o -> o <= e.t, p.offers) AS earlier_offers,
        if(kind IN ('answer', 'abandon') AND notEmpty(earlier_offers), e.t - arrayMax(earlier_offers), NULL) AS wait_ms,
        if(kind = 'end', toInt64(ifNull(e.talk_ms, 0)) + ifNull(e.hold_ms, 0) + ifNull(e.acw_ms, 0), NULL) AS handle_ms,
        if(kind = 'reply' AND p.n_created > 0 AND p.created_t <= e.t, e.t - p.created_t, NULL) AS frt_ms,
        toUInt8(kind = 'reply' AND (e.t, e.src, e.id) = p.first_reply) AS is_first_reply,
        toUInt8(kind IN ('end', 'solve') AND (e.t, e.src, e.id) = p.first_resolution) AS is_resolution,
        toUInt8(is_resolution = 1 AND p.n_repeat = 0 AND pr.n = 0) AS fcr,
        if(kind = 'survey', e.survey_metric, '') AS survey_metric,
        if(kind = 'survey', e.score, NULL) AS score,
        toUInt8(kind = 'ivr' AND e.ivr_outcome = 'contained') AS contained
    FROM ev AS e
    INNER JOIN per_contact AS p ON p.contact_id = e.contact_id
    LEFT JOIN prior AS pr ON pr.contact_id = e.contact_id
    WHERE e.etype IN ('contact.offered', 'ivr.ended', 'contact.answered', 'contact.abandoned', 'contact.ended', 'ticket.solved',
                      'survey.response')
       OR (e.etype = 'ticket.replied' AND e.is_public)
)
SETTINGS join_use_nulls = 0`;
}

export interface MaterializeResult {
  /** Events fanned out up to this block number (the new watermark). */
  upTo: number;
  /** Events taken by this pass. */
  events: number;
  /** Measure rows written. */
  written: number;
  elapsedMs: number;
}

/** The fan-out watermark: the highest block number of `events` already fanned out (0 before the first pass). */
export async function readWatermark(ch: ClickHouseClient): Promise<number> {
  const rs = await ch.query({
    query: `SELECT argMax(position, updated_at) AS w FROM kpi_progress WHERE name = 'fanout'`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ w: string | number }>();
  return Number(row?.w ?? 0);
}

export async function writeWatermark(ch: ClickHouseClient, position: number): Promise<void> {
  await ch.command({
    query: `INSERT INTO kpi_progress (name, up_to, updated_at, position)
            SELECT 'fanout', now64(3, 'UTC'), now64(3, 'UTC'), {p:UInt64}`,
    query_params: { p: position },
  });
}

/** The end of the next pass after `from`: the highest committed block within MAX_PASS_ROWS events (at least one block). */
export async function nextRange(ch: ClickHouseClient, from: number, maxRows = MAX_PASS_ROWS): Promise<{ to: number; events: number }> {
  const rs = await ch.query({
    query: `SELECT max(b) AS to, max(total) AS events
            FROM
            (
                SELECT b, n, sum(n) OVER (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS total
                FROM (SELECT _block_number AS b, count() AS n FROM events WHERE ${newEvents(true)} GROUP BY b)
            )
            WHERE total - n < {max:UInt64}`,
    query_params: { lo: from, max: maxRows },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ to: string | number; events: string | number }>();
  const to = Number(row?.to ?? 0);
  return to > from ? { to, events: Number(row!.events) } : { to: from, events: 0 };
}

async function fanOut(ch: ClickHouseClient, lo: number, hi: number): Promise<void> {
  await ch.command({ query: `INSERT INTO events_fanout SELECT * FROM events WHERE ${newEvents()}`, query_params: { lo, hi } });
}

async function materialize(ch: ClickHouseClient, mode: 'range' | 'all', lo: number, hi: number, lookbackDays: number): Promise<number> {
  const result = await ch.command({
    query: materializeSql(mode),
    query_params: { lo, hi, lookback: lookbackDays * DAY_MS, version: Date.now() },
  });
  const written = (result.summary as { written_rows?: string } | undefined)?.written_rows;
  return written === undefined ? 0 : Number(written);
}

/**
 * One pass over the events committed after `from` (default: the stored watermark): fan-out, measures, watermark.
 * Returns at once, having done nothing, when nothing was committed since.
 */
export async function materializeMeasures(ch: ClickHouseClient, opts: { lookbackDays: number; from?: number }): Promise<MaterializeResult> {
  const started = performance.now();
  const lo = opts.from ?? (await readWatermark(ch));
  const { to: hi, events } = await nextRange(ch, lo);
  if (events === 0) return { upTo: lo, events: 0, written: 0, elapsedMs: performance.now() - started };
  await fanOut(ch, lo, hi);
  const written = await materialize(ch, 'range', lo, hi, opts.lookbackDays);
  await writeWatermark(ch, hi);
  return { upTo: hi, events, written, elapsedMs: performance.now() - started };
}

/** Passes until every committed event is taken (tests, start-up after a long pause, the benchmark's bulk loads). */
export async function catchUp(ch: ClickHouseClient, opts: { lookbackDays: number }): Promise<MaterializeResult> {
  const started = performance.now();
  let total = { upTo: await readWatermark(ch), events: 0, written: 0 };
  for (;;) {
    const r = await materializeMeasures(ch, { ...opts, from: total.upTo });
    if (r.events === 0) break;
    total = { upTo: r.upTo, events: total.events + r.events, written: total.written + r.written };
  }
  return { ...total, elapsedMs: performance.now() - started };
}

/** Recomputes every contact's measures (after a restore, a change of the look-back…), after fanning out what is pending. */
export async function rebuildMeasures(ch: ClickHouseClient, opts: { lookbackDays: number }): Promise<MaterializeResult> {
  const started = performance.now();
  const caught = await catchUp(ch, opts);
  const written = await materialize(ch, 'all', 0, 0, opts.lookbackDays);
  return { upTo: caught.upTo, events: caught.events, written, elapsedMs: performance.now() - started };
}
