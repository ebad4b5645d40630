// The worker step that materialises paired measures (waits, first replies, resolutions and FCR) into kpi_measures.
// Why a worker step and not a materialized view: see the header of sql/004_kpi_rollups.sql.
//
// Each pass takes the contacts touched since the last pass (kpi_touch, by insert time), adds the other contacts of
// the touched customers that began within the FCR look-back after the touch (their FCR may change), recomputes every
// completion of those contacts from their whole event history, and writes one row per completing event. Rows are
// keyed by the completing event, so a re-computation replaces the previous row: passes are idempotent, may overlap,
// and may be repeated after a crash.
import type { ClickHouseClient } from '@clickhouse/client';

const DAY_MS = 86_400_000;

/** Passes re-read this much before the watermark: an insert stamped just before a pass may commit just after it. */
export const OVERLAP_MS = 10_000;

/** The contacts to recompute: `touched` (since the watermark) or `all` (a rebuild). */
function idsCte(mode: 'touched' | 'all'): string {
  if (mode === 'all') return `ids AS (SELECT DISTINCT contact_id FROM kpi_contact_events)`;
  return `touches AS (
    SELECT contact_id, customer_id, occurred_at
    FROM kpi_touch
    WHERE touched_at > fromUnixTimestamp64Milli({lo:Int64}, 'UTC') AND touched_at <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
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
export function materializeSql(mode: 'touched' | 'all'): string {
  return `INSERT INTO kpi_measures (at, contact_id, source, event_id, kind, queue, team, channel, agent_id, wait_ms, handle_ms,
    frt_ms, is_first_reply, is_resolution, fcr, metric, score, version)
WITH
${idsCte(mode)},
ev AS (
    SELECT contact_id, occurred_at, toUnixTimestamp64Milli(occurred_at) AS t, CAST(source AS String) AS src, id,
        CAST(type AS String) AS etype, CAST(queue AS String) AS q, CAST(team AS String) AS tm, CAST(channel AS String) AS ch,
        agent_id, customer_id, talk_ms, hold_ms, acw_ms, ifNull(resolved, false) AS is_resolved,
        ifNull(public, false) AS is_public, CAST(metric AS String) AS survey_metric, score
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
    is_resolution, fcr, survey_metric, score, {version:UInt64}
FROM
(
    SELECT
        e.occurred_at AS at, e.contact_id AS contact_id, e.src AS src, e.id AS event_id,
        multiIf(e.etype = 'contact.answered', 'answer', e.etype = 'contact.abandoned', 'abandon', e.etype = 'contact.ended', 'end',
                e.etype = 'ticket.replied', 'reply', e.etype = 'ticket.solved', 'solve', 'survey') AS kind,
        ${filled('e.q', 'p.queues')} AS queue,
        ${filled('e.ch', 'p.channels')} AS channel,
        -- abandons belong to no agent or team, whoever touched the contact before
        if(kind = 'abandon', e.agent_id, ${filled('e.agent_id', 'p.agents')}) AS agent,
        if(kind = 'abandon', e.tm,
           if(agent != '', ${filled('e.tm', 'p.teams', 3, 'x.2 = agent')}, ${filled('e.tm', 'p.teams', 3)})) AS team,
        arrayFilter(o -> o <= e.t, p.offers) AS earlier_offers,
        if(kind IN ('answer', 'abandon') AND notEmpty(earlier_offers), e.t - arrayMax(earlier_offers), NULL) AS wait_ms,
        if(kind = 'end', toInt64(ifNull(e.talk_ms, 0)) + ifNull(e.hold_ms, 0) + ifNull(e.acw_ms, 0), NULL) AS handle_ms,
        if(kind = 'reply' AND p.n_created > 0 AND p.created_t <= e.t, e.t - p.created_t, NULL) AS frt_ms,
        toUInt8(kind = 'reply' AND (e.t, e.src, e.id) = p.first_reply) AS is_first_reply,
        toUInt8(kind IN ('end', 'solve') AND (e.t, e.src, e.id) = p.first_resolution) AS is_resolution,
        toUInt8(is_resolution = 1 AND p.n_repeat = 0 AND pr.n = 0) AS fcr,
        if(kind = 'survey', e.survey_metric, '') AS survey_metric,
        if(kind = 'survey', e.score, NULL) AS score
    FROM ev AS e
    INNER JOIN per_contact AS p ON p.contact_id = e.contact_id
    LEFT JOIN prior AS pr ON pr.contact_id = e.contact_id
    WHERE e.etype IN ('contact.answered', 'contact.abandoned', 'contact.ended', 'ticket.solved', 'survey.response')
       OR (e.etype = 'ticket.replied' AND e.is_public)
)
SETTINGS join_use_nulls = 0`;
}

export interface MaterializeResult {
  /** Touches read up to this insert time (epoch ms, server clock). */
  upTo: number;
  /** Measure rows written in this pass. */
  written: number;
  elapsedMs: number;
}

async function serverNowMs(ch: ClickHouseClient): Promise<number> {
  const rs = await ch.query({ query: 'SELECT toUnixTimestamp64Milli(now64(3)) AS t', format: 'JSONEachRow' });
  const [row] = await rs.json<{ t: string | number }>();
  return Number(row!.t);
}

export async function readWatermark(ch: ClickHouseClient): Promise<number | null> {
  const rs = await ch.query({
    query: `SELECT toUnixTimestamp64Milli(argMax(up_to, updated_at)) AS t, count() AS n FROM kpi_progress WHERE name = 'measures'`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ t: string | number; n: string | number }>();
  return Number(row!.n) > 0 ? Number(row!.t) : null;
}

async function writeWatermark(ch: ClickHouseClient, upTo: number): Promise<void> {
  await ch.command({
    query: `INSERT INTO kpi_progress (name, up_to, updated_at)
            SELECT 'measures', fromUnixTimestamp64Milli({t:Int64}, 'UTC'), now64(3, 'UTC')`,
    query_params: { t: upTo },
  });
}

async function run(ch: ClickHouseClient, mode: 'touched' | 'all', lo: number, hi: number, lookbackDays: number): Promise<number> {
  const result = await ch.command({
    query: materializeSql(mode),
    query_params: { lo, hi, lookback: lookbackDays * DAY_MS, version: Date.now() },
  });
  const written = (result.summary as { written_rows?: string } | undefined)?.written_rows;
  return written === undefined ? 0 : Number(written);
}

/** One pass: the contacts touched since the watermark (minus the overlap), then the watermark moves on. */
export async function materializeMeasures(ch: ClickHouseClient, opts: { lookbackDays: number }): Promise<MaterializeResult> {
  const started = performance.now();
  const hi = await serverNowMs(ch);
  const mark = await readWatermark(ch);
  const lo = mark === null ? 0 : Math.min(mark, hi) - OVERLAP_MS;
  const written = await run(ch, 'touched', lo, hi, opts.lookbackDays);
  await writeWatermark(ch, hi);
  return { upTo: hi, written, elapsedMs: performance.now() - started };
}

/** Recomputes every contact's measures from kpi_contact_events (after a restore, a settings change of the look-back…). */
export async function rebuildMeasures(ch: ClickHouseClient, opts: { lookbackDays: number }): Promise<MaterializeResult> {
  const started = performance.now();
  const hi = await serverNowMs(ch);
  const written = await run(ch, 'all', 0, hi, opts.lookbackDays);
  await writeWatermark(ch, hi);
  return { upTo: hi, written, elapsedMs: performance.now() - started };
}
