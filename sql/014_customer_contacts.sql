-- 014: kpi_customer_events also lists every other contact event that names a customer, so that the KPI worker finds
-- all of a customer's contacts when an interaction of that customer arrives.
--
-- Why. kpi_customer_events held the interactions FCR looks back on — contact.offered and ticket.created naming a
-- customer — and the worker also used it to find the contacts a new interaction could make "not first contact". A
-- contact whose customer is named only on a later event (an outbound call answered with `customerId`, no offer) was
-- not found: when an earlier call of that customer arrived late, the contact kept FCR yes in kpi_measures, and the
-- wallboards disagreed with ClickHouse after its next event. Now those events are rows too, with `interaction = 0`;
-- FCR's look-back reads the rows with `interaction = 1` only (server/kpi/materialize.ts).
--
-- Existing installations: the rows already there are interactions (the column's default, 1); the other events that
-- name a customer are copied in from kpi_contact_events below. The fan-out's targets are idempotent
-- (ReplacingMergeTree): an event copied here and fanned out again is one row.

ALTER TABLE kpi_customer_events ADD COLUMN IF NOT EXISTS interaction UInt8 DEFAULT 1
    COMMENT '1: an interaction (contact.offered, ticket.created), what FCR looks back on; 0: another event of the contact naming the customer';

ALTER TABLE kpi_customer_events MODIFY COMMENT 'Contact events naming a customer, by customer: interactions (interaction = 1) for FCR, and the others to find every contact of a customer; fed by kpi_customer_events_mv';

DROP VIEW IF EXISTS kpi_customer_events_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_customer_events_mv TO kpi_customer_events AS
SELECT customer_id, occurred_at, contact_id, source, id, toUInt8(type IN ('contact.offered', 'ticket.created')) AS interaction
FROM events_fanout
WHERE customer_id != '' AND contact_id != ''
  AND (startsWith(type, 'contact.') OR startsWith(type, 'ticket.') OR type IN ('survey.response', 'ivr.ended'));

-- every contact event naming a customer, interactions included (one lost between the DROP and the CREATE above, by a
-- worker fanning out meanwhile, is back; one already here stays one row)
INSERT INTO kpi_customer_events (customer_id, occurred_at, contact_id, source, id, interaction)
SELECT customer_id, occurred_at, contact_id, source, id, toUInt8(type IN ('contact.offered', 'ticket.created'))
FROM kpi_contact_events
WHERE customer_id != '';
