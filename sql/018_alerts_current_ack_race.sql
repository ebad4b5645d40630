-- 018: an acknowledgement never re-opens an alert in the history.
--
-- Why. alerts_current took every column from an alert's latest row. The alert engine writes a `cleared` row to
-- ClickHouse, then removes the alert from Redis; an acknowledgement arriving between the two (the alert still listed
-- as open) wrote its `acknowledged` row after the `cleared` one, with ended_at NULL: the alert read as open again in
-- the history, and a new leader restoring open alerts from it brought it back to the screens (alerts audit).
--
-- Now the alert's state (level, peak, value, threshold, ended_at) comes from its latest transition that is not an
-- acknowledgement, and who acknowledged it (and when) from its latest row, as before. The columns are unchanged.

CREATE OR REPLACE VIEW alerts_current
COMMENT 'One row per alert: its state from its latest transition other than an acknowledgement, its acknowledgement from its latest row (tuple(): argMax would skip NULLs)'
AS SELECT
    id,
    argMax(threshold_id, at)    AS threshold_id,
    argMax(kpi, at)             AS kpi,
    argMax(scope, at)           AS scope,
    argMax(window, at)          AS window,
    argMax(direction, at)       AS direction,
    argMaxIf(level, at, transition != 'acknowledged')     AS level,
    argMaxIf(peak, at, transition != 'acknowledged')      AS peak,
    argMaxIf(tuple(value), at, transition != 'acknowledged').1     AS value,
    argMaxIf(threshold, at, transition != 'acknowledged') AS threshold,
    min(started_at)             AS started_at,
    argMaxIf(tuple(ended_at), at, transition != 'acknowledged').1  AS ended_at,
    argMax(acknowledged_by, at) AS acknowledged_by,
    argMax(tuple(acknowledged_at), at).1 AS acknowledged_at,
    max(at)                     AS updated_at
FROM alerts
GROUP BY id;
