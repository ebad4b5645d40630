-- 013: an agent whose latest state is older than a shift counts as offline ("ghost agents").
--
-- Why. Agents count in the live figures (agents per state, occupancy, staffing gap) and on the roster by their latest
-- agent.state, whatever its age. An ACD that never sends `offline` for an agent (a crashed softphone, an ACD restart,
-- a lost logout) left that agent "available" on every wallboard for good, hiding a real staffing gap. Now a state at
-- least AGENT_STATE_MAX_HOURS (default 12; 0 = never) old at the moment of the figures counts as offline.
--
-- The cutoff lives here so that the API, the KPI worker and the analysts apply the same one: the worker writes its
-- AGENT_STATE_MAX_HOURS at start (as it writes the thresholds' defaults into kpi_queue_settings), the API's
-- computation reads it in the same query as the states, and kpi_agent_states_now reads it below.
--
-- Existing installations: nothing is rewritten. The view's columns keep their names and order; `state` now says
-- `offline` for an expired agent (so queries that leave out offline agents give the wallboard's numbers unchanged),
-- and two columns are added at the end: `reported_state` (the state the ACD last sent) and `expired`.

CREATE TABLE IF NOT EXISTS kpi_agent_settings
(
    agent_state_max_hours UInt16 COMMENT 'an agent whose latest agent.state is at least this many hours old counts as offline; 0 = never',
    updated_at            DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY tuple()
COMMENT 'Agent settings (AGENT_STATE_MAX_HOURS, written by the KPI worker at start); the latest row wins';

INSERT INTO kpi_agent_settings (agent_state_max_hours, updated_at) VALUES (12, '1970-01-01 00:00:00.000');

-- The analysts' twin of the roster: every agent's latest state, since when, why, and their name (offline agents
-- included). `since` is the time of the latest agent.state; an agent whose latest state is at least the cutoff old at
-- now() is `expired` and its `state` is `offline` (`reported_state` keeps what the ACD said).
CREATE OR REPLACE VIEW kpi_agent_states_now AS
WITH (SELECT argMax(agent_state_max_hours, updated_at) FROM kpi_agent_settings) AS max_hours
SELECT
    agent_id,
    if(expired = 1, 'offline', reported_state) AS state,
    team,
    queue,
    channel,
    since,
    reason,
    agent_name,
    reported_state,
    toUInt8(max_hours > 0 AND since <= now64(3, 'UTC') - toIntervalHour(max_hours)) AS expired
FROM
(
    SELECT
        agent_id,
        argMaxMerge(state) AS reported_state,
        argMaxMerge(team) AS team,
        argMaxMerge(queue) AS queue,
        argMaxMerge(channel) AS channel,
        maxMerge(last_at) AS since,
        argMaxMerge(reason) AS reason,
        argMaxMerge(name) AS agent_name
    FROM kpi_agent_state
    GROUP BY agent_id
);
