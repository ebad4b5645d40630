-- 010: a contact transferred to another queue waits there until that queue answers it.
--
-- Why. Until now a contact waited when its latest queue event was an offer. A transfer offers the contact to its new
-- queue at once, but the first agent's `contact.ended` comes after their wrap-up: from then on the latest queue event
-- was that end, and the contact vanished from "waiting" and "longest wait" while it was still in the new queue.
--
-- Now a contact waits when it was offered and, since its latest offer (same millisecond included), it was neither
-- answered nor abandoned, nor ended other than by an agent who answered it before that offer. The end of a leg that
-- started before the offer is not the end of the new wait; any other end is (an ACD that never sent the answer).
-- The API computes the same (server/kpi/compute.ts, WAITING_COLUMNS), and the parity test holds the two equal.
-- Columns are unchanged.

CREATE OR REPLACE VIEW kpi_waiting_now AS
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
      AND occurred_at >= now64(3) - INTERVAL 24 HOUR AND occurred_at <= now64(3)
      AND contact_id != ''
    GROUP BY contact_id
    HAVING countIf(type = 'contact.offered') > 0
       AND NOT arrayExists(c -> c.1 >= offer.1 AND NOT (c.2 = 'contact.ended' AND has(answered_before, c.3)), closes)
);
