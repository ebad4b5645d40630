-- 008: the write path stores `events` only; the KPI worker fans new events out to the rollups.
--
-- Why. Until 007, six materialized views hung on `events`, so every ingest insert wrote seven parts (measured on a
-- 2-core machine: ~42 ms per small insert, against ~12 ms for `events` alone). Ingest acknowledges a request only
-- once its insert is confirmed, so that cost was every integrator's latency. Now an insert writes `events` only, and
-- the KPI worker copies what is new into the derived tables, in its own passes:
--
--   events ──(worker: INSERT INTO events_fanout SELECT … WHERE _block_number in (W, W'])──▶ events_fanout (Null)
--                  events_fanout ──MV──▶ event_ids, kpi_contact_events, kpi_customer_events, kpi_agent_state
--
-- What is new is known exactly: `_block_number` (enable_block_number_column) is the number of the insert block that
-- wrote a row, assigned when the block commits, in commit order, and kept through merges. The worker's watermark W
-- (kpi_progress, name 'fanout', column `position`) is the highest block number already fanned out; a pass takes
-- (W, W'], W' being the highest committed block it saw. An insert committing during a pass gets a number above W' and
-- is taken by the next pass. Every target of the fan-out is idempotent (ReplacingMergeTree, or argMax/max states), so
-- a pass repeated after a crash (fan-out done, watermark not yet written) changes nothing.
--
-- Offers and IVR ends were counted by a view into `kpi_minute` (sums, not idempotent). They are now measure rows in
-- `kpi_measures` (kinds `offer` and `ivr`), written by the same worker step as the other measures, and `kpi_minute`
-- is gone: every windowed figure now comes from one table.
--
-- Existing installations: the fan-out watermark starts at 0, so the worker's first pass fans every stored event out
-- again (harmless: idempotent targets) and materialises every contact, which adds the offer and IVR rows.

ALTER TABLE events MODIFY SETTING enable_block_number_column = 1;

DROP VIEW IF EXISTS event_ids_mv;
DROP VIEW IF EXISTS kpi_minute_mv;
DROP VIEW IF EXISTS kpi_contact_events_mv;
DROP VIEW IF EXISTS kpi_customer_events_mv;
DROP VIEW IF EXISTS kpi_touch_mv;
DROP VIEW IF EXISTS kpi_agent_state_mv;
DROP TABLE IF EXISTS kpi_touch;

ALTER TABLE kpi_progress ADD COLUMN IF NOT EXISTS position UInt64 DEFAULT 0 COMMENT 'fanout: the highest _block_number of events already fanned out';

-- IVR ends are contact events now (for the `ivr` measures), with their outcome.
ALTER TABLE kpi_contact_events ADD COLUMN IF NOT EXISTS outcome LowCardinality(String) AFTER score;

-- What the worker inserts to fan events out: nothing is stored here; the views below take the rows.
CREATE TABLE IF NOT EXISTS events_fanout AS events ENGINE = Null
COMMENT 'Fan-out point of the KPI worker: rows inserted here feed the views below and are not stored';

CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
SELECT source, id, occurred_at FROM events_fanout;

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_contact_events_mv TO kpi_contact_events AS
SELECT contact_id, occurred_at, source, id, type, queue, team, channel, agent_id, customer_id, talk_ms, hold_ms, acw_ms,
       resolved, public, metric, score, outcome
FROM events_fanout
WHERE contact_id != ''
  AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.') OR type IN ('survey.response', 'ivr.ended'));

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_customer_events_mv TO kpi_customer_events AS
SELECT customer_id, occurred_at, contact_id, source, id
FROM events_fanout
WHERE customer_id != '' AND contact_id != '' AND type IN ('contact.offered', 'ticket.created');

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_agent_state_mv TO kpi_agent_state AS
SELECT
    agent_id,
    maxState(occurred_at) AS last_at,
    argMaxState(toString(state), (occurred_at, toString(source), id)) AS state,
    argMaxState(toString(queue), (occurred_at, toString(source), id)) AS queue,
    argMaxState(toString(team), (occurred_at, toString(source), id)) AS team,
    argMaxState(toString(channel), (occurred_at, toString(source), id)) AS channel
FROM events_fanout
WHERE type = 'agent.state' AND agent_id != ''
GROUP BY agent_id;

-- Measures gain two kinds:
--   offer   contact.offered   counted in `offered`
--   ivr     ivr.ended         counted in IVR containment; contained = 1 when the outcome was `contained`
-- Both keep the event's own queue/team/channel/agent (as kpi_minute did): an offer is not the answering agent's.
ALTER TABLE kpi_measures ADD COLUMN IF NOT EXISTS contained UInt8 DEFAULT 0 COMMENT 'ivr: the outcome was contained' AFTER score;

CREATE OR REPLACE VIEW kpi_measures_v AS
SELECT
    m.at AS at, m.contact_id AS contact_id, m.source AS source, m.event_id AS event_id, CAST(m.kind AS String) AS kind,
    m.queue AS queue, m.team AS team, m.channel AS channel, m.agent_id AS agent_id, m.wait_ms AS wait_ms,
    m.handle_ms AS handle_ms, m.frt_ms AS frt_ms, m.fcr AS fcr, CAST(m.metric AS String) AS metric, m.score AS score,
    if(s.queue = m.queue AND s.queue != '', s.sl_threshold_ms, d.sl_threshold_ms) AS sl_threshold_ms,
    if(s.queue = m.queue AND s.queue != '', s.short_abandon_ms, d.short_abandon_ms) AS short_abandon_ms,
    toUInt8(kind = 'offer') AS is_offer,
    toUInt8(kind = 'ivr') AS is_ivr,
    toUInt8(kind = 'ivr' AND m.contained = 1) AS is_ivr_contained,
    toUInt8(kind = 'answer') AS is_answer,
    toUInt8(kind = 'answer' AND ifNull(m.wait_ms <= sl_threshold_ms, 0)) AS is_answer_in_sl,
    toUInt8(kind = 'answer' AND m.wait_ms IS NOT NULL) AS has_wait,
    toUInt8(kind = 'abandon' AND ifNull(m.wait_ms >= short_abandon_ms, 1)) AS is_abandoned,
    toUInt8(kind = 'abandon' AND ifNull(m.wait_ms < short_abandon_ms, 0)) AS is_short_abandoned,
    toUInt8(kind = 'end') AS is_end,
    toUInt8(kind = 'reply' AND m.is_first_reply = 1 AND m.frt_ms IS NOT NULL) AS is_first_reply,
    toUInt8(m.is_resolution = 1) AS is_resolution,
    toUInt8(kind = 'survey' AND metric = 'csat' AND m.score IS NOT NULL) AS is_csat,
    toUInt8(kind = 'survey' AND metric = 'csat' AND ifNull(m.score >= 4, 0)) AS is_csat_top2,
    toUInt8(kind = 'survey' AND metric = 'ces' AND m.score IS NOT NULL) AS is_ces,
    toUInt64(if(kind = 'survey' AND metric = 'ces' AND ifNull(m.score >= 1, 0), assumeNotNull(m.score) - 1, 0)) AS ces_points,
    toUInt8(kind = 'survey' AND metric = 'nps' AND m.score IS NOT NULL) AS is_nps,
    toUInt8(kind = 'survey' AND metric = 'nps' AND ifNull(m.score >= 9, 0)) AS is_nps_promoter,
    toUInt8(kind = 'survey' AND metric = 'nps' AND ifNull(m.score <= 6, 0)) AS is_nps_detractor,
    toUInt8(kind = 'survey' AND metric = 'fcr' AND m.score IS NOT NULL) AS is_fcr_survey,
    toUInt8(kind = 'survey' AND metric = 'fcr' AND ifNull(m.score = 1, 0)) AS is_fcr_survey_yes
FROM kpi_measures AS m FINAL
LEFT JOIN
(
    SELECT queue, argMax(sl_threshold_ms, updated_at) AS sl_threshold_ms, argMax(short_abandon_ms, updated_at) AS short_abandon_ms
    FROM kpi_queue_settings
    WHERE queue != '*'
    GROUP BY queue
) AS s ON s.queue = m.queue
CROSS JOIN
(
    SELECT argMax(sl_threshold_ms, updated_at) AS sl_threshold_ms, argMax(short_abandon_ms, updated_at) AS short_abandon_ms
    FROM kpi_queue_settings
    WHERE queue = '*'
) AS d;

-- The analyst views' minute facts now come from kpi_measures alone (kpi_period, kpi_interval_15m and kpi_daily read
-- them through kpi_scope_minute and are unchanged).
CREATE OR REPLACE VIEW kpi_facts_minute AS
SELECT
    toStartOfMinute(toDateTime(at, 'UTC')) AS minute, CAST(queue AS String) AS queue, CAST(team AS String) AS team,
    CAST(channel AS String) AS channel, agent_id,
    toUInt64(sum(is_offer)) AS offered,
    toUInt64(sum(is_ivr)) AS ivr_n,
    toUInt64(sum(is_ivr_contained)) AS ivr_contained,
    toUInt64(sum(is_answer)) AS answered,
    toUInt64(sum(is_end)) AS ended,
    toInt64(ifNull(sumIf(handle_ms, is_end = 1), 0)) AS handle_ms,
    toUInt64(sum(is_csat)) AS csat_n,
    toUInt64(sum(is_csat_top2)) AS csat_top2,
    toUInt64(sum(is_ces)) AS ces_n,
    toUInt64(sum(ces_points)) AS ces_points,
    toUInt64(sum(is_nps)) AS nps_n,
    toUInt64(sum(is_nps_promoter)) AS nps_promoters,
    toUInt64(sum(is_nps_detractor)) AS nps_detractors,
    toUInt64(sum(is_fcr_survey)) AS fcrs_n,
    toUInt64(sum(is_fcr_survey_yes)) AS fcrs_yes,
    toUInt64(sum(is_abandoned)) AS abandoned,
    toUInt64(sum(is_short_abandoned)) AS short_abandoned,
    toUInt64(sum(is_answer_in_sl)) AS answers_in_sl,
    toUInt64(sum(has_wait)) AS wait_n,
    toInt64(ifNull(sumIf(wait_ms, has_wait = 1), 0)) AS wait_ms_sum,
    toUInt64(sum(is_first_reply)) AS frt_n,
    toInt64(ifNull(sumIf(frt_ms, is_first_reply = 1), 0)) AS frt_ms_sum,
    toUInt64(sum(is_resolution)) AS resolutions,
    toUInt64(sumIf(fcr, is_resolution = 1)) AS fcr_yes,
    CAST(groupArrayIf(assumeNotNull(frt_ms), is_first_reply = 1), 'Array(Int64)') AS frt_list
FROM kpi_measures_v
GROUP BY minute, queue, team, channel, agent_id;

DROP TABLE IF EXISTS kpi_minute;
