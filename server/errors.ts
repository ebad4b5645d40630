// One error shape for every API answer: {error: {code, message, details?}}. 4xx are logged as warnings, 5xx as
// errors; a 5xx never shows internals to the caller.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isRedisUnavailable } from './redis/connections.ts';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What a 503 asks callers to wait before they retry, in seconds. */
export const RETRY_AFTER_S = '5';

/** A 503 `unavailable` with Retry-After: a dependency cannot answer now, and the same request may be sent again. */
export function unavailable(message: string): ApiError {
  return new ApiError(503, 'unavailable', message, undefined, { 'retry-after': RETRY_AFTER_S });
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_body',
  FST_ERR_VALIDATION: 'invalid_request',
};

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * A schema's refusals as `{path, message}`, each about the field it names: a field the schema does not know by its
 * name, a choice among literals as the values it takes ("must be one of today, 1h, 15m"), an unknown kind of a
 * discriminated union (boards/schema.ts) by its tag, a list's length in plain words, a repeated item by the two places
 * it is at.
 */
export function validationDetails(errors: readonly SchemaError[]): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const choices = new Map<string, string[]>();
  for (const v of errors) {
    const path = v.instancePath || '/';
    const p = v.params;
    if (v.keyword === 'const') {
      choices.set(path, [...(choices.get(path) ?? []), String(p.allowedValue)]);
    } else if (v.keyword === 'anyOf' && choices.has(path)) {
      // the const refusals above say it, together
    } else if (p.additionalProperty !== undefined) {
      out.push({ path: `${v.instancePath}/${String(p.additionalProperty)}`, message: 'is not a known field' });
    } else if (v.keyword === 'discriminator') {
      out.push({ path: `${v.instancePath}/${String(p.tag)}`, message: p.tagValue === undefined ? 'is required' : `${JSON.stringify(p.tagValue)} is not a known ${String(p.tag)}` });
    } else if (p.missingProperty !== undefined) {
      out.push({ path: `${v.instancePath}/${String(p.missingProperty)}`, message: 'is required' });
    } else if (v.keyword === 'minItems' || v.keyword === 'maxItems') {
      const n = Number(p.limit);
      out.push({ path, message: `must have ${v.keyword === 'minItems' ? 'at least' : 'at most'} ${n} ${n === 1 ? 'item' : 'items'}` });
    } else if (v.keyword === 'uniqueItems') {
      out.push({ path, message: `must not list the same item twice (items ${String(p.j)} and ${String(p.i)})` });
    } else {
      out.push({ path, message: v.message ?? 'is invalid' });
    }
  }
  for (const [path, values] of choices) out.push({ path, message: values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(', ')}` });
  return out;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) {
      // a refusal is the caller's (warn); a 503 is ours, though retryable (error)
      req.log[err.statusCode >= 500 ? 'error' : 'warn']({ code: err.code, statusCode: err.statusCode }, err.message);
      return reply.code(err.statusCode).headers(err.headers).send(errorBody(err.code, err.message, err.details));
    }
    if (isRedisUnavailable(err)) {
      // e.g. the per-key rate limit, sessions: retryable, not a bug
      req.log.error({ err }, 'request failed: Redis is unavailable');
      return reply.code(503).header('retry-after', RETRY_AFTER_S).send(errorBody('unavailable', 'Redis cannot be reached right now; retry later'));
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    const shaped = (err as unknown as Partial<ErrorBody>).error;
    if (status < 500 && shaped?.code) {
      // plugins that build our error body themselves (the rate limiter)
      req.log.warn({ code: shaped.code, statusCode: status }, shaped.message);
      return reply.code(status).send({ error: shaped });
    }
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send(errorBody('internal', 'internal server error'));
    }
    const details = err.validation ? validationDetails(err.validation) : undefined;
    const message = details ? details.map((d) => `${err.validationContext ?? ''}${d.path === '/' ? '' : d.path} ${d.message}`).join('; ') : err.message;
    req.log.warn({ code: err.code, statusCode: status }, message);
    const code = FASTIFY_CODES[err.code] ?? (status === 429 ? 'rate_limited' : status === 404 ? 'not_found' : 'bad_request');
    return reply.code(status).send(errorBody(code, message, details));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));
}
