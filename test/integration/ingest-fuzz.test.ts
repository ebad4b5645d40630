// Property test: thousands of random and mutated events thrown at POST /v1/events. No 5xx, no crash, and every
// event is either accepted (or recognised as a duplicate) or kept in rejected_events.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { EVENT_TYPES } from '../../server/ingest/contract.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';

const KEY = 'fuzz-acd-key-0123456789';
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: `acd:${KEY}` });
  redis = new Redis(inject('redisUrl'));
  app = await buildApp({ config: ctx.config, log: capturedLog('fatal').log, clickhouse: ctx.clickhouse, redis });
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await ctx.cleanup();
});

const ACD_TYPES = EVENT_TYPES.filter((t) => sampleEvent(t).source === 'acd');

/** A valid ACD event, then zero or more mutations: a field dropped, replaced by random JSON, or an unknown field added. */
const mutatedEvent = fc
  .tuple(
    fc.constantFrom(...ACD_TYPES),
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('drop' as const), field: fc.constantFrom('id', 'type', 'occurredAt', 'contactId', 'queue', 'agentId', 'talkMs', 'state', 'channel') }),
        fc.record({ op: fc.constant('set' as const), field: fc.constantFrom('id', 'type', 'occurredAt', 'queue', 'talkMs', 'attributes', 'score', 'resolved', 'source'), value: fc.jsonValue({ maxDepth: 2 }) }),
        fc.record({ op: fc.constant('add' as const), field: fc.string({ minLength: 1, maxLength: 12 }), value: fc.jsonValue({ maxDepth: 1 }) }),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([type, mutations]) => {
    const event: Record<string, unknown> = { ...sampleEvent(type) };
    for (const m of mutations) {
      if (m.op === 'drop') delete event[m.field];
      else if (m.field !== '__proto__') event[m.field] = m.value;
    }
    return event as unknown;
  });

const item = fc.oneof({ weight: 6, arbitrary: mutatedEvent }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

describe('ingest under random input', () => {
  it('never fails with a 5xx and accounts for every event', async () => {
    const total = { posted: 0, accepted: 0, duplicates: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 30, maxLength: 60 }), fc.boolean(), async (items, ndjson) => {
        const payload = ndjson ? items.map((i) => JSON.stringify(i)).join('\n') : JSON.stringify(items);
        const res = await app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
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
      { numRuns: 80, seed: 20261123 },
    );
    expect(total.posted).toBeGreaterThan(2000);
    const count = async (table: string) => {
      const rs = await ctx.clickhouse.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
      return Number((await rs.json<{ n: string }>())[0]!.n);
    };
    expect(await count('events')).toBe(total.accepted);
    expect(await count('rejected_events')).toBe(total.rejected);
    expect(total.accepted + total.duplicates + total.rejected).toBe(total.posted);
  });
});
