// Keeps refused input in ClickHouse `rejected_events`, so an integrator can see what went wrong and nothing sent
// to Nabız disappears without a trace.
import type { ClickHouseClient } from '@clickhouse/client';
import type { FieldError } from './contract.ts';
import { chTime } from './rows.ts';

export const MAX_RAW_CHARS = 64 * 1024;

export interface RejectedItem {
  index: number;
  id: string | null;
  errors: FieldError[];
  raw: string;
}

export async function storeRejected(
  clickhouse: ClickHouseClient,
  items: RejectedItem[],
  meta: { requestId: string; source: string; keyName: string; receivedAt: number },
): Promise<void> {
  if (items.length === 0) return;
  await clickhouse.insert({
    table: 'rejected_events',
    format: 'JSONEachRow',
    values: items.map((item) => ({
      received_at: chTime(meta.receivedAt),
      request_id: meta.requestId,
      source: meta.source,
      key_name: meta.keyName,
      item_index: item.index,
      event_id: item.id ?? '',
      reasons: item.errors.map((e) => `${e.path || '/'}: ${e.message}`),
      raw: item.raw.length > MAX_RAW_CHARS ? item.raw.slice(0, MAX_RAW_CHARS) : item.raw,
    })),
  });
}
