-- 016: ClickHouse records what the stored measures were computed with, and the KPI worker rebuilds them when that
-- changes.
--
-- Why. kpi_measures holds each contact's FCR as computed when the contact was last touched: with the FCR_LOOKBACK_DAYS
-- of that moment and the definition of that version. After a change of either, the untouched history kept the old
-- one, and a touched contact moved the worker's live sums by a "before" computed the new way from a row stored the
-- old way, so the wallboards and ClickHouse could disagree until midnight. Now the worker compares this table with its
-- own FCR_LOOKBACK_DAYS and definition (server/kpi/measures.ts, MEASURES_DEFINITION) before its first pass, and rebuilds
-- every measure when they differ (server/kpi/materialize.ts, rebuildMeasures), then records them here.
--
-- This version changes the definition (2): a contact is an interaction of the first customer its events name, which
-- ever event names it, beginning at its earliest event (docs/kpis.md, FCR). An installation with measures gets a row
-- of definition 1, so its worker rebuilds them once at its next start; a new one gets none (nothing to rebuild).

CREATE TABLE IF NOT EXISTS kpi_measure_settings
(
    fcr_lookback_days UInt16 COMMENT 'the FCR look-back (FCR_LOOKBACK_DAYS) kpi_measures was computed with; 0: unknown',
    definition        UInt32 COMMENT 'the version of the measures'' definition (MEASURES_DEFINITION in server/kpi/measures.ts)',
    updated_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY tuple()
COMMENT 'What kpi_measures was computed with, written by the KPI worker after a rebuild; the latest row wins';

INSERT INTO kpi_measure_settings (fcr_lookback_days, definition, updated_at)
SELECT 0, 1, '1970-01-01 00:00:00.000'
WHERE (SELECT count() FROM kpi_measures) > 0;

ALTER TABLE kpi_customer_events COMMENT COLUMN interaction
    '1: an offer or a ticket creation naming the customer; 0: another event of the contact naming it (FCR reads the contacts: docs/kpis.md)';

-- A rebuild's scratch (server/kpi/materialize.ts, rebuildMeasures): every interaction, summarised once from
-- kpi_contact_events, that each slice of contacts reads its customers' interactions from. Empty between rebuilds.
CREATE TABLE IF NOT EXISTS kpi_rebuild_interactions
(
    customer_id String COMMENT 'the first customer the contact''s events name',
    start       DateTime64(3, 'UTC') COMMENT 'its earliest event',
    contact_id  String
)
ENGINE = MergeTree
ORDER BY (customer_id, start)
COMMENT 'Scratch of a measures rebuild: every offered or created contact by its customer; empty between rebuilds';
