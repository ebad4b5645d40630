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

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: NodeJS.WritableStream): Log {
  return pino(
    { level: config.LOG_LEVEL, serializers, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'nabiz' } },
    destination as pino.DestinationStream | undefined,
  );
}
