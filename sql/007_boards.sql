-- 007: wallboard boards and per-display settings (docs/wallboard.md). Both are ReplacingMergeTree tables like the
-- access records: an edit inserts the whole new version with a newer `updated_at`; read with FINAL. Every change is
-- also written to the audit log (action board.put / board.delete / display_settings.put, the layout in details).

CREATE TABLE IF NOT EXISTS boards
(
    name        String                  COMMENT 'the board''s id in URLs and on display tokens, e.g. "main" (a-z, 0-9, - and _)',
    title       String                  COMMENT 'what the TV shows as the board''s name',
    type        LowCardinality(String)  COMMENT 'grid: a layout of tiles | rotation: cycles through other boards',
    spec        String                  COMMENT 'JSON: {columns, tiles:[…]} for a grid, {rotation:[{board, seconds}]} for a rotation',
    updated_at  DateTime64(3, 'UTC')    COMMENT 'version: the row with the latest updated_at is the current one',
    updated_by  String                  COMMENT 'username that saved this version',
    deleted     Bool DEFAULT false      COMMENT 'true: the board was deleted'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY name
COMMENT 'Wallboard layouts. Current state: SELECT * FROM boards FINAL WHERE NOT deleted';

CREATE TABLE IF NOT EXISTS display_settings
(
    display_id  String                  COMMENT 'displays.id',
    board       String                  COMMENT 'board the display shows instead of the one on its token; empty: the token''s board',
    sound       Bool                    COMMENT 'whether the TV plays a sound when a critical alert fires',
    updated_at  DateTime64(3, 'UTC')    COMMENT 'version',
    updated_by  String
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY display_id
COMMENT 'What a TV shows and whether it beeps, changeable without re-pairing it. Current state: SELECT * FROM display_settings FINAL';
