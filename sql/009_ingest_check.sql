-- 009: the ingest writer stores a batch through `events_ingest`, which checks in the same insert that none of the
-- batch's (source, id) is stored yet — one ClickHouse round trip per batch instead of a look-up and then an insert.
--
-- Why. Until 008 the writer asked ClickHouse which ids of a batch were already stored, then inserted the others: two
-- round trips in sequence for every batch. A retry is rare; checking inside the insert costs the check but not a
-- second request, and the ids travel once, in the rows (as a query parameter, 5,000 ids took ~17 ms to pass).
--
--   writer ──INSERT──▶ events_ingest (Null) ──events_ingest_mv──▶ events
--
-- All or nothing: when any row of the batch is already stored, throwIf fails the whole insert before anything is
-- written (the message starts with NABIZ_DUPLICATE, code 395 FUNCTION_THROW_IF_VALUE_IS_NON_ZERO). The writer then
-- looks the batch up, as before, and inserts only the new events, straight into `events`. A failed insert thus never
-- stores part of a batch, and the writer always knows exactly which events it stored.
--
-- "Already stored" is the same test as the writer's look-up (server/ingest/dedupe.ts): in `event_ids` (every event the
-- KPI worker has fanned out), or in `events` above the fan-out watermark (stored since). Inside the view,
-- `events_ingest` names the block being inserted, so `id IN (SELECT id FROM events_ingest)` is the batch's ids.
-- Concurrent inserts of the same id never reach this check: the writer reserves every id in Redis first.
--
-- `events_ingest` has the columns of `events` as they were when it was created: a migration that adds a column to
-- `events` must add it here too (and to `events_fanout`).

CREATE TABLE IF NOT EXISTS events_ingest AS events ENGINE = Null
COMMENT 'Write point of the ingest API: a batch inserted here is stored in events only if none of it is stored yet';

CREATE MATERIALIZED VIEW IF NOT EXISTS events_ingest_mv TO events AS
WITH (SELECT argMax(position, updated_at) FROM kpi_progress WHERE name = 'fanout') AS fanned_out
SELECT *
FROM events_ingest
WHERE throwIf(
    (source, id) IN (SELECT source, id FROM event_ids WHERE id IN (SELECT id FROM events_ingest))
    OR (source, id) IN (
        SELECT source, id FROM events
        WHERE toUInt64(splitByChar('_', _part)[3]) > fanned_out AND _block_number > fanned_out
          AND id IN (SELECT id FROM events_ingest)),
    'NABIZ_DUPLICATE: an event of this batch is already stored') = 0;
