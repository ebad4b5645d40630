// POST /v1/events: where the ACD, the IVR and the CRM send their events (docs/events.md).
//   202 {accepted, duplicates}              every event stored, or already stored before (a retry)
//   422 {accepted, duplicates, rejected}    the valid events are stored; each invalid one is listed and kept
//   400 unparseable body · 401/403 key problems · 413 too large · 415 content type, charset or encoding · 429 rate ·
//   503 retry later
// POST /v1/events/check: the same body checked the same way, nothing stored or kept: what POST would answer.
// GET /v1/events/rejected: what the calling key sent that was refused, with the reasons and the raw text.
// GET /v1/events/schema: the contract as JSON Schema.
import rateLimit from '@fastify/rate-limit';
import type { ClickHouseClient } from '@clickhouse/client';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { IngestPrincipal } from '../auth/principal.ts';
import type { Config } from '../config.ts';
import { ApiError, errorBody, unavailable } from '../errors.ts';
import type { IngestMetrics } from '../metrics.ts';
import { EventSchema, SOURCES, validateEvent, type FieldError, type ValidEvent } from './contract.ts';
import { bodyText, type BodyText } from './body.ts';
import { parseBody, type ParsedItem } from './parse.ts';
import { decodeCursor, encodeCursor, listRejected, type RejectedItem, type RejectedWriter } from './rejected.ts';
import { WriteUnavailableError, type EventWriter } from './writer.ts';

export interface IngestDeps {
  config: Config;
  clickhouse: ClickHouseClient;
  redis: Redis;
  writer: EventWriter;
  rejectedWriter: RejectedWriter;
  metrics: IngestMetrics;
  /** The clock events are checked against (too old, in the future) and received by (tests). */
  now?: () => number;
}

const DAY_MS = 86_400_000;
const JSON_TYPE = 'application/json';
const NDJSON = 'application/x-ndjson';
/** Look-ups of rejected events one key may make per minute: enough for a person or a monitor, not for a tight loop. */
const REJECTED_READS_PER_MINUTE = 120;

const FieldErrors = Type.Array(Type.Object({ path: Type.String(), message: Type.String() }));
const Accepted = Type.Object({ accepted: Type.Integer(), duplicates: Type.Integer() });
const Partial = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), id: Type.Union([Type.String(), Type.Null()]), errors: FieldErrors })),
});
/** The contract as the OpenAPI document shows the request body (inline: without the $id it is published under). */
const { $id: _, ...EventContract } = EventSchema;

const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

export async function ingestRoutes(app: FastifyInstance, deps: IngestDeps): Promise<void> {
  const { config, clickhouse, writer, rejectedWriter, metrics } = deps;
  const clock = deps.now ?? Date.now;
  const sourceOf = (req: FastifyRequest) => (req.principal?.kind === 'ingest' ? req.principal.source : 'none');
  const count = (req: FastifyRequest, outcome: 'accepted' | 'duplicate' | 'rejected', n: number) => {
    if (n > 0) metrics.events.inc({ source: sourceOf(req), outcome }, n);
  };
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'POST' || req.routeOptions.url !== '/v1/events') return;
    const source = sourceOf(req);
    metrics.requests.inc({ source, status: String(reply.statusCode) });
    metrics.ackSeconds.observe({ source }, reply.elapsedTime / 1000);
  });

  // This scope parses its own bodies: a broken NDJSON line must reject that line, not the request.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([JSON_TYPE, NDJSON], { parseAs: 'buffer', bodyLimit: config.INGEST_MAX_BYTES }, (req: FastifyRequest, body: string | Buffer) =>
    bodyText(body as Buffer, req.headers, config.INGEST_MAX_BYTES),
  );
  // The refusals of a body Fastify makes before the route runs, said for this endpoint (nothing is read: nothing is
  // kept); everything else as everywhere (a rethrown non-Error, like the rate limiter's answer, would be sent as is).
  const answer = app.errorHandler;
  app.setErrorHandler(function ingestErrors(err: FastifyError, req, reply) {
    let said: FastifyError | ApiError = err;
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const type = JSON.stringify(req.headers['content-type'] ?? '');
      said = new ApiError(415, 'unsupported_media_type', `Content-Type ${type} is not taken here: send ${JSON_TYPE} (an event or an array of events) or ${NDJSON}`);
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      said = new ApiError(413, 'body_too_large', `the body is larger than ${config.INGEST_MAX_BYTES} bytes (INGEST_MAX_BYTES): split the events over several requests`);
    }
    return answer.call(this, said as FastifyError, req, reply);
  });

  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler', // after authentication, so the limit is per key
    redis: deps.redis,
    nameSpace: `${config.REDIS_PREFIX}:ratelimit:ingest:`,
    skipOnError: false,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      ...errorBody('rate_limited', `this ingest key may make ${ctx.max} requests a minute (INGEST_RATE_LIMIT_PER_MINUTE); retry in ${Math.ceil(ctx.ttl / 1000)} s`),
    }),
  });

  app.get('/v1/events/schema', { onRequest: app.auth.requireIngest(), schema: { tags: ['ingest'], summary: 'The event contract as JSON Schema' } }, async () => EventSchema);

  app.get(
    '/v1/events/rejected',
    {
      onRequest: app.auth.requireIngest(),
      config: {
        rateLimit: { max: REJECTED_READS_PER_MINUTE, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `rejected:${(req.principal as IngestPrincipal).keyId}` },
      },
      schema: {
        tags: ['ingest'],
        summary: 'What this key sent that was refused',
        description:
          "The events (and unparseable bodies) refused from requests made with the calling ingest key, newest first, with " +
          'the reasons and the text as received. Page on with `before` = the previous answer\'s `next`. See docs/events.md.',
        security: [{ bearer: [] }],
        querystring: Type.Object({
          since: Type.Optional(Type.String({ format: 'date-time', description: 'default: 24 hours ago' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          before: Type.Optional(Type.String({ maxLength: 1024, description: 'the `next` of the previous page' })),
        }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            rejected: Type.Array(
              Type.Object({
                receivedAt: Type.String({ format: 'date-time' }),
                requestId: Type.String(),
                index: Type.Integer({ description: 'position in the request (NDJSON: line from 0); -1 for a whole body' }),
                id: Type.Union([Type.String(), Type.Null()]),
                reasons: Type.Array(Type.String(), { description: '"<json pointer>: <message>", one per problem' }),
                raw: Type.String({ description: 'as received, truncated to 64 KiB' }),
              }),
            ),
            next: Type.Union([Type.String(), Type.Null()], { description: 'pass as `before` for the next page; null on the last' }),
          }),
          400: ErrorReply,
          401: ErrorReply,
          429: ErrorReply,
        },
      },
    },
    async (req) => {
      const principal = req.principal as IngestPrincipal;
      const q = req.query as { since?: string; limit?: number; before?: string };
      const limit = q.limit ?? 100;
      const rejected = await listRejected(clickhouse, {
        source: principal.source,
        keyId: principal.keyId,
        keyName: principal.name,
        since: q.since ? Date.parse(q.since) : clock() - DAY_MS,
        limit,
        ...(q.before ? { before: decodeCursor(q.before) } : {}),
      });
      const last = rejected.at(-1);
      return { rejected, next: last && rejected.length === limit ? encodeCursor(last) : null };
    },
  );

  /**
   * A request carrying events: the body's limit, an ingest key, and that key's rate limit (counted apart per `counter`).
   * The body is parsed and validated by the route itself (a broken event rejects that event, not the request); its
   * schema is there for the OpenAPI document only.
   */
  const sending = (counter: string) => ({
    bodyLimit: config.INGEST_MAX_BYTES,
    onRequest: app.auth.requireIngest(),
    config: {
      rateLimit: {
        max: config.INGEST_RATE_LIMIT_PER_MINUTE,
        timeWindow: 60_000,
        keyGenerator: (req: FastifyRequest) => `${counter}${(req.principal as IngestPrincipal).keyId}`,
      },
    },
    validatorCompiler: () => () => true,
  });
  /** A request's events, read and checked as POST /v1/events does (examine). */
  const examineRequest = (req: FastifyRequest, now: number) => {
    // no body at all, sent without a content type, reaches here without passing a parser
    const body = (req.body ?? { text: '' }) as BodyText;
    const ndjson = (req.headers['content-type'] ?? '').trimStart().toLowerCase().startsWith(NDJSON);
    return examine(body, ndjson, (req.principal as IngestPrincipal).source, { now, maxEvents: config.INGEST_MAX_EVENTS, retentionDays: config.RETENTION_DAYS });
  };

  app.post(
    '/v1/events/check',
    {
      ...sending('check:'),
      schema: {
        tags: ['ingest'],
        summary: 'Check events without sending them',
        description:
          'The same body as POST /v1/events, checked the same way, but nothing is stored, counted or kept: `answer` is what ' +
          'POST /v1/events would answer (202, 422 or 403), `valid` how many events would be taken, `rejected` why the others ' +
          'would not. Whether an event is already stored (a duplicate, or its id used by another event) is not looked up.',
        security: [{ bearer: [] }],
        response: {
          200: Type.Object({
            answer: Type.Union([Type.Literal(202), Type.Literal(422), Type.Literal(403)]),
            valid: Type.Integer(),
            rejected: Partial.properties.rejected,
          }),
          400: ErrorReply,
          401: ErrorReply,
          403: ErrorReply,
          413: ErrorReply,
          415: ErrorReply,
          429: ErrorReply,
        },
      },
    },
    async (req) => {
      const principal = req.principal as IngestPrincipal;
      const ex = examineRequest(req, clock());
      if (!ex.ok) throw new ApiError(ex.status, ex.code, ex.message);
      const answer = ex.foreign.length > 0 ? 403 : ex.rejected.length > 0 ? 422 : 202;
      const refused = { path: '', message: 'would not be stored: the request would be refused because other events in it claim another source' };
      const rejected = answer === 403 ? withForeign(ex.items, ex.rejected, ex.foreign, principal.source, refused) : ex.rejected;
      return { answer, valid: answer === 403 ? 0 : ex.valid.length, rejected: rejected.map(({ index, id, errors }) => ({ index, id, errors })) };
    },
  );

  app.post(
    '/v1/events',
    {
      ...sending(''),
      schema: {
        tags: ['ingest'],
        summary: 'Send events',
        description:
          'Body: one event, a JSON array of events (application/json), or one event per line (application/x-ndjson), in ' +
          'UTF-8, as is or compressed (Content-Encoding: gzip or deflate). ' +
          'Authenticate with an ingest key: `Authorization: Bearer <key>`. A 429 or 503 says in `Retry-After` how many ' +
          'seconds to wait before sending the same events again. See docs/events.md.',
        security: [{ bearer: [] }],
        body: {
          content: {
            [JSON_TYPE]: { schema: Type.Union([EventContract, Type.Array(EventContract, { maxItems: config.INGEST_MAX_EVENTS })]) },
            [NDJSON]: { schema: Type.String({ description: 'One event (the application/json schema, one object) per line.' }) },
          },
        },
        response: { 202: Accepted, 422: Partial, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 413: ErrorReply, 415: ErrorReply, 429: ErrorReply, 503: ErrorReply },
      },
    },
    async (req, reply) => {
      const principal = req.principal as IngestPrincipal;
      const meta = { requestId: req.id, source: principal.source, keyId: principal.keyId, keyName: principal.name, receivedAt: clock() };
      const ex = examineRequest(req, meta.receivedAt);
      if (!ex.ok) {
        await keepRejected(rejectedWriter, [{ index: -1, id: null, errors: [{ path: '', message: ex.message }], raw: ex.raw }], meta, req.log);
        count(req, 'rejected', ex.events);
        throw new ApiError(ex.status, ex.code, ex.message);
      }
      const { items, valid, itemOf, rejected, foreign } = ex;

      if (foreign.length > 0) {
        const message = `this key may only send ${principal.source} events; events at ${foreign.slice(0, 10).join(', ')}${foreign.length > 10 ? ', …' : ''} claim another source`;
        // The whole request is refused, so every one of its events is kept, each with its own reason.
        const refused = { path: '', message: 'not stored: the request was refused because other events in it claim another source' };
        const kept = withForeign(items, rejected, foreign, principal.source, refused);
        await keepRejected(rejectedWriter, kept, meta, req.log);
        count(req, 'rejected', kept.length);
        throw new ApiError(403, 'wrong_source', message);
      }

      let result;
      try {
        result = await writer.write(valid);
      } catch (err) {
        // the cause is logged (the writer's log), not told: it may name internal hosts, and it is shared by every
        // request of the failed batch, whatever their keys
        if (err instanceof WriteUnavailableError) throw unavailable('the events could not be stored now; nothing of this request was acknowledged: send it again');
        throw err;
      }
      for (const { event, usedAt } of result.conflicts) {
        const message = `already names another ${event.source} event, of ${new Date(usedAt).toISOString()}: a retry must send that same event, and a new event needs an id of its own`;
        rejected.push(toRejected(itemOf.get(event)!, [{ path: '/id', message }]));
      }
      rejected.sort((a, b) => a.index - b.index);
      // The rejections after the events: a request refused for want of storage (503) is sent again, and its refused
      // events are then kept once. If keeping them fails, nothing is acknowledged (503): the retry finds the valid
      // events stored (duplicates) and keeps the refused ones.
      if (rejected.length > 0) await keepRejected(rejectedWriter, rejected, meta, req.log);
      count(req, 'rejected', rejected.length);
      count(req, 'accepted', result.accepted);
      count(req, 'duplicate', result.duplicates);
      const { accepted, duplicates } = result;
      if (rejected.length === 0) return reply.code(202).send({ accepted, duplicates });
      return reply.code(422).send({ accepted, duplicates, rejected: rejected.map(({ index, id, errors }) => ({ index, id, errors })) });
    },
  );
}

/** A body read into events: refused whole (400, 413), or each event valid, refused, or claiming another source. */
type Examined =
  | { ok: false; status: 400 | 413; code: 'invalid_body' | 'too_many_events'; message: string; raw: string; events: number }
  | { ok: true; items: ParsedItem[]; valid: ValidEvent[]; itemOf: Map<ValidEvent, ParsedItem>; rejected: RejectedItem[]; foreign: number[] };

/** Reads and checks a body's events as POST /v1/events does, storing nothing (POST /v1/events/check answers with it). */
function examine(body: BodyText, ndjson: boolean, source: string, opts: { now: number; maxEvents: number; retentionDays: number }): Examined {
  const raw = 'text' in body ? body.text : body.raw;
  const parsed = 'text' in body ? parseBody(body.text, ndjson) : { ok: false as const, message: body.unreadable };
  if (!parsed.ok) return { ok: false, status: 400, code: 'invalid_body', message: parsed.message, raw, events: 1 };
  if (parsed.items.length > opts.maxEvents) {
    const message = `a request may carry at most ${opts.maxEvents} events; this one has ${parsed.items.length}`;
    return { ok: false, status: 413, code: 'too_many_events', message, raw, events: parsed.items.length };
  }
  const valid: ValidEvent[] = [];
  const itemOf = new Map<ValidEvent, ParsedItem>();
  const rejected: RejectedItem[] = [];
  const foreign: number[] = [];
  for (const item of parsed.items) {
    // An event naming another source is refused with the whole request, whatever else is wrong with it.
    if (claimsOtherSource(item.value, source)) {
      foreign.push(item.index);
      continue;
    }
    const result = item.error ? { ok: false as const, errors: [item.error] } : validateEvent(item.value, { now: opts.now, retentionDays: opts.retentionDays });
    if (result.ok) {
      valid.push(result.event);
      itemOf.set(result.event, item);
    } else rejected.push(toRejected(item, result.errors));
  }
  return { ok: true, items: parsed.items, valid, itemOf, rejected, foreign };
}

/** Every item of a request refused because some of its events claim another source, each with its own reason. */
function withForeign(items: ParsedItem[], rejected: RejectedItem[], foreign: number[], source: string, refused: FieldError): RejectedItem[] {
  const reasons = new Map(rejected.map((r) => [r.index, r.errors]));
  return items.map((i) => toRejected(i, foreign.includes(i.index) ? [{ path: '/source', message: `must be ${source} for this key` }] : (reasons.get(i.index) ?? [refused])));
}

/** Whether a decoded event names a source other than the key's (one of the contract's: another is a mistake of the field, 422). */
function claimsOtherSource(value: unknown, keySource: string): boolean {
  const source = typeof value === 'object' && value !== null ? (value as { source?: unknown }).source : undefined;
  return typeof source === 'string' && source !== keySource && (SOURCES as readonly string[]).includes(source);
}

function toRejected(item: ParsedItem, errors: FieldError[]): RejectedItem {
  const id = typeof item.value === 'object' && item.value !== null ? (item.value as { id?: unknown }).id : undefined;
  return { index: item.index, id: typeof id === 'string' ? id : null, errors, raw: item.raw };
}

async function keepRejected(
  rejectedWriter: RejectedWriter,
  items: RejectedItem[],
  meta: Parameters<RejectedWriter['store']>[1],
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    await rejectedWriter.store(items, meta);
  } catch (err) {
    log.error({ err, rejected: items.length }, 'rejected events could not be kept; nothing of the request was acknowledged');
    throw unavailable('the rejected events could not be kept now; nothing of this request was acknowledged: send it again');
  }
}
