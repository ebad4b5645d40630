-- 017: the analyst views leave out the minutes still ahead, as the wallboards do.
--
-- Why. An event may be stamped up to 5 minutes in the future (a sender's clock ahead of ours: the contract allows
-- it). The wallboards count it once its minute has begun: every window ends with the current minute
-- (server/kpi/live-rollup.ts). kpi_facts_minute had no upper bound, so kpi_interval_15m, kpi_daily and the console's
-- day report (which reads them) counted such an event minutes before the wallboards did, and kpi_period did too for a
-- `to` past the current minute.
--
-- Now kpi_facts_minute, which every KPI view reads (through kpi_scope_minute), ends with the current minute of the
-- ClickHouse server's clock. Its columns are unchanged; the measures themselves (kpi_measures, kpi_measures_v) still
-- hold every event.

CREATE OR REPLACE VIEW kpi_facts_minute AS
SELECT
    toStartOfMinute(toDateTime(at, 'UTC')) AS minute, CAST(queue AS String) AS queue, CAST(team AS String) AS team,
    CAST(channel AS String) AS channel, agent_id,
    toUInt64(sum(is_offer)) AS offered,
    toUInt64(sum(is_ivr)) AS ivr_n,
    toUInt64(sum(is_ivr_contained)) AS ivr_contained,
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
WHERE at < toStartOfMinute(now('UTC')) + INTERVAL 1 MINUTE
GROUP BY minute, queue, team, channel, agent_id;
