// Per-queue KPI settings (kpi_queue_settings): service-level threshold and target, short-abandon threshold.
// The `*` row holds the defaults; the worker writes it from the configuration at start, so the API, the worker and the
// analyst views all read the same thresholds from ClickHouse.
import type { ClickHouseClient } from '@clickhouse/client';
import { chIso } from '../clickhouse/time.ts';
import type { Config } from '../config.ts';

export interface QueueSettingsInput {
  slThresholdS: number;
  slTargetPct: number;
  shortAbandonS: number;
}

export function defaultQueueSettings(config: Pick<Config, 'KPI_SL_THRESHOLD_S' | 'KPI_SL_TARGET_PCT' | 'KPI_SHORT_ABANDON_S'>): QueueSettingsInput {
  return { slThresholdS: config.KPI_SL_THRESHOLD_S, slTargetPct: config.KPI_SL_TARGET_PCT, shortAbandonS: config.KPI_SHORT_ABANDON_S };
}

/** Sets a queue's thresholds (`*`: the defaults). Takes effect at the next recomputation, for history too. */
export async function setQueueSettings(ch: ClickHouseClient, queue: string, s: QueueSettingsInput): Promise<void> {
  if (!(s.slThresholdS >= 0 && s.shortAbandonS >= 0 && s.slTargetPct > 0 && s.slTargetPct < 100)) {
    throw new RangeError(`invalid KPI settings for queue ${JSON.stringify(queue)}: ${JSON.stringify(s)}`);
  }
  await ch.command({
    query: `INSERT INTO kpi_queue_settings (queue, sl_threshold_ms, sl_target_pct, short_abandon_ms, updated_at)
            SELECT {queue:String}, {t:UInt32}, {target:Float64}, {short:UInt32}, now64(3, 'UTC')`,
    query_params: {
      queue,
      t: Math.round(s.slThresholdS * 1000),
      target: s.slTargetPct,
      short: Math.round(s.shortAbandonS * 1000),
    },
  });
}

/** Writes the configured defaults as the `*` row unless it already says the same. */
export async function syncDefaultQueueSettings(ch: ClickHouseClient, config: Parameters<typeof defaultQueueSettings>[0]): Promise<void> {
  const want = defaultQueueSettings(config);
  const rs = await ch.query({
    query: `SELECT argMax(sl_threshold_ms, updated_at) AS t, argMax(sl_target_pct, updated_at) AS target,
                   argMax(short_abandon_ms, updated_at) AS short, count() AS n
            FROM kpi_queue_settings WHERE queue = '*'`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ t: number; target: number; short: number; n: string | number }>();
  if (
    row &&
    Number(row.n) > 0 &&
    Number(row.t) === Math.round(want.slThresholdS * 1000) &&
    Number(row.target) === want.slTargetPct &&
    Number(row.short) === Math.round(want.shortAbandonS * 1000)
  ) {
    return;
  }
  await setQueueSettings(ch, '*', want);
}

export interface QueueSettings extends QueueSettingsInput {
  /** A queue name, or `*` for the defaults. */
  queue: string;
  updatedAt: string;
}

/** The settings in force: the `*` defaults and each queue that has its own. */
export async function listQueueSettings(ch: ClickHouseClient): Promise<QueueSettings[]> {
  const rs = await ch.query({
    query: `SELECT queue, argMax(sl_threshold_ms, updated_at) AS t, argMax(sl_target_pct, updated_at) AS target,
                   argMax(short_abandon_ms, updated_at) AS short, toString(max(updated_at)) AS at
            FROM kpi_queue_settings GROUP BY queue ORDER BY queue`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ queue: string; t: number; target: number; short: number; at: string }>()).map((r) => ({
    queue: r.queue,
    slThresholdS: Number(r.t) / 1000,
    slTargetPct: Number(r.target),
    shortAbandonS: Number(r.short) / 1000,
    updatedAt: chIso(r.at),
  }));
}

/**
 * The time of a settings row that must come after the table's latest one, though written in the same millisecond (the
 * latest row wins: argMax(…, updated_at)). Used as a column of `INSERT … SELECT … FROM <the settings table>`.
 */
const AFTER_LATEST = "greatest(now64(3, 'UTC'), max(updated_at) + toIntervalMillisecond(1))";

// The live figures' settings (kpi_agent_settings; sql/013_agent_state_cutoff.sql, sql/015_waiting_lookback.sql):
// - the agent-state cutoff: an agent whose latest agent.state is at least this many hours old counts as offline (0: never);
// - the waiting look-back: offers older than this many hours are not looked at for the waiting contacts.
// The worker writes AGENT_STATE_MAX_HOURS and WAITING_LOOKBACK_HOURS there at start, as it writes the thresholds'
// defaults, so the API's figures (compute.ts reads the cutoff in the same query) and the analyst views
// kpi_agent_states_now and kpi_waiting_now apply the values the worker's rollup applies. The latest row holds both.

export interface LiveSettings {
  agentStateMaxHours: number;
  waitingLookbackHours: number;
}

/** Sets the given live settings (the others keep their value). Takes effect at the next figure computed from ClickHouse. */
export async function setLiveSettings(ch: ClickHouseClient, s: Partial<LiveSettings>): Promise<void> {
  const { agentStateMaxHours: a, waitingLookbackHours: w } = s;
  if (a !== undefined && !(Number.isInteger(a) && a >= 0 && a <= 65_535)) throw new RangeError(`invalid agent-state cutoff: ${a} hours`);
  if (w !== undefined && !(Number.isInteger(w) && w >= 1 && w <= 65_535)) throw new RangeError(`invalid waiting look-back: ${w} hours`);
  await ch.command({
    query: `INSERT INTO kpi_agent_settings (agent_state_max_hours, waiting_lookback_hours, updated_at)
            SELECT ifNull({a:Nullable(UInt16)}, argMax(agent_state_max_hours, updated_at)),
                   ifNull({w:Nullable(UInt16)}, argMax(waiting_lookback_hours, updated_at)),
                   ${AFTER_LATEST}
            FROM kpi_agent_settings`,
    query_params: { a: a ?? null, w: w ?? null },
  });
}

/** The live settings in force. */
export async function readLiveSettings(ch: ClickHouseClient): Promise<LiveSettings> {
  const rs = await ch.query({
    query: `SELECT argMax(agent_state_max_hours, updated_at) AS a, argMax(waiting_lookback_hours, updated_at) AS w FROM kpi_agent_settings`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ a: number; w: number }>();
  return { agentStateMaxHours: Number(row!.a), waitingLookbackHours: Number(row!.w) };
}

/** Writes AGENT_STATE_MAX_HOURS and WAITING_LOOKBACK_HOURS as the live settings in force unless they already are. */
export async function syncLiveSettings(ch: ClickHouseClient, config: Pick<Config, 'AGENT_STATE_MAX_HOURS' | 'WAITING_LOOKBACK_HOURS'>): Promise<void> {
  const want = { agentStateMaxHours: config.AGENT_STATE_MAX_HOURS, waitingLookbackHours: config.WAITING_LOOKBACK_HOURS };
  const have = await readLiveSettings(ch);
  if (have.agentStateMaxHours === want.agentStateMaxHours && have.waitingLookbackHours === want.waitingLookbackHours) return;
  await setLiveSettings(ch, want);
}

// What the stored measures were computed with (kpi_measure_settings, sql/016_measure_settings.sql): the KPI worker
// rebuilds them when its FCR_LOOKBACK_DAYS or the definition's version (MEASURES_DEFINITION) differs, then records them.

export interface MeasureSettings {
  fcrLookbackDays: number;
  definition: number;
}

/** What kpi_measures was computed with; null when nothing is recorded (a new installation). */
export async function readMeasureSettings(ch: ClickHouseClient): Promise<MeasureSettings | null> {
  const rs = await ch.query({
    query: `SELECT argMax(fcr_lookback_days, updated_at) AS days, argMax(definition, updated_at) AS definition, count() AS n FROM kpi_measure_settings`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ days: number; definition: number; n: string | number }>();
  return row && Number(row.n) > 0 ? { fcrLookbackDays: Number(row.days), definition: Number(row.definition) } : null;
}

export async function writeMeasureSettings(ch: ClickHouseClient, s: MeasureSettings): Promise<void> {
  await ch.command({
    query: `INSERT INTO kpi_measure_settings (fcr_lookback_days, definition, updated_at)
            SELECT {days:UInt16}, {definition:UInt32}, ${AFTER_LATEST} FROM kpi_measure_settings`,
    query_params: { days: s.fcrLookbackDays, definition: s.definition },
  });
}

// The center's time zone (kpi_center_settings, read through the view kpi_center; sql/021_center_time_zone.sql): the
// worker writes its CENTER_TZ there at start, so that analysts' local days are the wallboards' ones.

/** The center's time zone as stored. */
export async function readCenterTimeZone(ch: ClickHouseClient): Promise<string> {
  const rs = await ch.query({ query: 'SELECT time_zone FROM kpi_center', format: 'JSONEachRow' });
  const [row] = await rs.json<{ time_zone: string }>();
  return row!.time_zone;
}

/** Writes CENTER_TZ as the center's time zone unless it already is. */
export async function syncCenterTimeZone(ch: ClickHouseClient, config: Pick<Config, 'CENTER_TZ'>): Promise<void> {
  if ((await readCenterTimeZone(ch)) === config.CENTER_TZ) return;
  await ch.command({
    query: `INSERT INTO kpi_center_settings (time_zone, updated_at) SELECT {tz:String}, ${AFTER_LATEST} FROM kpi_center_settings`,
    query_params: { tz: config.CENTER_TZ },
  });
}
