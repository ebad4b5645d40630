-- 019: a threshold can ask for a minimum sample before it judges a figure (docs/alerts.md, "Minimum sample").
--
-- Why. An abandon rate of 100 % from the first call of the morning, or a CSAT of 1 from one survey, fired an alert
-- like a real breach. `min_count` is the least `n` (the figure's sample size: what the KPI's "n counts" column of
-- docs/kpis.md says) for which the threshold applies; below it the figure counts as no data: it neither fires nor
-- escalates, and leaves an open alert as it is. 0: any sample (as before, and for the versions written before).

ALTER TABLE thresholds
    ADD COLUMN IF NOT EXISTS min_count UInt32 DEFAULT 0
    COMMENT 'the least sample size (the figure''s n) the threshold judges; below it the figure is no data (0: any)'
    AFTER clear_band;

CREATE OR REPLACE VIEW thresholds_current
COMMENT 'The thresholds in force now (latest version of each id, deleted ones left out)'
AS SELECT
    id,
    argMax(kpi, version_at)         AS kpi,
    argMax(scope, version_at)       AS scope,
    argMax(window, version_at)      AS window,
    argMax(direction, version_at)   AS direction,
    argMax(warning, version_at)     AS warning,
    argMax(critical, version_at)    AS critical,
    argMax(for_seconds, version_at) AS for_seconds,
    argMax(clear_band, version_at)  AS clear_band,
    argMax(min_count, version_at)   AS min_count,
    argMax(enabled, version_at)     AS enabled,
    max(version_at)                 AS updated_at,
    argMax(changed_by, version_at)  AS updated_by
FROM thresholds
GROUP BY id
HAVING NOT argMax(deleted, version_at);
