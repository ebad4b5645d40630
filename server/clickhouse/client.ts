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

/**
 * For a client whose requests may last minutes (a backup, a bulk load): a server then sends progress headers while it
 * works, so that no proxy between takes the connection for idle (the embedded server, on loopback, ignores them).
 */
const KEEP_ALIVE_SETTINGS: ClickHouseSettings = { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '50000' };

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

/**
 * Credentials in the URL (`http://user:password@host:8123`, as CLICKHOUSE_URL or the embedded server's `url` carry
 * them) win over `username` and `password`, as in @clickhouse/client; they are moved out of the URL here, so that the
 * client does not warn that they override ours.
 */
function withUrlCredentials(target: ClickHouseTarget): { url: string; username: string; password: string } {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return target; // the client reports a malformed URL
  }
  if (url.username === '' && url.password === '') return target;
  const username = url.username === '' ? target.username : decodeURIComponent(url.username);
  const password = url.password === '' ? target.password : decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { url: url.href, username, password };
}

export function createClickHouse(
  target: ClickHouseTarget,
  opts: { requestTimeoutMs?: number; maxConnections?: number; log?: Log } = {},
): ClickHouseClient {
  const { url, username, password } = withUrlCredentials(target);
  return createClient({
    url,
    database: target.database,
    username,
    password,
    application: 'nabiz',
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    max_open_connections: opts.maxConnections ?? 10,
    compression: { request: false, response: false },
    clickhouse_settings: { ...PINNED_SETTINGS, ...(opts.requestTimeoutMs !== undefined && opts.requestTimeoutMs > 60_000 ? KEEP_ALIVE_SETTINGS : {}) },
    // Without a log (the CLI, migrations) the client says nothing itself: every failure reaches its caller, which
    // reports it once, instead of a dump on the console beside the caller's own message.
    log: opts.log ? { LoggerClass: clientLogger(opts.log), level: ClickHouseLogLevel.WARN } : { level: ClickHouseLogLevel.OFF },
  });
}
