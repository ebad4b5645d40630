// The one way the application talks to ClickHouse: @clickhouse/client, against the embedded server or a real one.
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';

/**
 * Settings pinned on every query so that the embedded engine (ClickHouse 26.x) and a production server of another
 * version behave the same way for the application.
 */
export const PINNED_SETTINGS: ClickHouseSettings = {
  // 64-bit integers come back as JSON strings (the server default); the app parses them explicitly.
  output_format_json_quote_64bit_integers: 1,
  // Inserts are synchronous: an acknowledged insert is stored, and errors surface to the caller.
  async_insert: 0,
  date_time_output_format: 'iso',
};

export interface ClickHouseTarget {
  url: string;
  database: string;
  username: string;
  password: string;
}

export function createClickHouse(target: ClickHouseTarget, opts: { requestTimeoutMs?: number; maxConnections?: number } = {}): ClickHouseClient {
  return createClient({
    url: target.url,
    database: target.database,
    username: target.username,
    password: target.password,
    application: 'nabiz',
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    max_open_connections: opts.maxConnections ?? 10,
    compression: { request: false, response: false },
    clickhouse_settings: PINNED_SETTINGS,
  });
}
