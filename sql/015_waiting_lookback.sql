-- 015: the analyst view of the waiting contacts looks back as far as the wallboards do (WAITING_LOOKBACK_HOURS).
--
-- Why. kpi_waiting_now (sql/010) looked at the offers of the last 24 hours, whatever WAITING_LOOKBACK_HOURS said. A
-- center that set it to days (e-mail and social queues, where a contact may wait longer than a day) saw those
-- contacts waiting on its wallboards but not in the view.
--
-- kpi_agent_settings now holds both settings of the live figures the KPI worker writes at start: the agent-state
-- cutoff (sql/013) and the waiting look-back. Its latest row holds both (server/kpi/settings.ts writes them together).
--
-- Existing installations: the rows already there get the default (24), the value the view applied until now; the
-- worker writes its WAITING_LOOKBACK_HOURS at its next start. The view's columns are unchanged.

ALTER TABLE kpi_agent_settings ADD COLUMN IF NOT EXISTS waiting_lookback_hours UInt16 DEFAULT 24
    COMMENT 'waiting contacts: offers older than this many hours are not looked at (WAITING_LOOKBACK_HOURS)' AFTER agent_state_max_hours;

ALTER TABLE kpi_agent_settings MODIFY COMMENT 'Settings of the live figures (AGENT_STATE_MAX_HOURS, WAITING_LOOKBACK_HOURS), written by the KPI worker at start; the latest row wins';

CREATE OR REPLACE VIEW kpi_waiting_now AS
WITH (SELECT argMax(waiting_lookback_hours, updated_at) FROM kpi_agent_settings) AS lookback_hours
SELECT
    contact_id,
    offer.2 AS queue, offer.3 AS team, offer.4 AS channel,
    fromUnixTimestamp64Milli(offer.1, 'UTC') AS offered_at,
    (toUnixTimestamp64Milli(now64(3)) - offer.1) / 1000 AS waiting_s
FROM
(
    SELECT
        contact_id,
        maxIf((toUnixTimestamp64Milli(occurred_at), CAST(queue AS String), CAST(team AS String), CAST(channel AS String), agent_id),
              type = 'contact.offered') AS offer,
        groupArrayIf((toUnixTimestamp64Milli(occurred_at), CAST(type AS String), agent_id), type != 'contact.offered') AS closes,
        arrayMap(c -> c.3, arrayFilter(c -> c.2 = 'contact.answered' AND c.1 < offer.1, closes)) AS answered_before
    FROM events
    WHERE type IN ('contact.offered', 'contact.answered', 'contact.abandoned', 'contact.ended')
      AND occurred_at >= now64(3) - toIntervalHour(lookback_hours) AND occurred_at <= now64(3)
      AND contact_id != ''
    GROUP BY contact_id
    HAVING countIf(type = 'contact.offered') > 0
       AND NOT arrayExists(c -> c.1 >= offer.1 AND NOT (c.2 = 'contact.ended' AND has(answered_before, c.3)), closes)
);
