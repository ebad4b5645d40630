import { once } from 'node:events';
import net from 'node:net';
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

  it('a request arriving while the app stops gets 503 in the API\'s error shape, with Retry-After (a graceful stop)', async () => {
    const { app, close } = await appWith(inject('redisUrl'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as net.AddressInfo;
    // A connection busy when the stop begins (a sign-in whose body is still coming), on which a second request follows
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const body = JSON.stringify({ username: 'nobody', password: 'not-a-password' });
    socket.write(`POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await new Promise((r) => setTimeout(r, 100));
    const closed = close();
    await new Promise((r) => setTimeout(r, 100)); // the stop has begun, and waits for the busy connection
    socket.write(`${body.slice(5)}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 5_000))]);
    socket.destroy();
    await closed;
    const second = received.slice(received.indexOf('HTTP/1.1', 1));
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(second).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'unavailable', message: 'the server is stopping; retry in a few seconds' } });
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
