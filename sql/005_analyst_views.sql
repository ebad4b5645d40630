-- 005: analyst views. The same KPIs as the API (server/kpi/compute.ts, definitions in docs/kpis.md), computed in
-- SQL from the rollups of 004, for any period and scope. A parity test (test/integration/kpi-parity.test.ts) holds them
-- equal to the API's figures. How to connect and example queries: docs/analysts.md.
--
--   kpi_facts_minute      every additive sum behind the windowed KPIs, per minute × queue/team/channel/agent
--   kpi_scope_minute      the same, once per scope the row counts in (center, queue:…, team:…, channel:…, agent:…)
--   kpi_period(from, to)  every windowed KPI per scope over [from, to)   (parameterized view; UTC DateTime64 bounds)
--   kpi_interval_15m      every windowed KPI per 15-minute interval (UTC-aligned = local quarter hours) and scope
--   kpi_daily(tz)         every windowed KPI per local day in time zone tz and scope (parameterized view)
--   kpi_agent_states_now  the latest state of every agent (live)
--   kpi_waiting_now       the contacts waiting now, with their wait so far (live; offers of the last 24 hours)
--
-- Each KPI comes as two columns: `<key>` (NULL when its denominator is 0: never 0 and never NaN) and `<key>_n`, its
-- sample size. To combine rows yourself, add the sums of kpi_scope_minute, never average the ratios.
-- Windows of the wallboard: today = [local midnight, end), 1h = [end − 60 min, end), 15m = [end − 15 min, end), with
-- end = the start of the current minute + 1 minute, e.g. for 1h:
--   SELECT * FROM kpi_period(from = toStartOfMinute(now()) - INTERVAL 59 MINUTE, to = toStartOfMinute(now()) + INTERVAL 1 MINUTE)

CREATE VIEW IF NOT EXISTS kpi_facts_minute AS
SELECT
    minute, queue, team, channel, agent_id,
    sum(offered) AS offered,
    sum(ivr_n) AS ivr_n,
    sum(ivr_contained) AS ivr_contained,
    sum(answered) AS answered,
    sum(ended) AS ended,
    sum(handle_ms) AS handle_ms,
    sum(csat_n) AS csat_n,
    sum(csat_top2) AS csat_top2,
    sum(ces_n) AS ces_n,
    sum(ces_points) AS ces_points,
    sum(nps_n) AS nps_n,
    sum(nps_promoters) AS nps_promoters,
    sum(nps_detractors) AS nps_detractors,
    sum(fcrs_n) AS fcrs_n,
    sum(fcrs_yes) AS fcrs_yes,
    sum(abandoned) AS abandoned,
    sum(short_abandoned) AS short_abandoned,
    sum(answers_in_sl) AS answers_in_sl,
    sum(wait_n) AS wait_n,
    sum(wait_ms_sum) AS wait_ms_sum,
    sum(frt_n) AS frt_n,
    sum(frt_ms_sum) AS frt_ms_sum,
    sum(resolutions) AS resolutions,
    sum(fcr_yes) AS fcr_yes,
    groupArrayArray(frt_list) AS frt_list
FROM
(
    -- measures an event carries alone: the minute buckets (offered, IVR)
    SELECT
        minute, CAST(queue AS String) AS queue, CAST(team AS String) AS team, CAST(channel AS String) AS channel, agent_id,
        sumMerge(offered) AS offered,
        sumMerge(ivr_n) AS ivr_n,
        sumMerge(ivr_contained) AS ivr_contained,
        toUInt64(0) AS answered,
        toUInt64(0) AS ended,
        toInt64(0) AS handle_ms,
        toUInt64(0) AS csat_n,
        toUInt64(0) AS csat_top2,
        toUInt64(0) AS ces_n,
        toUInt64(0) AS ces_points,
        toUInt64(0) AS nps_n,
        toUInt64(0) AS nps_promoters,
        toUInt64(0) AS nps_detractors,
        toUInt64(0) AS fcrs_n,
        toUInt64(0) AS fcrs_yes,
        toUInt64(0) AS abandoned,
        toUInt64(0) AS short_abandoned,
        toUInt64(0) AS answers_in_sl,
        toUInt64(0) AS wait_n,
        toInt64(0) AS wait_ms_sum,
        toUInt64(0) AS frt_n,
        toInt64(0) AS frt_ms_sum,
        toUInt64(0) AS resolutions,
        toUInt64(0) AS fcr_yes,
        CAST([], 'Array(Int64)') AS frt_list
    FROM kpi_minute
    GROUP BY minute, queue, team, channel, agent_id
    UNION ALL
    -- contact measures: the completions, with the thresholds of their queue applied (kpi_measures_v)
    SELECT
        toStartOfMinute(toDateTime(at, 'UTC')) AS minute, CAST(queue AS String) AS queue, CAST(team AS String) AS team,
        CAST(channel AS String) AS channel, agent_id,
        toUInt64(0) AS offered,
        toUInt64(0) AS ivr_n,
        toUInt64(0) AS ivr_contained,
        toUInt64(sum(is_answer)) AS answered,
        toUInt64(sum(is_end)) AS ended,
        toInt64(ifNull(sumIf(handle_ms, is_end = 1), 0)) AS handle_ms,
        toUInt64(sum(is_csat)) AS csat_n,
        toUInt64(sum(is_csat_top2)) AS csat_top2,
        toUInt64(sum(is_ces)) AS ces_n,
        toUInt64(sum(ces_points)) AS ces_points,
        toUInt64(sum(is_nps)) AS nps_n,
        toUInt64(sum(is_nps_promoter)) AS nps_promoters,
        toUInt64(sum(is_nps_detractor)) AS nps_detractors,
        toUInt64(sum(is_fcr_survey)) AS fcrs_n,
        toUInt64(sum(is_fcr_survey_yes)) AS fcrs_yes,
        toUInt64(sum(is_abandoned)) AS abandoned,
        toUInt64(sum(is_short_abandoned)) AS short_abandoned,
        toUInt64(sum(is_answer_in_sl)) AS answers_in_sl,
        toUInt64(sum(has_wait)) AS wait_n,
        toInt64(ifNull(sumIf(wait_ms, has_wait = 1), 0)) AS wait_ms_sum,
        toUInt64(sum(is_first_reply)) AS frt_n,
        toInt64(ifNull(sumIf(frt_ms, is_first_reply = 1), 0)) AS frt_ms_sum,
        toUInt64(sum(is_resolution)) AS resolutions,
        toUInt64(sumIf(fcr, is_resolution = 1)) AS fcr_yes,
        CAST(groupArrayIf(assumeNotNull(frt_ms), is_first_reply = 1), 'Array(Int64)') AS frt_list
    FROM kpi_measures_v
    GROUP BY minute, queue, team, channel, agent_id
)
GROUP BY minute, queue, team, channel, agent_id;

CREATE VIEW IF NOT EXISTS kpi_scope_minute AS
SELECT scope, f.*
FROM kpi_facts_minute AS f
ARRAY JOIN arrayFilter(x -> x != '', ['center',
    if(queue = '', '', concat('queue:', queue)),
    if(team = '', '', concat('team:', team)),
    if(channel = '', '', concat('channel:', channel)),
    if(agent_id = '', '', concat('agent:', agent_id))]) AS scope;

CREATE VIEW IF NOT EXISTS kpi_period AS
SELECT
    scope,
    {from:DateTime64(3, 'UTC')} AS period_start,
    {to:DateTime64(3, 'UTC')} AS period_end,
    s_offered AS offered,                 s_offered AS offered_n,
    s_answered AS answered,               s_answered AS answered_n,
    s_abandoned AS abandoned,             s_abandoned AS abandoned_n,
    s_short_abandoned AS short_abandoned, s_short_abandoned AS short_abandoned_n,
    if(s_answered + s_abandoned = 0, NULL, s_abandoned / (s_answered + s_abandoned) * 100)     AS abandon_rate,
    s_answered + s_abandoned                                                                   AS abandon_rate_n,
    if(s_answered + s_abandoned = 0, NULL, s_answers_in_sl / (s_answered + s_abandoned) * 100) AS service_level,
    s_answered + s_abandoned                                                                   AS service_level_n,
    if(s_wait_n = 0, NULL, s_wait_ms_sum / s_wait_n / 1000)                                    AS asa,
    s_wait_n                                                                                   AS asa_n,
    if(s_ended = 0, NULL, s_handle_ms / s_ended / 1000)                                        AS aht,
    s_ended                                                                                    AS aht_n,
    if(s_frt_n = 0, NULL, s_frt_ms_sum / s_frt_n / 1000)                                       AS frt,
    s_frt_n                                                                                    AS frt_n,
    if(s_frt_n = 0, NULL, arraySort(s_frt_list)[intDiv(90 * s_frt_n + 99, 100)] / 1000)        AS frt_p90,
    s_frt_n                                                                                    AS frt_p90_n,
    if(s_csat_n = 0, NULL, s_csat_top2 / s_csat_n * 100)                                       AS csat,
    s_csat_n                                                                                   AS csat_n,
    if(s_ces_n = 0, NULL, s_ces_points / s_ces_n / 6 * 100)                                    AS ces,
    s_ces_n                                                                                    AS ces_n,
    if(s_nps_n = 0, NULL, (toInt64(s_nps_promoters) - toInt64(s_nps_detractors)) / s_nps_n * 100) AS nps,
    s_nps_n                                                                                    AS nps_n,
    if(s_resolutions = 0, NULL, s_fcr_yes / s_resolutions * 100)                               AS fcr,
    s_resolutions                                                                              AS fcr_n,
    if(s_fcrs_n = 0, NULL, s_fcrs_yes / s_fcrs_n * 100)                                        AS fcr_survey,
    s_fcrs_n                                                                                   AS fcr_survey_n,
    if(s_ivr_n = 0, NULL, s_ivr_contained / s_ivr_n * 100)                                     AS ivr_containment,
    s_ivr_n                                                                                    AS ivr_containment_n
FROM
(
    SELECT
        scope,
        sum(offered) AS s_offered,
        sum(ivr_n) AS s_ivr_n,
        sum(ivr_contained) AS s_ivr_contained,
        sum(answered) AS s_answered,
        sum(ended) AS s_ended,
        sum(handle_ms) AS s_handle_ms,
        sum(csat_n) AS s_csat_n,
        sum(csat_top2) AS s_csat_top2,
        sum(ces_n) AS s_ces_n,
        sum(ces_points) AS s_ces_points,
        sum(nps_n) AS s_nps_n,
        sum(nps_promoters) AS s_nps_promoters,
        sum(nps_detractors) AS s_nps_detractors,
        sum(fcrs_n) AS s_fcrs_n,
        sum(fcrs_yes) AS s_fcrs_yes,
        sum(abandoned) AS s_abandoned,
        sum(short_abandoned) AS s_short_abandoned,
        sum(answers_in_sl) AS s_answers_in_sl,
        sum(wait_n) AS s_wait_n,
        sum(wait_ms_sum) AS s_wait_ms_sum,
        sum(frt_n) AS s_frt_n,
        sum(frt_ms_sum) AS s_frt_ms_sum,
        sum(resolutions) AS s_resolutions,
        sum(fcr_yes) AS s_fcr_yes,
        groupArrayArray(frt_list) AS s_frt_list
    FROM kpi_scope_minute
    WHERE minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}
    GROUP BY scope
);

CREATE VIEW IF NOT EXISTS kpi_interval_15m AS
SELECT
    interval_start,
    scope,
    s_offered AS offered,                 s_offered AS offered_n,
    s_answered AS answered,               s_answered AS answered_n,
    s_abandoned AS abandoned,             s_abandoned AS abandoned_n,
    s_short_abandoned AS short_abandoned, s_short_abandoned AS short_abandoned_n,
    if(s_answered + s_abandoned = 0, NULL, s_abandoned / (s_answered + s_abandoned) * 100)     AS abandon_rate,
    s_answered + s_abandoned                                                                   AS abandon_rate_n,
    if(s_answered + s_abandoned = 0, NULL, s_answers_in_sl / (s_answered + s_abandoned) * 100) AS service_level,
    s_answered + s_abandoned                                                                   AS service_level_n,
    if(s_wait_n = 0, NULL, s_wait_ms_sum / s_wait_n / 1000)                                    AS asa,
    s_wait_n                                                                                   AS asa_n,
    if(s_ended = 0, NULL, s_handle_ms / s_ended / 1000)                                        AS aht,
    s_ended                                                                                    AS aht_n,
    if(s_frt_n = 0, NULL, s_frt_ms_sum / s_frt_n / 1000)                                       AS frt,
    s_frt_n                                                                                    AS frt_n,
    if(s_frt_n = 0, NULL, arraySort(s_frt_list)[intDiv(90 * s_frt_n + 99, 100)] / 1000)        AS frt_p90,
    s_frt_n                                                                                    AS frt_p90_n,
    if(s_csat_n = 0, NULL, s_csat_top2 / s_csat_n * 100)                                       AS csat,
    s_csat_n                                                                                   AS csat_n,
    if(s_ces_n = 0, NULL, s_ces_points / s_ces_n / 6 * 100)                                    AS ces,
    s_ces_n                                                                                    AS ces_n,
    if(s_nps_n = 0, NULL, (toInt64(s_nps_promoters) - toInt64(s_nps_detractors)) / s_nps_n * 100) AS nps,
    s_nps_n                                                                                    AS nps_n,
    if(s_resolutions = 0, NULL, s_fcr_yes / s_resolutions * 100)                               AS fcr,
    s_resolutions                                                                              AS fcr_n,
    if(s_fcrs_n = 0, NULL, s_fcrs_yes / s_fcrs_n * 100)                                        AS fcr_survey,
    s_fcrs_n                                                                                   AS fcr_survey_n,
    if(s_ivr_n = 0, NULL, s_ivr_contained / s_ivr_n * 100)                                     AS ivr_containment,
    s_ivr_n                                                                                    AS ivr_containment_n
FROM
(
    SELECT
        toStartOfFifteenMinutes(minute) AS interval_start,
        scope,
        sum(offered) AS s_offered,
        sum(ivr_n) AS s_ivr_n,
        sum(ivr_contained) AS s_ivr_contained,
        sum(answered) AS s_answered,
        sum(ended) AS s_ended,
        sum(handle_ms) AS s_handle_ms,
        sum(csat_n) AS s_csat_n,
        sum(csat_top2) AS s_csat_top2,
        sum(ces_n) AS s_ces_n,
        sum(ces_points) AS s_ces_points,
        sum(nps_n) AS s_nps_n,
        sum(nps_promoters) AS s_nps_promoters,
        sum(nps_detractors) AS s_nps_detractors,
        sum(fcrs_n) AS s_fcrs_n,
        sum(fcrs_yes) AS s_fcrs_yes,
        sum(abandoned) AS s_abandoned,
        sum(short_abandoned) AS s_short_abandoned,
        sum(answers_in_sl) AS s_answers_in_sl,
        sum(wait_n) AS s_wait_n,
        sum(wait_ms_sum) AS s_wait_ms_sum,
        sum(frt_n) AS s_frt_n,
        sum(frt_ms_sum) AS s_frt_ms_sum,
        sum(resolutions) AS s_resolutions,
        sum(fcr_yes) AS s_fcr_yes,
        groupArrayArray(frt_list) AS s_frt_list
    FROM kpi_scope_minute
    GROUP BY interval_start, scope
);

CREATE VIEW IF NOT EXISTS kpi_daily AS
SELECT
    day,
    scope,
    s_offered AS offered,                 s_offered AS offered_n,
    s_answered AS answered,               s_answered AS answered_n,
    s_abandoned AS abandoned,             s_abandoned AS abandoned_n,
    s_short_abandoned AS short_abandoned, s_short_abandoned AS short_abandoned_n,
    if(s_answered + s_abandoned = 0, NULL, s_abandoned / (s_answered + s_abandoned) * 100)     AS abandon_rate,
    s_answered + s_abandoned                                                                   AS abandon_rate_n,
    if(s_answered + s_abandoned = 0, NULL, s_answers_in_sl / (s_answered + s_abandoned) * 100) AS service_level,
    s_answered + s_abandoned                                                                   AS service_level_n,
    if(s_wait_n = 0, NULL, s_wait_ms_sum / s_wait_n / 1000)                                    AS asa,
    s_wait_n                                                                                   AS asa_n,
    if(s_ended = 0, NULL, s_handle_ms / s_ended / 1000)                                        AS aht,
    s_ended                                                                                    AS aht_n,
    if(s_frt_n = 0, NULL, s_frt_ms_sum / s_frt_n / 1000)                                       AS frt,
    s_frt_n                                                                                    AS frt_n,
    if(s_frt_n = 0, NULL, arraySort(s_frt_list)[intDiv(90 * s_frt_n + 99, 100)] / 1000)        AS frt_p90,
    s_frt_n                                                                                    AS frt_p90_n,
    if(s_csat_n = 0, NULL, s_csat_top2 / s_csat_n * 100)                                       AS csat,
    s_csat_n                                                                                   AS csat_n,
    if(s_ces_n = 0, NULL, s_ces_points / s_ces_n / 6 * 100)                                    AS ces,
    s_ces_n                                                                                    AS ces_n,
    if(s_nps_n = 0, NULL, (toInt64(s_nps_promoters) - toInt64(s_nps_detractors)) / s_nps_n * 100) AS nps,
    s_nps_n                                                                                    AS nps_n,
    if(s_resolutions = 0, NULL, s_fcr_yes / s_resolutions * 100)                               AS fcr,
    s_resolutions                                                                              AS fcr_n,
    if(s_fcrs_n = 0, NULL, s_fcrs_yes / s_fcrs_n * 100)                                        AS fcr_survey,
    s_fcrs_n                                                                                   AS fcr_survey_n,
    if(s_ivr_n = 0, NULL, s_ivr_contained / s_ivr_n * 100)                                     AS ivr_containment,
    s_ivr_n                                                                                    AS ivr_containment_n
FROM
(
    SELECT
        toDate(minute, {tz:String}) AS day,
        scope,
        sum(offered) AS s_offered,
        sum(ivr_n) AS s_ivr_n,
        sum(ivr_contained) AS s_ivr_contained,
        sum(answered) AS s_answered,
        sum(ended) AS s_ended,
        sum(handle_ms) AS s_handle_ms,
        sum(csat_n) AS s_csat_n,
        sum(csat_top2) AS s_csat_top2,
        sum(ces_n) AS s_ces_n,
        sum(ces_points) AS s_ces_points,
        sum(nps_n) AS s_nps_n,
        sum(nps_promoters) AS s_nps_promoters,
        sum(nps_detractors) AS s_nps_detractors,
        sum(fcrs_n) AS s_fcrs_n,
        sum(fcrs_yes) AS s_fcrs_yes,
        sum(abandoned) AS s_abandoned,
        sum(short_abandoned) AS s_short_abandoned,
        sum(answers_in_sl) AS s_answers_in_sl,
        sum(wait_n) AS s_wait_n,
        sum(wait_ms_sum) AS s_wait_ms_sum,
        sum(frt_n) AS s_frt_n,
        sum(frt_ms_sum) AS s_frt_ms_sum,
        sum(resolutions) AS s_resolutions,
        sum(fcr_yes) AS s_fcr_yes,
        groupArrayArray(frt_list) AS s_frt_list
    FROM kpi_scope_minute
    GROUP BY day, scope
);

CREATE VIEW IF NOT EXISTS kpi_agent_states_now AS
SELECT
    agent_id,
    argMaxMerge(state) AS state,
    argMaxMerge(team) AS team,
    argMaxMerge(queue) AS queue,
    argMaxMerge(channel) AS channel,
    maxMerge(last_at) AS since
FROM kpi_agent_state
GROUP BY agent_id;

CREATE VIEW IF NOT EXISTS kpi_waiting_now AS
SELECT
    contact_id,
    last.3 AS queue, last.4 AS team, last.5 AS channel,
    fromUnixTimestamp64Milli(last.2, 'UTC') AS offered_at,
    (toUnixTimestamp64Milli(now64(3)) - last.2) / 1000 AS waiting_s
FROM
(
    SELECT
        contact_id,
        argMax((CAST(type AS String), toUnixTimestamp64Milli(occurred_at), CAST(queue AS String), CAST(team AS String),
                CAST(channel AS String)), (occurred_at, type != 'contact.offered')) AS last
    FROM events
    WHERE type IN ('contact.offered', 'contact.answered', 'contact.abandoned', 'contact.ended')
      AND occurred_at >= now64(3) - INTERVAL 24 HOUR AND occurred_at <= now64(3)
      AND contact_id != ''
    GROUP BY contact_id
    HAVING last.1 = 'contact.offered'
);
