-- 004: KPI rollups (issue 5; definitions in docs/kpis.md and server/kpi/catalog.ts).
--
-- Design. Two kinds of measures:
--
--  1. Measures one event carries by itself (offered, answered, AHT, surveys, IVR containment) are rolled up by a
--     materialized view on `events` into `kpi_minute`: an AggregatingMergeTree of per-minute buckets per
--     (queue, team, channel, agent), `-State` columns only. A window reads its minutes, so its cost depends on the
--     window, never on the history. A late event lands in the bucket of its own minute.
--
--  2. Measures that pair events arriving in different inserts (waits: answer/abandon − offer; FRT: first public reply −
--     created; FCR: transfers, reopens and the customer's earlier interactions) cannot be computed by a view that sees
--     one insert block: the other half may be in another insert, may arrive later, or may arrive concurrently. So:
--       * materialized views keep time-ordered copies of what the pairing needs, indexed for point look-ups:
--         `kpi_contact_events` (by contact), `kpi_customer_events` (by customer), and `kpi_touch` (by insert time:
--         which contacts and customers received an event),
--       * the KPI worker (server/kpi/materialize.ts) takes the contacts touched since its last pass (plus, for FCR,
--         the customers' other contacts in the look-back), recomputes every completion of those contacts from their
--         full event history, and writes one row per completing event into `kpi_measures`, a ReplacingMergeTree
--         keyed by the event itself (its time, contact, source and id): a re-computation replaces the row, so a late
--         offer, a late earlier reply or a reopen hours later corrects the figures of the window the completion
--         belongs to, and nothing counts twice,
--       * `kpi_measures` is ordered by completion time, so a window reads only the completions that fall in it.
--     The work per pass is proportional to what arrived since the last pass; the work per window to the window.
--     Everything here is derived from `events` and can be rebuilt from it (server/kpi/materialize.ts `rebuild`).
--
--  3. Live figures: agent states come from `kpi_agent_state` (latest state per agent, an AggregatingMergeTree with
--     argMax states); waiting contacts are read from `events` itself over the last WAITING_LOOKBACK_HOURS (its
--     primary key starts with (type, day), so that read is bounded by the look-back, not the history).
--
-- Thresholds (service-level T and target, short-abandon threshold) live in `kpi_queue_settings`: the row of the
-- queue, else the `*` row (the defaults, which the worker writes from its configuration at start). They are applied
-- when a figure is computed (view `kpi_measures_v`), not when a measure is stored, so changing a threshold applies to
-- history too and API and analysts always agree.
-- Every table is partitioned by month; the KPI worker's retention job drops partitions older than RETENTION_DAYS.

CREATE TABLE IF NOT EXISTS kpi_queue_settings
(
    queue            LowCardinality(String) COMMENT 'queue name; ''*'' holds the defaults for queues without a row',
    sl_threshold_ms  UInt32  COMMENT 'service level: answered within this wait (T, default 20 s)',
    sl_target_pct    Float64 COMMENT 'service-level target in percent (default 80), used by Erlang C',
    short_abandon_ms UInt32  COMMENT 'abandons with a shorter wait are short abandons (default 5 s)',
    updated_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY queue
COMMENT 'Per-queue KPI settings; the latest row per queue wins';

INSERT INTO kpi_queue_settings (queue, sl_threshold_ms, sl_target_pct, short_abandon_ms, updated_at)
VALUES ('*', 20000, 80, 5000, '1970-01-01 00:00:00.000');

-- 1. Per-minute buckets of the measures a single event carries.
CREATE TABLE IF NOT EXISTS kpi_minute
(
    minute          DateTime('UTC'),
    queue           LowCardinality(String),
    team            LowCardinality(String),
    channel         LowCardinality(String),
    agent_id        String,
    offered         AggregateFunction(sum, UInt64) COMMENT 'contact.offered events',
    answered        AggregateFunction(sum, UInt64) COMMENT 'contact.answered events',
    abandons        AggregateFunction(sum, UInt64) COMMENT 'contact.abandoned events, short ones included (a cross-check of kpi_measures)',
    ended           AggregateFunction(sum, UInt64) COMMENT 'contact.ended events (AHT sample)',
    handle_ms       AggregateFunction(sum, UInt64) COMMENT 'sum of talk_ms + hold_ms + acw_ms of contact.ended',
    csat_n          AggregateFunction(sum, UInt64),
    csat_top2       AggregateFunction(sum, UInt64) COMMENT 'CSAT responses scoring 4 or 5',
    ces_n           AggregateFunction(sum, UInt64),
    ces_points      AggregateFunction(sum, UInt64) COMMENT 'sum of (score − 1) over CES responses',
    nps_n           AggregateFunction(sum, UInt64),
    nps_promoters   AggregateFunction(sum, UInt64) COMMENT 'NPS responses scoring 9–10',
    nps_detractors  AggregateFunction(sum, UInt64) COMMENT 'NPS responses scoring 0–6',
    fcrs_n          AggregateFunction(sum, UInt64) COMMENT 'FCR survey responses',
    fcrs_yes        AggregateFunction(sum, UInt64) COMMENT 'FCR survey responses with score 1',
    ivr_n           AggregateFunction(sum, UInt64) COMMENT 'ivr.ended events',
    ivr_contained   AggregateFunction(sum, UInt64) COMMENT 'ivr.ended events with outcome contained'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, queue, team, channel, agent_id)
COMMENT 'Per-minute KPI buckets per queue/team/channel/agent, fed by kpi_minute_mv; read with sumMerge';

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_minute_mv TO kpi_minute AS
SELECT
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    queue,
    team,
    channel,
    agent_id,
    sumState(toUInt64(type = 'contact.offered')) AS offered,
    sumState(toUInt64(type = 'contact.answered')) AS answered,
    sumState(toUInt64(type = 'contact.abandoned')) AS abandons,
    sumState(toUInt64(type = 'contact.ended')) AS ended,
    sumState(toUInt64(if(type = 'contact.ended', ifNull(talk_ms, 0) + ifNull(hold_ms, 0) + ifNull(acw_ms, 0), 0))) AS handle_ms,
    sumState(toUInt64(type = 'survey.response' AND metric = 'csat' AND score IS NOT NULL)) AS csat_n,
    sumState(toUInt64(type = 'survey.response' AND metric = 'csat' AND ifNull(score, 0) >= 4)) AS csat_top2,
    sumState(toUInt64(type = 'survey.response' AND metric = 'ces' AND score IS NOT NULL)) AS ces_n,
    sumState(toUInt64(if(type = 'survey.response' AND metric = 'ces' AND ifNull(score, 0) >= 1, ifNull(score, 1) - 1, 0))) AS ces_points,
    sumState(toUInt64(type = 'survey.response' AND metric = 'nps' AND score IS NOT NULL)) AS nps_n,
    sumState(toUInt64(type = 'survey.response' AND metric = 'nps' AND ifNull(score, 0) >= 9)) AS nps_promoters,
    sumState(toUInt64(type = 'survey.response' AND metric = 'nps' AND ifNull(score, 99) <= 6)) AS nps_detractors,
    sumState(toUInt64(type = 'survey.response' AND metric = 'fcr' AND score IS NOT NULL)) AS fcrs_n,
    sumState(toUInt64(type = 'survey.response' AND metric = 'fcr' AND ifNull(score, 0) = 1)) AS fcrs_yes,
    sumState(toUInt64(type = 'ivr.ended')) AS ivr_n,
    sumState(toUInt64(type = 'ivr.ended' AND outcome = 'contained')) AS ivr_contained
FROM events
WHERE type IN ('contact.offered', 'contact.answered', 'contact.abandoned', 'contact.ended', 'survey.response', 'ivr.ended')
GROUP BY minute, queue, team, channel, agent_id;

-- 2. What pairing needs, indexed for look-ups by contact and by customer, and the log of what was touched when.
CREATE TABLE IF NOT EXISTS kpi_contact_events
(
    contact_id  String,
    occurred_at DateTime64(3, 'UTC'),
    source      LowCardinality(String),
    id          String,
    type        LowCardinality(String),
    queue       LowCardinality(String),
    team        LowCardinality(String),
    channel     LowCardinality(String),
    agent_id    String,
    customer_id String,
    resolved    Nullable(Bool),
    public      Nullable(Bool)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (contact_id, occurred_at, source, id)
COMMENT 'Contact and ticket events by contact, for pairing (waits, FRT, FCR); fed by kpi_contact_events_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_contact_events_mv TO kpi_contact_events AS
SELECT contact_id, occurred_at, source, id, type, queue, team, channel, agent_id, customer_id, resolved, public
FROM events
WHERE contact_id != '' AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.'));

CREATE TABLE IF NOT EXISTS kpi_customer_events
(
    customer_id String,
    occurred_at DateTime64(3, 'UTC'),
    contact_id  String,
    source      LowCardinality(String),
    id          String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, contact_id, source, id)
COMMENT 'Interactions (contact.offered, ticket.created) by customer, for FCR; fed by kpi_customer_events_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_customer_events_mv TO kpi_customer_events AS
SELECT customer_id, occurred_at, contact_id, source, id
FROM events
WHERE customer_id != '' AND contact_id != '' AND type IN ('contact.offered', 'ticket.created');

CREATE TABLE IF NOT EXISTS kpi_touch
(
    touched_at  DateTime64(3, 'UTC') COMMENT 'when the event was inserted (server clock)',
    contact_id  String,
    customer_id String,
    occurred_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(touched_at)
ORDER BY touched_at
TTL toDateTime(touched_at) + INTERVAL 30 DAY
COMMENT 'Which contacts/customers received events, by insert time: the KPI worker''s to-do list';

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_touch_mv TO kpi_touch AS
SELECT now64(3, 'UTC') AS touched_at, contact_id, customer_id, occurred_at
FROM events
WHERE contact_id != '' AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.'));

-- One row per completing event: contact.answered ('answer'), contact.abandoned ('abandon'), public ticket.replied
-- ('reply'), contact.ended with resolved = true and ticket.solved ('resolve'). Written only by the KPI worker.
CREATE TABLE IF NOT EXISTS kpi_measures
(
    at         DateTime64(3, 'UTC') COMMENT 'time of the completing event: the window it belongs to',
    contact_id String,
    source     LowCardinality(String),
    event_id   String,
    kind       LowCardinality(String) COMMENT 'answer | abandon | reply | resolve',
    queue      LowCardinality(String) COMMENT 'scope fields: those of the completing event',
    team       LowCardinality(String),
    channel    LowCardinality(String),
    agent_id   String,
    wait_ms    Nullable(Int64) COMMENT 'answer/abandon: time − the contact''s latest offer at or before it; NULL: no offer known',
    frt_ms     Nullable(Int64) COMMENT 'reply: time − ticket.created; NULL when creation is unknown or later',
    is_first   UInt8 COMMENT 'reply: the ticket''s first public reply; resolve: the contact''s first resolution',
    fcr        UInt8 COMMENT 'resolve: no transfer, no reopen, no other interaction of the customer in the look-back',
    version    UInt64 COMMENT 'when the worker computed the row (ms); the latest wins'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(at)
ORDER BY (at, contact_id, source, event_id)
COMMENT 'Completed measures that pair events, materialised by the KPI worker; read with FINAL (or via kpi_measures_v)';

-- The measures with the thresholds of their queue applied: what both the API and the analyst views count.
CREATE VIEW IF NOT EXISTS kpi_measures_v AS
SELECT
    m.at AS at, m.contact_id AS contact_id, m.source AS source, m.event_id AS event_id, CAST(m.kind AS String) AS kind,
    m.queue AS queue, m.team AS team, m.channel AS channel, m.agent_id AS agent_id, m.wait_ms AS wait_ms,
    m.frt_ms AS frt_ms, m.is_first AS is_first, m.fcr AS fcr,
    if(s.queue = m.queue AND s.queue != '', s.sl_threshold_ms, d.sl_threshold_ms) AS sl_threshold_ms,
    if(s.queue = m.queue AND s.queue != '', s.short_abandon_ms, d.short_abandon_ms) AS short_abandon_ms,
    toUInt8(kind = 'answer') AS is_answer,
    toUInt8(kind = 'answer' AND ifNull(m.wait_ms <= sl_threshold_ms, 0)) AS is_answer_in_sl,
    toUInt8(kind = 'answer' AND m.wait_ms IS NOT NULL) AS has_wait,
    toUInt8(kind = 'abandon' AND ifNull(m.wait_ms >= short_abandon_ms, 1)) AS is_abandoned,
    toUInt8(kind = 'abandon' AND ifNull(m.wait_ms < short_abandon_ms, 0)) AS is_short_abandoned,
    toUInt8(kind = 'reply' AND m.is_first = 1 AND m.frt_ms IS NOT NULL) AS is_first_reply,
    toUInt8(kind = 'resolve' AND m.is_first = 1) AS is_resolution
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

-- 3. Live: the latest state of every agent (ties broken by source and id so the result is deterministic).
CREATE TABLE IF NOT EXISTS kpi_agent_state
(
    agent_id String,
    last_at  AggregateFunction(max, DateTime64(3, 'UTC')),
    state    AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String, String)),
    queue    AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String, String)),
    team     AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String, String)),
    channel  AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String, String))
)
ENGINE = AggregatingMergeTree
ORDER BY agent_id
COMMENT 'Latest agent.state per agent (and the queue/team/channel that event named); fed by kpi_agent_state_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_agent_state_mv TO kpi_agent_state AS
SELECT
    agent_id,
    maxState(occurred_at) AS last_at,
    argMaxState(toString(state), (occurred_at, toString(source), id)) AS state,
    argMaxState(toString(queue), (occurred_at, toString(source), id)) AS queue,
    argMaxState(toString(team), (occurred_at, toString(source), id)) AS team,
    argMaxState(toString(channel), (occurred_at, toString(source), id)) AS channel
FROM events
WHERE type = 'agent.state' AND agent_id != ''
GROUP BY agent_id;

-- The KPI worker's progress through kpi_touch.
CREATE TABLE IF NOT EXISTS kpi_progress
(
    name       String,
    up_to      DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY name
COMMENT 'Watermarks of the KPI worker (materialised up to this touched_at)';
