// The OpenAPI document at /docs: for signed-in people only, and it describes the ingest endpoint and the contract.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD: 'openapi-admin-pass-1' });
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
});
