// Per-queue KPI settings (kpi_queue_settings): service-level threshold and target, short-abandon threshold.
// The `*` row holds the defaults; the worker writes it from the configuration at start, so the API, the worker and the
// analyst views all read the same thresholds from ClickHouse.
import type { ClickHouseClient } from '@clickhouse/client';
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
    updatedAt: `${r.at.replace(' ', 'T')}Z`,
  }));
}
