// The access log (server/access-log.ts): one line per answered request; accepted event posts and health probes at
// debug (the metrics count them), everything else at info; URLs with their credentials redacted.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';

const KEY = 'access-log-ingest-key-acd-0123456789';
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
const captured = capturedLog('debug');

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: `acd:${KEY}` });
  redis = createRedis(inject('redisUrl'), 'commands');
  app = await buildApp({ config: ctx.config, log: captured.log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

interface Line {
  level: number;
  msg: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
}

describe('access log', () => {
  it('writes one line per request, at debug for accepted events and health probes, at info for the rest', async () => {
    const post = (body: unknown) =>
      app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEY}` }, payload: body as object });
    expect((await post(sampleEvent('contact.offered', { source: 'acd' }))).statusCode).toBe(202);
    expect((await post([sampleEvent('contact.offered', { source: 'acd' }), { id: 'x' }])).statusCode).toBe(422);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/kpis?window=today' })).statusCode).toBe(401);
    await app.inject({ url: '/v1/boards?display=nbz_dt_not-a-real-token' });

    const lines = captured.lines.map((l) => JSON.parse(l) as Line);
    expect(lines.filter((l) => l.msg === 'incoming request')).toEqual([]);
    const completed = lines.filter((l) => l.msg === 'request completed');
    const summary = completed.map((l) => [l.level, l.req?.method, l.req?.url, l.res?.statusCode]);
    expect(summary).toEqual([
      [20, 'POST', '/v1/events', 202], // debug: accepted events (counted by nabiz_ingest_requests_total)
      [30, 'POST', '/v1/events', 422],
      [20, 'GET', '/healthz', 200],
      [30, 'GET', '/v1/kpis?window=today', 401],
      [30, 'GET', '/v1/boards?display=[redacted]', 401],
    ]);
    for (const l of completed) expect(l.responseTime).toBeGreaterThan(0);
  });
});
