-- 003: what ingest needs besides `events`.

-- Every stored (source, id), ordered for point look-ups: the ingest path asks it which ids of a batch are already
-- stored, so a retry days later is recognised even if Redis (which only holds in-flight reservations) lost its
-- data. Filled by the materialized view below in the same insert as `events`, so it can never disagree with it.
CREATE TABLE IF NOT EXISTS event_ids
(
    source      LowCardinality(String),
    id          String,
    occurred_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (source, id)
COMMENT 'Index of stored event ids, for idempotent ingest';

CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
SELECT source, id, occurred_at FROM events;

-- Every event the ingest API refused, and every body it could not parse, kept for the integrator to inspect:
--   SELECT received_at, reasons, raw FROM rejected_events WHERE source = 'acd' ORDER BY received_at DESC LIMIT 20
CREATE TABLE IF NOT EXISTS rejected_events
(
    received_at DateTime64(3, 'UTC')   COMMENT 'when the request arrived',
    request_id  String                 COMMENT 'the API request id (also in the API log)',
    source      LowCardinality(String) COMMENT 'the source of the ingest key used',
    key_name    String                 COMMENT 'the name of the ingest key used',
    item_index  Int32                  COMMENT 'position in the batch (NDJSON: line number from 0); -1 for a whole body',
    event_id    String                 COMMENT 'the event''s id when it had a readable one',
    reasons     Array(String)          COMMENT 'one entry per problem: "<json pointer>: <message>"',
    raw         String                 COMMENT 'the event (or body) exactly as received, truncated to 64 KiB'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source, received_at)
COMMENT 'Refused ingest input, for integrators to inspect';
