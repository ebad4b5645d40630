// Retention (RETENTION_DAYS): events older than it are refused at ingest, and the daily `retention` job of the KPI
// worker (server/kpi/pipeline.ts) drops them from storage, with what was derived from them and what ingest refused:
// - month-partitioned tables lose every month wholly older than the cutoff (DROP PARTITION: instant, no rewrite);
// - `event_ids` (ordered for look-ups, not partitioned) loses its rows older than the cutoff by a lightweight DELETE.
//   An id older than the retention need not be known: an event that old is refused before any duplicate check.
// Kept whatever their age: the alerts' history and the audit log (their own records, small), the latest state of each
// agent, and settings.
import type { ClickHouseClient } from '@clickhouse/client';
import { chTime } from './clickhouse/time.ts';

/** The month-partitioned tables retention applies to (each is partitioned by toYYYYMM of an event or arrival time). */
const MONTHLY_TABLES = ['events', 'kpi_measures', 'kpi_contact_events', 'kpi_customer_events', 'rejected_events'];

/** Drops what is older than `retentionDays` before `now`; returns what it dropped ("table/partition", "event_ids/<n> rows"). */
export async function applyRetention(ch: ClickHouseClient, retentionDays: number, now: number): Promise<string[]> {
  const cutoff = new Date(now - retentionDays * 86_400_000);
  // A month partition is dropped once all of it is older than the cutoff: every month before the cutoff's month.
  const cutoffMonth = cutoff.getUTCFullYear() * 100 + cutoff.getUTCMonth() + 1;
  const rs = await ch.query({
    query: `SELECT DISTINCT table, partition_id FROM system.parts
            WHERE database = currentDatabase() AND active AND table IN {tables:Array(String)}`,
    query_params: { tables: MONTHLY_TABLES },
    format: 'JSONEachRow',
  });
  const dropped: string[] = [];
  for (const { table, partition_id } of await rs.json<{ table: string; partition_id: string }>()) {
    if (!/^\d{6}$/.test(partition_id) || Number(partition_id) >= cutoffMonth) continue;
    await ch.command({ query: 'ALTER TABLE {t:Identifier} DROP PARTITION ID {p:String}', query_params: { t: table, p: partition_id } });
    dropped.push(`${table}/${partition_id}`);
  }
  const at = { cutoff: chTime(cutoff.getTime()) };
  const old = await ch.query({
    query: `SELECT count() AS n FROM event_ids WHERE occurred_at < {cutoff:DateTime64(3, 'UTC')}`,
    query_params: at,
    format: 'JSONEachRow',
  });
  const n = Number((await old.json<{ n: string }>())[0]?.n ?? 0);
  if (n > 0) {
    await ch.command({ query: `DELETE FROM event_ids WHERE occurred_at < {cutoff:DateTime64(3, 'UTC')}`, query_params: at });
    dropped.push(`event_ids/${n} rows`);
  }
  return dropped;
}
