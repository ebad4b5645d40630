// The demo on loopback publishes its admin password, so it answers to loopback names only: a page elsewhere that points
// its own name at 127.0.0.1 (DNS rebinding) would otherwise be same-origin with it and sign in. Other installations
// answer to any name (behind a proxy, the public one).
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;
let redis: Redis;
let demo: FastifyInstance;
let normal: FastifyInstance;

beforeAll(async () => {
  ctx = await createTestContext();
  redis = createRedis(inject('redisUrl'), 'commands');
  const deps = { config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' };
  demo = await buildApp({ ...deps, loopbackHostOnly: true });
  normal = await buildApp(deps);
});

afterAll(async () => {
  await demo?.close();
  await normal?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('Host names a demo on loopback answers to', () => {
  it('refuses another name with 421, sign-in included', async () => {
    const rebound = { host: 'rebound.example:8080', origin: 'http://rebound.example:8080' };
    const login = await demo.inject({ method: 'POST', url: '/v1/auth/login', headers: rebound, payload: { username: 'demo', password: 'nabiz-demo-floor' } });
    expect(login.statusCode).toBe(421);
    expect(login.json().error.code).toBe('misdirected');
    expect((await demo.inject({ url: '/healthz', headers: { host: 'rebound.example' } })).statusCode).toBe(421);
  });

  it('answers localhost, 127.x.x.x and [::1], with or without a port', async () => {
    for (const host of ['localhost:8080', 'localhost', '127.0.0.1:18080', '127.1.2.3', '[::1]:8080', '[::1]']) {
      expect((await demo.inject({ url: '/healthz', headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it('leaves other installations alone: any name', async () => {
    expect((await normal.inject({ url: '/healthz', headers: { host: 'nabiz.example.com' } })).statusCode).toBe(200);
  });
});
