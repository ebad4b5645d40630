// Console → Displays says which TVs are on the air (server/live/presence.ts): GET /v1/displays gives each display's
// `seen` — connected or not, from which address, and when it was last seen — from the notes the live stream keeps
// in Redis when a display's socket opens, at each heartbeat, and when it closes.
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import type { DisplaySeen } from '../../server/live/presence.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { signInRoles } from '../support/users.ts';
import { openSocket, type LiveTestClient } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-presence';
const HEARTBEAT_MS = 1_000;
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let url: string;
let admin: string;
const sockets: LiveTestClient[] = [];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD, STREAM_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  redis = createRedis(inject('redisUrl'), 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
  admin = (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } })).json<{ token: string }>().token;
});

afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

async function listed(): Promise<{ presence: string; displays: Array<{ id: string; name: string; seen: DisplaySeen | null }> }> {
  const res = await app.inject({ url: '/v1/displays', headers: bearer(admin) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
const seenOf = async (id: string) => (await listed()).displays.find((d) => d.id === id)!.seen;

describe('display presence', () => {
  it('says whether each display is connected, from where, and when it was last seen', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(admin), payload: { name: 'TV north', board: 'main' } });
    expect(created.statusCode, created.body).toBe(201);
    const { display, token } = created.json<{ display: { id: string }; token: string }>();
    expect(await seenOf(display.id)).toBeNull(); // never connected

    const opened = Date.now();
    const tv = await openSocket(url, bearer(token));
    sockets.push(tv);
    await tv.next('welcome');
    await expect.poll(async () => (await seenOf(display.id))?.connected, { timeout: 5_000 }).toBe(true);
    const first = (await seenOf(display.id))!;
    expect(first.address).toBe('127.0.0.1');
    expect(Date.parse(first.at)).toBeGreaterThanOrEqual(opened - 5);
    // while it stays open, each heartbeat renews the note
    await expect.poll(async () => Date.parse((await seenOf(display.id))!.at), { timeout: 5 * HEARTBEAT_MS }).toBeGreaterThan(Date.parse(first.at));

    // closed: no longer connected; last seen when it closed
    const beforeClose = Date.now();
    tv.ws.close();
    await tv.closed;
    await expect.poll(async () => (await seenOf(display.id))?.connected, { timeout: 5_000 }).toBe(false);
    expect(Date.parse((await seenOf(display.id))!.at)).toBeGreaterThanOrEqual(beforeClose - 5);

    // a process that died left its note open: older than three heartbeats, it no longer counts as connected
    const key = `${ctx.config.REDIS_PREFIX}:displays:seen`;
    await redis.hset(key, display.id, JSON.stringify({ at: Date.now() - 4 * HEARTBEAT_MS, open: true, address: '10.0.3.44' }));
    expect(await seenOf(display.id)).toMatchObject({ connected: false, address: '10.0.3.44' });
    await redis.hset(key, display.id, JSON.stringify({ at: Date.now(), open: true, address: '10.0.3.44' }));
    expect(await seenOf(display.id)).toMatchObject({ connected: true });
  });

  it('still lists the displays when Redis cannot say which are connected', async () => {
    const key = `${ctx.config.REDIS_PREFIX}:displays:seen`;
    await redis.del(key);
    await redis.set(key, 'not a hash'); // every read of it fails (WRONGTYPE)
    const list = await listed();
    expect(list.presence).toBe('unavailable');
    expect(list.displays.length).toBeGreaterThan(0);
    expect(list.displays.every((d) => d.seen === null)).toBe(true);
    await redis.del(key);
    expect((await listed()).presence).toBe('known');
  });

  it('asks one display to show its name (Identify): its sockets are told, no other screen, and only by a supervisor', async () => {
    const make = async (name: string) => {
      const r = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(admin), payload: { name, board: 'main' } });
      return r.json<{ display: { id: string }; token: string }>();
    };
    const north = await make('TV identify north');
    const south = await make('TV identify south');
    const tvNorth = await openSocket(url, bearer(north.token));
    const tvSouth = await openSocket(url, bearer(south.token));
    sockets.push(tvNorth, tvSouth);
    await Promise.all([tvNorth.next('welcome'), tvSouth.next('welcome')]);
    const asked = await app.inject({ method: 'POST', url: `/v1/displays/${north.display.id}/identify`, headers: bearer(admin) });
    expect(asked.statusCode, asked.body).toBe(202);
    expect(asked.json()).toEqual({ seconds: 15 });
    expect(await tvNorth.next('identify')).toEqual({ type: 'identify', seconds: 15 });
    // the other TV got nothing: its answer to a ping comes, and no identify before it
    tvSouth.send({ type: 'ping', id: 'after' });
    await tvSouth.next('pong', (m) => m.id === 'after');
    expect(tvSouth.messages.some((m) => m.type === 'identify')).toBe(false);

    // a viewer may not; an unknown or revoked display is not found
    const viewer = (await signInRoles(app, ADMIN_PASSWORD, ['viewer'])).viewer!;
    expect((await app.inject({ method: 'POST', url: `/v1/displays/${north.display.id}/identify`, headers: bearer(viewer) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/v1/displays/0123456789abcdef/identify', headers: bearer(admin) })).statusCode).toBe(404);
    await app.inject({ method: 'DELETE', url: `/v1/displays/${south.display.id}`, headers: bearer(admin) });
    expect((await app.inject({ method: 'POST', url: `/v1/displays/${south.display.id}/identify`, headers: bearer(admin) })).statusCode).toBe(404);
  });
});
