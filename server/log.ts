// The process logger (pino, as Fastify uses). Credentials are redacted wherever they could appear.
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-clickhouse-key"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'key',
  '*.key',
];

export type Log = Logger;

/** Query-string parameters that carry credentials: never written to a log line. */
const SECRET_QUERY_PARAMS = /([?&](?:display|token|key|password)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[redacted]');
}

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  id?: string;
}

const serializers = {
  // Fastify's default request serializer logs the whole URL; this one strips credentials from it.
  req: (req: LoggedRequest) => ({ id: req.id, method: req.method, url: redactUrl(req.url ?? ''), remoteAddress: req.ip }),
};

/**
 * Writes to stdout synchronously. pino's default, asynchronous writes lost lines whenever the reader of stdout fell
 * behind (a pipe full: measured, 15 of 5,000 lines lost and one cut in two, and the last lines before an exit), so a
 * shutdown's own log could go missing. A line is written before the call returns; the price is that a reader that
 * stops reading holds the process up, as it would any program writing to it. Nabız logs little: a line per request
 * only at debug for event posts and probes (access-log.ts).
 */
const stdout = () => pino.destination({ dest: 1, sync: true });

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: NodeJS.WritableStream): Log {
  return pino(
    { level: config.LOG_LEVEL, serializers, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'nabiz' } },
    (destination as pino.DestinationStream | undefined) ?? stdout(),
  );
}
