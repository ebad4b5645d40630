-- 011: the reason and the agent's name of an agent's latest state, for the roster (each agent, their state and since
-- when).
--
-- Why. The wallboard's roster tile shows each agent of a team or queue with their state and how long they have been
-- in it; for `aux` the reason the ACD gave ("lunch", "training", "coaching") is what a team lead wants to read, and a
-- floor reads names, not ids: an ACD that knows them sends `attributes.agentName`. kpi_agent_state kept the state and
-- the queue/team/channel of each agent's latest agent.state event, not these.
--
-- Existing installations: agents whose latest state was stored before this migration have an empty reason and name
-- until their next agent.state event (their state and time are unchanged). Nothing else is rewritten.

ALTER TABLE kpi_agent_state
    ADD COLUMN IF NOT EXISTS reason AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String, String))
    COMMENT 'the reason the latest agent.state gave (empty when none)';
ALTER TABLE kpi_agent_state
    ADD COLUMN IF NOT EXISTS name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String, String))
    COMMENT 'attributes.agentName of the latest agent.state (empty when it gave none)';

DROP VIEW IF EXISTS kpi_agent_state_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_agent_state_mv TO kpi_agent_state AS
SELECT
    agent_id,
    maxState(occurred_at) AS last_at,
    argMaxState(toString(state), (occurred_at, toString(source), id)) AS state,
    argMaxState(toString(queue), (occurred_at, toString(source), id)) AS queue,
    argMaxState(toString(team), (occurred_at, toString(source), id)) AS team,
    argMaxState(toString(channel), (occurred_at, toString(source), id)) AS channel,
    argMaxState(reason, (occurred_at, toString(source), id)) AS reason,
    argMaxState(attributes['agentName'], (occurred_at, toString(source), id)) AS name
FROM events_fanout
WHERE type = 'agent.state' AND agent_id != ''
GROUP BY agent_id;

-- The analysts' twin of the roster: every agent's latest state, since when, why, and their name (offline agents
-- included).
CREATE OR REPLACE VIEW kpi_agent_states_now AS
SELECT
    agent_id,
    argMaxMerge(state) AS state,
    argMaxMerge(team) AS team,
    argMaxMerge(queue) AS queue,
    argMaxMerge(channel) AS channel,
    maxMerge(last_at) AS since,
    argMaxMerge(reason) AS reason,
    argMaxMerge(name) AS agent_name
FROM kpi_agent_state
GROUP BY agent_id;
