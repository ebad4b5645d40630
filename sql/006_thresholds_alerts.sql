-- 006: alert thresholds and alerts (docs/alerts.md).
-- Both tables keep their whole history: a change is a new row, never an update, so analysts can see what the
-- thresholds were at any time and how each alert went.

CREATE TABLE IF NOT EXISTS thresholds
(
    id            String                  COMMENT 'stable id of the threshold (thr_…)',
    version_at    DateTime64(3, 'UTC')    COMMENT 'when this version was written; the latest version of an id is the current one',
    kpi           LowCardinality(String)  COMMENT 'KPI key of the catalog (server/kpi/catalog.ts)',
    scope         String                  COMMENT 'center, queue:<name>, team:<name>, channel:<name>, agent:<id>, or <kind>:* for every scope of a kind',
    window        LowCardinality(String)  COMMENT 'today | 1h | 15m',
    direction     LowCardinality(String)  COMMENT 'above | below: which side of the levels is a breach',
    warning       Float64                 COMMENT 'warning level',
    critical      Float64                 COMMENT 'critical level (past warning in the direction)',
    for_seconds   UInt32                  COMMENT 'a breach must hold this long before the alert fires',
    clear_band    Float64                 COMMENT 'hysteresis: the value must come back past a level by this much to leave it',
    enabled       Bool,
    deleted       Bool DEFAULT false      COMMENT 'true: the threshold was deleted at version_at',
    changed_by    String                  COMMENT 'username (or actor) that wrote this version'
)
ENGINE = MergeTree
ORDER BY (id, version_at)
COMMENT 'Every version of every alert threshold. Current: thresholds_current; at time T: argMax(…, version_at) over version_at <= T';

CREATE VIEW IF NOT EXISTS thresholds_current
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
    argMax(enabled, version_at)     AS enabled,
    max(version_at)                 AS updated_at,
    argMax(changed_by, version_at)  AS updated_by
FROM thresholds
GROUP BY id
HAVING NOT argMax(deleted, version_at);

CREATE TABLE IF NOT EXISTS alerts
(
    id               String                  COMMENT 'alert id (al_…): one breach of one threshold for one scope',
    at               DateTime64(3, 'UTC')    COMMENT 'when this transition happened',
    transition       LowCardinality(String)  COMMENT 'fired | escalated | deescalated | acknowledged | cleared',
    threshold_id     String,
    kpi              LowCardinality(String),
    scope            String,
    window           LowCardinality(String),
    direction        LowCardinality(String),
    level            LowCardinality(String)  COMMENT 'warning | critical, or ok once cleared',
    peak             LowCardinality(String)  COMMENT 'highest level reached so far',
    value            Nullable(Float64)       COMMENT 'the KPI value at the transition',
    threshold        Float64                 COMMENT 'the level value that was crossed',
    started_at       DateTime64(3, 'UTC'),
    ended_at         Nullable(DateTime64(3, 'UTC')),
    acknowledged_by  String DEFAULT ''       COMMENT 'username that acknowledged, empty if not',
    acknowledged_at  Nullable(DateTime64(3, 'UTC'))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, id, at)
COMMENT 'Every alert transition. The state of an alert is its latest row (alerts_current); open alerts have ended_at NULL';

CREATE VIEW IF NOT EXISTS alerts_current
COMMENT 'One row per alert: its latest transition (tuple(): argMax would skip NULLs)'
AS SELECT
    id,
    argMax(threshold_id, at)    AS threshold_id,
    argMax(kpi, at)             AS kpi,
    argMax(scope, at)           AS scope,
    argMax(window, at)          AS window,
    argMax(direction, at)       AS direction,
    argMax(level, at)           AS level,
    argMax(peak, at)            AS peak,
    argMax(tuple(value), at).1           AS value,
    argMax(threshold, at)       AS threshold,
    min(started_at)             AS started_at,
    argMax(tuple(ended_at), at).1        AS ended_at,
    argMax(acknowledged_by, at) AS acknowledged_by,
    argMax(tuple(acknowledged_at), at).1 AS acknowledged_at,
    max(at)                     AS updated_at
FROM alerts
GROUP BY id;
