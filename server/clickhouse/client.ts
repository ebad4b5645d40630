// The one way the application talks to ClickHouse: @clickhouse/client, against the embedded server or a real one.
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings, type Logger } from '@clickhouse/client';
import type { Log } from '../log.ts';

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

/**
 * The client's own log lines, into the process log. A failed query is also thrown to its caller, which decides what it
 * means (a refused duplicate batch is routine, sql/009_ingest_check.sql), so the client's report of it is debug.
 */
function clientLogger(log: Log): new () => Logger {
  const line = (level: 'debug' | 'warn' | 'error', p: { module: string; message: string; args?: Record<string, unknown>; err?: Error }) =>
    log[level]({ module: p.module, ...(p.args ? { args: p.args } : {}), ...(p.err ? { err: p.err } : {}) }, `clickhouse client: ${p.message}`);
  return class implements Logger {
    trace(p: Parameters<Logger['trace']>[0]) {
      line('debug', p);
    }
    debug(p: Parameters<Logger['debug']>[0]) {
      line('debug', p);
    }
    info(p: Parameters<Logger['info']>[0]) {
      line('debug', p);
    }
    warn(p: Parameters<Logger['warn']>[0]) {
      line('warn', p);
    }
    error(p: Parameters<Logger['error']>[0]) {
      line(p.err instanceof ClickHouseError ? 'debug' : 'error', p);
    }
  };
}

export function createClickHouse(
  target: ClickHouseTarget,
  opts: { requestTimeoutMs?: number; maxConnections?: number; log?: Log } = {},
): ClickHouseClient {
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
    ...(opts.log ? { log: { LoggerClass: clientLogger(opts.log), level: ClickHouseLogLevel.WARN } } : {}),
  });
}
