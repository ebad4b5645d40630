-- 021: the center's time zone (CENTER_TZ) in ClickHouse, for the analysts' local days and hours.
--
-- Why. "Today" on the wallboards starts at local midnight in CENTER_TZ, but ClickHouse knew no zone: every analyst
-- query had to spell the center's zone out (docs/analysts.md used Europe/Istanbul for all), and a query copied with
-- the wrong one gave other days than the TVs. Now the KPI worker writes its CENTER_TZ here at start (as it writes the
-- thresholds' defaults and the live figures' settings), and `kpi_center` gives it: `(SELECT time_zone FROM
-- kpi_center)` is a constant wherever ClickHouse wants a zone (toStartOfDay(now(), …), kpi_daily(tz = …)).
--
-- Existing installations: the zone is UTC until the worker's next start writes its own.

CREATE TABLE IF NOT EXISTS kpi_center_settings
(
    time_zone  String COMMENT 'the center''s IANA time zone (CENTER_TZ): its days start at local midnight there',
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY tuple()
COMMENT 'The center''s settings (CENTER_TZ), written by the KPI worker at start; the latest row wins (read kpi_center)';

INSERT INTO kpi_center_settings (time_zone, updated_at) VALUES ('UTC', '1970-01-01 00:00:00.000');

-- One row: the center's settings in force.
CREATE VIEW IF NOT EXISTS kpi_center AS
SELECT argMax(time_zone, updated_at) AS time_zone
FROM kpi_center_settings;
