// Keeps refused input in ClickHouse `rejected_events`, so an integrator can see what went wrong and nothing sent
// to Nabız disappears without a trace; and reads it back for them (GET /v1/events/rejected).
import type { ClickHouseClient } from '@clickhouse/client';
import type { FieldError } from './contract.ts';
import { ApiError } from '../errors.ts';
import { Coalescer } from './coalesce.ts';
import { chTime } from '../clickhouse/time.ts';

export const MAX_RAW_CHARS = 64 * 1024;

export interface RejectedItem {
  index: number;
  id: string | null;
  errors: FieldError[];
  raw: string;
}

type RejectedRow = Record<string, unknown> & { raw: string };

/** The raw text a coalesced insert of refused input holds at most (a row keeps up to 64 KiB of it). */
const MAX_INSERT_RAW_CHARS = 16 * 1024 * 1024;

/**
 * Writes refused input to rejected_events, coalescing concurrent requests' rows into few inserts (coalesce.ts): a
 * sender whose every request holds a bad event must not cost an insert, a new part, per request. Each request is
 * answered once its rows are stored.
 */
export class RejectedWriter {
  private readonly rows: Coalescer<RejectedRow[], undefined>;

  constructor(clickhouse: ClickHouseClient) {
    this.rows = new Coalescer(
      async (batch) => {
        await clickhouse.insert({ table: 'rejected_events', format: 'JSONEachRow', values: batch.flat() });
        return { results: batch.map(() => undefined) };
      },
      {
        maxSize: MAX_INSERT_RAW_CHARS,
        sizeOf: (rows) => rows.reduce((n, r) => n + r.raw.length, 0),
        closedError: () => new Error('the server is shutting down'),
      },
    );
  }

  async store(items: RejectedItem[], meta: { requestId: string; source: string; keyId: string; keyName: string; receivedAt: number }): Promise<void> {
    if (items.length === 0) return;
    await this.rows.submit(
      items.map((item) => ({
        received_at: chTime(meta.receivedAt),
        request_id: meta.requestId,
        source: meta.source,
        key_name: meta.keyName,
        key_id: meta.keyId,
        item_index: item.index,
        event_id: item.id ?? '',
        reasons: item.errors.map((e) => `${e.path || '/'}: ${e.message}`),
        raw: item.raw.length > MAX_RAW_CHARS ? item.raw.slice(0, MAX_RAW_CHARS) : item.raw,
      })),
    );
  }

  /** Stops taking rows and waits until everything queued is written. */
  close(): Promise<void> {
    return this.rows.close();
  }
}

export interface RejectedRecord {
  receivedAt: string;
  requestId: string;
  /** Position in the request (NDJSON: the line from 0); -1 when the whole body was refused. */
  index: number;
  id: string | null;
  reasons: string[];
  raw: string;
}

/** Where a page of `listRejected` ends: the next page starts strictly after (before, in time) this row. */
export interface RejectedCursor {
  receivedAt: string;
  requestId: string;
  index: number;
}

/**
 * The rejections of one ingest key (its source and name), newest first, received at or after `since`, at most `limit`,
 * starting after `before` (the previous page's last row).
 */
export async function listRejected(
  clickhouse: ClickHouseClient,
  opts: { source: string; keyId: string; keyName: string; since: number; limit: number; before?: RejectedCursor },
): Promise<RejectedRecord[]> {
  const rs = await clickhouse.query({
    query: `
      SELECT received_at, request_id, item_index, event_id, reasons, raw
      FROM rejected_events
      WHERE source = {source:String} AND received_at >= {since:DateTime64(3, 'UTC')}
        AND (key_id = {key_id:String} OR (key_id = '' AND key_name = {key:String})) -- rows from before 020: by name
        ${opts.before ? "AND (received_at, request_id, item_index) < ({b_at:DateTime64(3, 'UTC')}, {b_request:String}, {b_index:Int32})" : ''}
      ORDER BY received_at DESC, request_id DESC, item_index DESC
      LIMIT {limit:UInt32}`,
    query_params: {
      source: opts.source,
      key: opts.keyName,
      key_id: opts.keyId,
      since: chTime(opts.since),
      limit: opts.limit,
      ...(opts.before ? { b_at: chTime(Date.parse(opts.before.receivedAt)), b_request: opts.before.requestId, b_index: opts.before.index } : {}),
    },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ received_at: string; request_id: string; item_index: number; event_id: string; reasons: string[]; raw: string }>();
  return rows.map((r) => ({
    receivedAt: new Date(r.received_at).toISOString(),
    requestId: r.request_id,
    index: Number(r.item_index),
    id: r.event_id === '' ? null : r.event_id,
    reasons: r.reasons,
    raw: r.raw,
  }));
}

/** The `next` of a page: opaque to the caller. */
export function encodeCursor(c: RejectedCursor): string {
  return Buffer.from(JSON.stringify([c.receivedAt, c.requestId, c.index])).toString('base64url');
}

/** A `before` from the caller: a cursor this API gave out, else a 400 naming the field. */
export function decodeCursor(text: string): RejectedCursor {
  try {
    const [receivedAt, requestId, index] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof receivedAt === 'string' && !Number.isNaN(Date.parse(receivedAt)) && typeof requestId === 'string' && Number.isInteger(index)) {
      return { receivedAt, requestId, index: index as number };
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError(400, 'bad_request', 'querystring/before is not a cursor from a previous answer (its `next`)', [{ path: '/before', message: 'is not a cursor from a previous answer' }]);
}
