// Which settings the engine runs with, and which URL parameters are settings at all. (No chdb import here: the
// spawner uses this module without loading the engine.)

/** Queries running at once, each on its own engine connection. */
export const DEFAULT_CONNECTIONS = 8;
/**
 * Connections a read-only user (the analyst) can never take: however many long queries analysts run at once, ingest,
 * the KPI worker and the API always find this many free. An analyst's query beyond the others' share waits its turn.
 */
export const RESERVED_FOR_WRITERS = 2;

/**
 * Engine settings pinned on every connection so that the embedded engine (ClickHouse 26.x) behaves like a production
 * server for what the application relies on. They are given as connection arguments, so `SET x = DEFAULT` would NOT
 * restore them (it restores the engine's built-in default) — one more reason each request gets a fresh connection.
 * `date_time_input_format` is deliberately not pinned: the engine default (best_effort) is what the app was tested with.
 */
export const PINNED_ENGINE_SETTINGS: Readonly<Record<string, string>> = {
  // 64-bit integers as JSON strings: the server default, which 26.x's local mode turned off.
  output_format_json_quote_64bit_integers: '1',
  // Synchronous inserts: an acknowledged insert is written (26.x defaults to async_insert=1).
  async_insert: '0',
};

/** URL parameters with a meaning of their own on the HTTP interface, never passed to the engine as settings. */
const HTTP_PARAMETERS = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'quota_key', 'session_id', 'session_timeout',
  'session_check', 'role', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'stacktrace',
]);

/**
 * Settings only the HTTP layer of a real server understands (the engine rejects or ignores them). Dropped silently;
 * `enable_http_compression` and `http_zlib_compression_level` are read by this server itself.
 */
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms',
  'add_http_cors_header', 'cancel_http_readonly_queries_on_client_close', 'http_wait_end_of_query',
  'http_response_buffer_size', 'http_write_exception_in_output_format',
]);

/** True when a URL parameter is neither an HTTP parameter nor an HTTP-only setting: it goes to the engine. */
export function isEngineSetting(name: string): boolean {
  return !HTTP_PARAMETERS.has(name) && !HTTP_ONLY_SETTINGS.has(name) && !name.startsWith('http_') && !name.startsWith('param_');
}
