-- 020: a refused event is kept with the id of the ingest key that sent it (docs/events.md, "Reading refusals back").
--
-- Why. GET /v1/events/rejected gave a key the refusals stored under its *name*, and names are not unique: two ACD
-- integrations whose keys were both named "Genesys prod" read each other's refused events, raw payloads included, and a
-- new key named as an old one inherited its history (security audit). Rows from now carry `key_id`, and a key reads
-- those with its id; the rows kept from before (key_id '') are still read by name.

ALTER TABLE rejected_events
    ADD COLUMN IF NOT EXISTS key_id String DEFAULT ''
    COMMENT 'the id of the ingest key used (ik_… , or config:<source>:<n> for INGEST_KEYS); empty on rows from before 020'
    AFTER key_name;
