// Property tests: thousands of random and mutated events of every source thrown at POST /v1/events, and random
// bodies and content types. No 5xx, no crash, and every event is either accepted (or recognised as a duplicate) or
// kept in rejected_events; every unparseable body is kept too.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { EVENT_TYPES } from '../../server/ingest/contract.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';

const KEYS = { acd: 'fuzz-acd-key-0123456789', ivr: 'fuzz-ivr-key-0123456789', crm: 'fuzz-crm-key-0123456789' } as const;
type Src = keyof typeof KEYS;
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: Object.entries(KEYS).map(([src, key]) => `${src}:${key}`).join(',') });
  redis = new Redis(inject('redisUrl'));
  app = await buildApp({ config: ctx.config, log: capturedLog('fatal').log, clickhouse: ctx.clickhouse, redis });
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await ctx.cleanup();
});

/** The types a source sends (a survey from the IVR or the CRM). */
const typesOf = (src: Src) => EVENT_TYPES.filter((t) => (t === 'survey.response' ? src !== 'acd' : sampleEvent(t).source === src));

/** Attribute maps as senders get them wrong: names too long, empty or with line breaks, values that are not strings. */
const attributes = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 8 }), fc.string({ minLength: 60, maxLength: 70 }), fc.constantFrom('', 'a\nb', 'x\u2028y', 'agentName')),
  fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 })),
  { maxKeys: 4 },
);

/**
 * A value nested thousands of levels deep (JSON.parse takes it; JSON.stringify would not): a marker here, written out
 * by `text` when the body is made.
 */
const DEEP = '__nested_levels__';
const deep = fc.integer({ min: 2_000, max: 6_000 }).map((n) => ({ [DEEP]: n }));
/** An item as the body's text, the deep markers written out. */
const text = (item: unknown) => JSON.stringify(item).replace(new RegExp(`\\{"${DEEP}":(\\d+)\\}`, 'g'), (_, n: string) => `${'['.repeat(Number(n))}${']'.repeat(Number(n))}`);

/** A valid event of the source, then zero or more mutations: a field dropped, replaced by random JSON, or an unknown field added. */
const mutatedEvent = (src: Src) =>
  fc
    .tuple(
      fc.constantFrom(...typesOf(src)),
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('drop' as const), field: fc.constantFrom('id', 'type', 'occurredAt', 'contactId', 'queue', 'agentId', 'talkMs', 'state', 'channel', 'outcome', 'metric') }),
          fc.record({
            op: fc.constant('set' as const),
            field: fc.constantFrom('id', 'type', 'occurredAt', 'queue', 'talkMs', 'score', 'resolved', 'public', 'outcome', 'source'),
            value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('2026-11-23t10:00:00z', '2026-11-23T10:00:00+24:00', 'acd', 'ivr', 'crm')),
          }),
          fc.record({ op: fc.constant('set' as const), field: fc.constant('attributes'), value: attributes }),
          fc.record({ op: fc.constant('set' as const), field: fc.constantFrom('attributes', 'queue'), value: deep }),
          fc.record({ op: fc.constant('add' as const), field: fc.string({ minLength: 1, maxLength: 12 }), value: fc.jsonValue({ maxDepth: 1 }) }),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([type, mutations]) => {
      const event: Record<string, unknown> = { ...sampleEvent(type, type === 'survey.response' ? { source: src } : {}) };
      for (const m of mutations) {
        if (m.op === 'drop') delete event[m.field];
        else if (m.field !== '__proto__') event[m.field] = m.value;
      }
      return event as unknown;
    });

/** A request: a key, and items mostly of its source's types. */
const request = fc.constantFrom<Src>('acd', 'ivr', 'crm').chain((src) =>
  fc.tuple(
    fc.constant(src),
    fc.array(fc.oneof({ weight: 6, arbitrary: mutatedEvent(src) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }), { minLength: 30, maxLength: 60 }),
    fc.boolean(),
  ),
);

/** How many events a parsed body holds: its NDJSON lines, its array's items, or one. */
function itemsIn(payload: string, ndjson: boolean): number {
  if (ndjson) return payload.split('\n').filter((l) => l.trim() !== '').length;
  const v = JSON.parse(payload) as unknown;
  return Array.isArray(v) ? v.length : 1;
}

const count = async (table: string) => {
  const rs = await ctx.clickhouse.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]!.n);
};

describe('ingest under random input', () => {
  it('never fails with a 5xx and accounts for every event, of every source', async () => {
    const total = { posted: 0, accepted: 0, duplicates: 0, rejected: 0 };
    const [eventsBefore, rejectedBefore] = [await count('events'), await count('rejected_events')];
    await fc.assert(
      fc.asyncProperty(request, async ([src, items, ndjson]) => {
        const payload = ndjson ? items.map(text).join('\n') : `[${items.map(text).join(',')}]`;
        const res = await app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { authorization: `Bearer ${KEYS[src]}`, 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
          payload,
        });
        expect([202, 403, 422]).toContain(res.statusCode);
        total.posted += items.length;
        if (res.statusCode === 403) {
          total.rejected += items.length; // a refused request keeps all its events in rejected_events
          return;
        }
        const body = res.json();
        total.accepted += body.accepted;
        total.duplicates += body.duplicates;
        total.rejected += body.rejected?.length ?? 0;
        expect(body.accepted + body.duplicates + (body.rejected?.length ?? 0)).toBe(items.length);
      }),
      { numRuns: 90, seed: 20261125 },
    );
    expect(total.posted).toBeGreaterThan(2000);
    expect(total.accepted).toBeGreaterThan(500);
    expect((await count('events')) - eventsBefore).toBe(total.accepted);
    expect((await count('rejected_events')) - rejectedBefore).toBe(total.rejected);
    expect(total.accepted + total.duplicates + total.rejected).toBe(total.posted);
  });

  it('answers random bodies and content types with a 4xx that names the problem, never a 5xx, and keeps what it read', async () => {
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v).slice(0, -1)), // cut short
      fc.constantFrom('', ' ', '\n\n', '[', '{}', '[]', 'null', '[1,2', '\u0000', '{"id":"x"}\n{"id":', `[${'['.repeat(5000)}${']'.repeat(5000)}]`),
    );
    const contentType = fc.constantFrom(undefined, 'application/json', 'application/x-ndjson', 'APPLICATION/JSON', 'Application/X-NDJSON; charset=utf-8', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x');
    let kept = 0;
    const rejectedBefore = await count('rejected_events');
    await fc.assert(
      fc.asyncProperty(body, contentType, async (payload, type) => {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { authorization: `Bearer ${KEYS.acd}`, ...(type === undefined ? {} : { 'content-type': type }) },
          ...(payload === '' && type === undefined ? {} : { payload }),
        });
        expect([202, 400, 403, 415, 422]).toContain(res.statusCode);
        const answer = res.json();
        if (res.statusCode >= 400 && res.statusCode !== 422) expect(answer.error.message.length).toBeGreaterThan(10);
        // kept: a body that could not be parsed (one row), each refused item of a parsed one, every item of a 403
        if (res.statusCode === 400) kept += 1;
        else if (res.statusCode === 422) kept += answer.rejected.length;
        else if (res.statusCode === 403) kept += itemsIn(payload, (type ?? '').toLowerCase().startsWith('application/x-ndjson'));
      }),
      // and always the bare request: no body, no content type
      { numRuns: 150, seed: 20261125, examples: [['', undefined]] },
    );
    expect(kept).toBeGreaterThan(30);
    expect((await count('rejected_events')) - rejectedBefore).toBe(kept);
  });
});
