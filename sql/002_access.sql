-- 002: access control (docs/security.md). The durable records of who may reach Nabız: people, ingest keys and
-- display tokens, plus the audit log. Redis only caches these and holds the short-lived sessions of people.
-- Secrets are never stored: passwords as scrypt hashes, keys and display tokens as the SHA-256 of the token.
-- The three credential tables are ReplacingMergeTree: an update is an insert of the whole row with a newer
-- `updated_at`; read them with FINAL (or argMax(..., updated_at)) to see the current state of each row.

CREATE TABLE IF NOT EXISTS users
(
    username       String                  COMMENT 'login name, unique (lower case)',
    id             String                  COMMENT 'stable id of this person; a re-created username gets a new id',
    role           LowCardinality(String)  COMMENT 'viewer | supervisor | admin',
    password_hash  String                  COMMENT 'scrypt$<log2 N>$<r>$<p>$<salt>$<hash> (base64url); never the password',
    created_at     DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC')    COMMENT 'version: the row with the latest updated_at is the current one',
    deleted        Bool DEFAULT false      COMMENT 'true: the user was removed'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY username
COMMENT 'People who sign in, one role each. Current state: SELECT * FROM users FINAL WHERE NOT deleted';

CREATE TABLE IF NOT EXISTS ingest_keys
(
    id             String                  COMMENT 'public id of the key (shown in lists, used to revoke)',
    source         LowCardinality(String)  COMMENT 'the only source this key may send events for: acd | ivr | crm',
    name           String                  COMMENT 'what the key is for, e.g. "Genesys ACD production"',
    token_sha256   String                  COMMENT 'hex SHA-256 of the key; the key itself is shown once at creation',
    created_at     DateTime64(3, 'UTC'),
    created_by     String                  COMMENT 'username (or cli:<os user>) that created it',
    revoked_at     Nullable(DateTime64(3, 'UTC')) COMMENT 'NULL while the key is valid',
    revoked_by     String DEFAULT '',
    updated_at     DateTime64(3, 'UTC')    COMMENT 'version'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
COMMENT 'Keys with which the ACD, IVR and CRM send events. Current state: SELECT * FROM ingest_keys FINAL';

CREATE TABLE IF NOT EXISTS displays
(
    id             String                  COMMENT 'public id of the display token',
    name           String                  COMMENT 'which screen, e.g. "Floor 2, north wall"',
    board          String                  COMMENT 'the board the screen shows',
    token_sha256   String                  COMMENT 'hex SHA-256 of the display token; the token is shown once',
    created_at     DateTime64(3, 'UTC'),
    created_by     String,
    revoked_at     Nullable(DateTime64(3, 'UTC')) COMMENT 'NULL while the token is valid; display tokens never expire',
    revoked_by     String DEFAULT '',
    updated_at     DateTime64(3, 'UTC')    COMMENT 'version'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
COMMENT 'Read-only tokens of wallboard TVs. Current state: SELECT * FROM displays FINAL';

CREATE TABLE IF NOT EXISTS credential_usage
(
    kind           LowCardinality(String)  COMMENT 'ingest-key | display',
    id             String                  COMMENT 'ingest_keys.id or displays.id',
    last_used_at   DateTime64(3, 'UTC')    COMMENT 'recorded at most about once a minute per API process',
    ip             String                  COMMENT 'client address of that use'
)
ENGINE = ReplacingMergeTree(last_used_at)
ORDER BY (kind, id)
COMMENT 'When each ingest key and display token was last used (apart from the credential rows, so a usage write can never undo a revocation)';

CREATE TABLE IF NOT EXISTS audit_log
(
    at             DateTime64(3, 'UTC')    COMMENT 'when it happened',
    actor_kind     LowCardinality(String)  COMMENT 'user | display | ingest | cli | system | anonymous',
    actor_id       String                  COMMENT 'users.id, displays.id, ingest_keys.id, or the OS user for cli',
    actor_name     String                  COMMENT 'username or display name at the time',
    action         LowCardinality(String)  COMMENT 'e.g. auth.login, user.create, ingest_key.revoke, display.create',
    outcome        LowCardinality(String)  COMMENT 'ok | denied | failed | rate_limited',
    object_kind    LowCardinality(String)  COMMENT 'user | ingest-key | display | session | threshold',
    object_id      String,
    ip             String                  COMMENT 'client address (empty for cli)',
    user_agent     String,
    details        String                  COMMENT 'JSON object with action-specific fields; never a secret'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, action)
COMMENT 'Who did what to which object, when and from where. E.g. SELECT * FROM audit_log WHERE at > now() - INTERVAL 1 DAY ORDER BY at';
