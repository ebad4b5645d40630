-- 012: floor messages — a supervisor's short text shown along the bottom of the wallboards (docs/wallboard.md,
-- "Messages").
--
-- Why. A floor needs to be told things the figures do not say: "Billing system down — use the backup script",
-- "Team red: huddle at 14:30", "Great afternoon, service level 92 %". Supervisors post them in the console for a
-- time (a few minutes to a week), to every board or to the boards they pick; the TVs show them within seconds.
--
-- A ReplacingMergeTree like the boards: posting inserts a message; ending it early inserts a new version with
-- `ends_at` set to that moment and `ended_by` naming who ended it. Read with FINAL. Every post and every early end is
-- also in the audit log (message.post, message.end). Messages are kept 90 days after they ended.

CREATE TABLE IF NOT EXISTS floor_messages
(
    id          String                  COMMENT 'random public id (16 hex digits)',
    text        String                  COMMENT 'what the TVs show: one line, up to 200 characters',
    level       LowCardinality(String)  COMMENT 'info | urgent (urgent: red band, flashes and beeps when it appears)',
    boards      Array(String)           COMMENT 'names of the boards that show it; empty: every board',
    starts_at   DateTime64(3, 'UTC')    COMMENT 'when it was posted',
    ends_at     DateTime64(3, 'UTC')    COMMENT 'when it leaves the screens (posted + its minutes, or when it was ended early)',
    created_by  String                  COMMENT 'username that posted it',
    ended_by    String DEFAULT ''       COMMENT 'username that ended it before its time; empty otherwise',
    updated_at  DateTime64(3, 'UTC')    COMMENT 'version: the row with the latest updated_at is the current one'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
TTL toDateTime(ends_at) + INTERVAL 90 DAY
COMMENT 'Messages to the floor. On the air now: SELECT * FROM floor_messages FINAL WHERE starts_at <= now64(3) AND ends_at > now64(3)';
