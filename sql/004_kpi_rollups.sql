-- 004: KPI rollups (issue 5; definitions in docs/kpis.md and server/kpi/catalog.ts).
--
-- Design. Two kinds of measures:
--
--  1. Measures that need nothing but their own event (offered, IVR containment) are rolled up by a materialized view
--     on `events` into `kpi_minute`: an AggregatingMergeTree of per-minute buckets per (queue, team, channel,
--     agent), `-State` columns only. A window reads its minutes, so its cost depends on the window, never on the
--     history. A late event lands in the bucket of its own minute.
--
--  2. Measures that belong to a contact need other events of that contact, which arrive in other inserts, later, or
--     concurrently: waits (answer/abandon − offer), FRT (first public reply − created), FCR (transfers, reopens, the
--     customer's earlier interactions), and the scope of answers, ends, solves and surveys (senders name the queue,
--     team or channel once, e.g. on the offer, not on every event: an event's empty queue/team/channel/agent is taken
--     from the contact's latest earlier event that has one). A view that sees one insert block cannot pair them, and
--     a view that looks the other half up races with concurrent inserts. So:
--       * materialized views keep copies of what the pairing needs, indexed for point look-ups:
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
-- Tables are partitioned by month; the KPI worker's retention job drops partitions older than RETENTION_DAYS.

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

-- 1. Per-minute buckets of the measures an event carries alone.
CREATE TABLE IF NOT EXISTS kpi_minute
(
    minute          DateTime('UTC'),
    queue           LowCardinality(String),
    team            LowCardinality(String),
    channel         LowCardinality(String),
    agent_id        String,
    offered         AggregateFunction(sum, UInt64) COMMENT 'contact.offered events',
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
    sumState(toUInt64(type = 'ivr.ended')) AS ivr_n,
    sumState(toUInt64(type = 'ivr.ended' AND outcome = 'contained')) AS ivr_contained
FROM events
WHERE type IN ('contact.offered', 'ivr.ended')
GROUP BY minute, queue, team, channel, agent_id;

-- 2. What pairing needs, indexed for look-ups by contact and by customer, and the log of what was touched when.
-- "Contact events": contact.*, ticket.* and survey.response (a survey belongs to the contact it rates).
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
    talk_ms     Nullable(UInt32),
    hold_ms     Nullable(UInt32),
    acw_ms      Nullable(UInt32),
    resolved    Nullable(Bool),
    public      Nullable(Bool),
    metric      LowCardinality(String),
    score       Nullable(UInt8)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (contact_id, occurred_at, source, id)
COMMENT 'Contact, ticket and survey events by contact, for pairing; fed by kpi_contact_events_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_contact_events_mv TO kpi_contact_events AS
SELECT contact_id, occurred_at, source, id, type, queue, team, channel, agent_id, customer_id, talk_ms, hold_ms, acw_ms,
       resolved, public, metric, score
FROM events
WHERE contact_id != '' AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.') OR type = 'survey.response');

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
WHERE contact_id != '' AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.') OR type = 'survey.response');

-- One row per completing event, written only by the KPI worker:
--   answer  contact.answered        wait_ms
--   abandon contact.abandoned       wait_ms
--   end     contact.ended           handle_ms; is_resolution when it is the contact's first resolving event
--   reply   ticket.replied (public) frt_ms, is_first_reply
--   solve   ticket.solved           is_resolution when it is the contact's first resolving event
--   survey  survey.response         metric, score
-- queue/team/channel/agent_id: the event's own, else the contact's latest earlier value (see the header).
CREATE TABLE IF NOT EXISTS kpi_measures
(
    at             DateTime64(3, 'UTC') COMMENT 'time of the completing event: the window it belongs to',
    contact_id     String,
    source         LowCardinality(String),
    event_id       String,
    kind           LowCardinality(String) COMMENT 'answer | abandon | end | reply | solve | survey',
    queue          LowCardinality(String),
    team           LowCardinality(String),
    channel        LowCardinality(String),
    agent_id       String,
    wait_ms        Nullable(Int64) COMMENT 'answer/abandon: time − the contact''s latest offer at or before it; NULL: no offer known',
    handle_ms      Nullable(Int64) COMMENT 'end: talk + hold + acw (a missing part counts 0)',
    frt_ms         Nullable(Int64) COMMENT 'reply: time − ticket.created; NULL when creation is unknown or later',
    is_first_reply UInt8 COMMENT 'reply: the ticket''s first public reply',
    is_resolution  UInt8 COMMENT 'end/solve: the contact''s first resolving event (contact.ended resolved, or ticket.solved)',
    fcr            UInt8 COMMENT 'resolution: no transfer, no reopen, no other interaction of the customer in the look-back',
    metric         LowCardinality(String) COMMENT 'survey: csat | ces | nps | fcr',
    score          Nullable(UInt8) COMMENT 'survey: the answer',
    version        UInt64 COMMENT 'when the worker computed the row (ms); the latest wins'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(at)
ORDER BY (at, contact_id, source, event_id)
COMMENT 'Completed contact measures, materialised by the KPI worker; read with FINAL (or via kpi_measures_v)';

-- The measures with the thresholds of their queue applied and one 0/1 flag per thing a KPI counts: what both the
-- API and the analyst views add up.
CREATE VIEW IF NOT EXISTS kpi_measures_v AS
SELECT
    m.at AS at, m.contact_id AS contact_id, m.source AS source, m.event_id AS event_id, CAST(m.kind AS String) AS kind,
    m.queue AS queue, m.team AS team, m.channel AS channel, m.agent_id AS agent_id, m.wait_ms AS wait_ms,
    m.handle_ms AS handle_ms, m.frt_ms AS frt_ms, m.fcr AS fcr, CAST(m.metric AS String) AS metric, m.score AS score,
    if(s.queue = m.queue AND s.queue != '', s.sl_threshold_ms, d.sl_threshold_ms) AS sl_threshold_ms,
    if(s.queue = m.queue AND s.queue != '', s.short_abandon_ms, d.short_abandon_ms) AS short_abandon_ms,
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
