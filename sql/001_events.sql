-- 001: the raw `events` table: one row per accepted interaction event, exactly as the contract defines it
-- (docs/events.md). Analysts may read it directly; every KPI is derived from it.
-- Times are UTC with millisecond precision. A field the event type does not carry is '' (strings) or NULL
-- (numbers and booleans), so `count(talk_ms)` counts only the events that reported it.
CREATE TABLE IF NOT EXISTS events
(
    source       LowCardinality(String) COMMENT 'system that sent the event: acd | ivr | crm',
    id           String                 COMMENT 'the sender''s event id; (source, id) is unique: a retried event is stored once',
    type         LowCardinality(String) COMMENT 'event type, e.g. contact.offered, ticket.solved, survey.response',
    occurred_at  DateTime64(3, 'UTC')   COMMENT 'when it happened (sender''s clock), normalised to UTC',
    received_at  DateTime64(3, 'UTC')   COMMENT 'when Nabız accepted it',
    contact_id   String                 COMMENT 'call, chat or ticket id; empty for agent.state',
    queue        LowCardinality(String),
    team         LowCardinality(String),
    channel      LowCardinality(String) COMMENT 'voice | chat | email | social | sms',
    agent_id     String,
    customer_id  String,
    to_queue     LowCardinality(String) COMMENT 'contact.transferred: target queue',
    to_agent_id  String                 COMMENT 'contact.transferred: target agent',
    talk_ms      Nullable(UInt32)       COMMENT 'contact.ended: talk time',
    hold_ms      Nullable(UInt32)       COMMENT 'contact.ended: hold time',
    acw_ms       Nullable(UInt32)       COMMENT 'contact.ended: after-call work (wrap-up) time',
    resolved     Nullable(Bool)         COMMENT 'contact.ended: resolved by this contact',
    state        LowCardinality(String) COMMENT 'agent.state: available | busy | acw | aux | offline',
    reason       String                 COMMENT 'agent.state: optional reason (e.g. the aux code)',
    outcome      LowCardinality(String) COMMENT 'ivr.ended: contained | transferred | abandoned',
    public       Nullable(Bool)         COMMENT 'ticket.replied: visible to the customer',
    metric       LowCardinality(String) COMMENT 'survey.response: csat | ces | nps | fcr',
    score        Nullable(UInt8)        COMMENT 'survey.response: the answer on the metric''s scale',
    attributes   Map(String, String)    COMMENT 'free-form string attributes from the sender'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (type, toDate(occurred_at), queue, occurred_at)
COMMENT 'Raw interaction events from the ACD, IVR and CRM (docs/events.md)';
