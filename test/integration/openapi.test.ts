// The OpenAPI document at /docs: for signed-in people only, and it describes the ingest endpoint and the contract.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { EVENT_TYPES } from '../../server/ingest/contract.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';

const ACD_KEY = 'acd-openapi-key-0123456789';

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD: 'openapi-admin-pass-1', INGEST_KEYS: `acd:${ACD_KEY}` });
  redis = createRedis(inject('redisUrl'), 'commands');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await ctx.cleanup();
});

describe('/docs', () => {
  it('is refused without credentials and served to a signed-in person, with the ingest endpoint described', async () => {
    expect((await app.inject({ url: '/docs/json' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/docs' })).statusCode).toBe(401);
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: 'openapi-admin-pass-1' } });
    const token = login.json<{ token: string }>().token;
    const doc = await app.inject({ url: '/docs/json', headers: { authorization: `Bearer ${token}` } });
    expect(doc.statusCode).toBe(200);
    const spec = doc.json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths['/v1/events']!.post!.responses).sort()).toEqual(['202', '400', '401', '403', '413', '415', '422', '429', '503']);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/kpis', '/v1/thresholds', '/v1/boards', '/v1/events/schema']));
  });

  it('publishes the event contract as the request body of POST /v1/events, and an integrator reads it with an ingest key', async () => {
    // an ingest key is enough for the reference (an integrator has no console account); a display token is not
    const asKey = await app.inject({ url: '/docs/json', headers: { authorization: `Bearer ${ACD_KEY}` } });
    expect(asKey.statusCode).toBe(200);
    const body = asKey.json<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>> }>()
      .paths['/v1/events']!.post!.requestBody!.content;
    expect(Object.keys(body).sort()).toEqual(['application/json', 'application/x-ndjson']);
    // application/json: one event or an array of them; an event is one of the 13 types, each with its fields
    const [one, many] = (body['application/json']!.schema as { anyOf: Array<Record<string, unknown>> }).anyOf;
    const variants = (one as { anyOf: Array<{ title: string; required: string[]; properties: Record<string, unknown> }> }).anyOf;
    expect(variants.map((v) => v.title).sort()).toEqual([...EVENT_TYPES].sort());
    expect(variants.find((v) => v.title === 'contact.ended')!.required).toEqual(expect.arrayContaining(['id', 'source', 'occurredAt', 'contactId', 'agentId', 'talkMs', 'holdMs', 'acwMs', 'type']));
    expect(many).toMatchObject({ type: 'array', maxItems: 10_000 });
    // the route still parses its own bodies: a partly invalid batch is 422, not a schema refusal of the whole request
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${ACD_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify([{ ...sampleEvent('contact.offered') }, { id: 'x', type: 'contact.offered' }]),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
  });
});
