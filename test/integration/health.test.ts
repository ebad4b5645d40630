import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { freePort } from '../../server/redis/embedded.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.cleanup());

async function appWith(redisUrl: string, clickhouse = ctx.clickhouse): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const redis = createRedis(redisUrl, 'commands');
  const app = await buildApp({ config: ctx.config, log: capturedLog().log, clickhouse, redis });
  return { app, close: async () => { await app.close(); redis.disconnect(); } };
}

describe('health checks', () => {
  it('/healthz and /readyz answer 200 when ClickHouse and Redis answer, without credentials', async () => {
    const { app, close } = await appWith(inject('redisUrl'));
    const live = await app.inject({ url: '/healthz' });
    expect(live.statusCode).toBe(200);
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', failing: [], checks: { clickhouse: 'ok', redis: 'ok' } });
    await close();
  });

  it('/readyz answers 503 naming the dependency that does not answer', async () => {
    const deadPort = await freePort();
    const { app, close } = await appWith(`redis://127.0.0.1:${deadPort}`);
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unavailable', failing: ['redis'], checks: { clickhouse: 'ok', redis: 'unavailable' } });
    expect(ready.body).not.toContain(String(deadPort)); // an open endpoint: why (an address) is in the log only
    await close();
  });

  it('/readyz answers 503 when ClickHouse answers but refuses the credentials (a rotated password): its /ping would not tell', async () => {
    const url = new URL(ctx.target.url); // the test server's address carries its password: not this client's
    url.username = '';
    url.password = '';
    const refused = createClickHouse({ ...ctx.target, url: url.href, username: 'default', password: 'not-the-password' });
    const { app, close } = await appWith(inject('redisUrl'), refused);
    const ready = await app.inject({ url: '/readyz' });
    expect([ready.statusCode, ready.json<{ failing: string[] }>().failing]).toEqual([503, ['clickhouse']]);
    await close();
    await refused.close();
  });
});
