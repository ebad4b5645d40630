// The display cookie is renewed while the TV uses it, against the real embedded ClickHouse and redis-server: a browser
// keeps a cookie at most 400 days from when it was last set, so an unattended TV would otherwise be signed out after
// about 13 months. The app's clock is moved by hand.
import { once } from 'node:events';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-display-cookie';
const DAY_MS = 86_400_000;
const FULL_MAX_AGE = 400 * 86_400;

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let admin: string;

beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD });
  redis = createRedis(inject('redisUrl'), 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent', now: () => clock });
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  expect(res.statusCode, res.body).toBe(200);
  admin = res.json<{ token: string }>().token;
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

let clock = Date.now();
/** Moves the app's clock. */
function at(ms: number): void {
  clock = ms;
}

async function createDisplay(): Promise<{ id: string; token: string }> {
  const res = await app.inject({ method: 'POST', url: '/v1/displays', headers: { authorization: `Bearer ${admin}` }, payload: { name: 'Wall', board: 'main' } });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json<{ display: { id: string } }>().display.id, token: res.json<{ token: string }>().token };
}

/** The Set-Cookie headers of a response, by cookie name. */
function setCookies(res: LightMyRequestResponse): Map<string, string> {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return new Map(list.map((c) => [c.slice(0, c.indexOf('=')), c]));
}

/** What a browser sends back: name=value of each cookie set. */
function cookieHeader(cookies: Map<string, string>): string {
  return [...cookies.values()].map((c) => c.split(';')[0]).join('; ');
}

/** A Set-Cookie header's attributes (everything after name=value), sorted. */
function attributes(setCookie: string): string[] {
  return setCookie.split(';').slice(1).map((a) => a.trim()).sort();
}

/** The TV's regular reads (every 5 s) and the one it makes at start. */
const tvReads = (cookie: string) => ['/v1/boards', '/v1/messages', '/v1/auth/me'].map((url) => app.inject({ url, headers: { cookie } }));

async function signIn(token: string): Promise<Map<string, string>> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/display', payload: { token } });
  expect(res.statusCode, res.body).toBe(200);
  const cookies = setCookies(res);
  const display = cookies.get('nabiz_display');
  expect(display).toMatch(new RegExp(`^nabiz_display=${token};`));
  expect(attributes(display!)).toEqual([`Max-Age=${FULL_MAX_AGE}`, 'HttpOnly', 'Path=/', 'SameSite=Strict'].sort());
  return cookies;
}

describe('display cookie renewal', () => {
  it('a TV signed in at T gets no new cookie for a month of regular reads, then one fresh full-length cookie', async () => {
    const T = Date.now();
    const { token } = await createDisplay();
    at(T);
    const first = await signIn(token);

    for (const later of [60_000, DAY_MS, 29 * DAY_MS]) {
      at(T + later);
      for (const res of await Promise.all(tvReads(cookieHeader(first)))) {
        expect(res.statusCode, res.body).toBe(200);
        expect(res.headers['set-cookie'], `${later / DAY_MS} days after sign-in`).toBeUndefined();
      }
    }

    at(T + 31 * DAY_MS);
    const renewal = await app.inject({ url: '/v1/boards', headers: { cookie: cookieHeader(first) } });
    expect(renewal.statusCode, renewal.body).toBe(200);
    const renewed = setCookies(renewal);
    // the same token and every attribute as at sign-in: HttpOnly, SameSite=Strict, Path=/ and the full Max-Age
    expect(renewed.get('nabiz_display')).toBe(first.get('nabiz_display'));
    expect([...renewed.keys()].sort()).toEqual([...first.keys()].sort());
    for (const [name, c] of renewed) expect(attributes(c), name).toEqual(attributes(first.get(name)!));
    expect(renewed.get('nabiz_display_issued')).toMatch(new RegExp(`^nabiz_display_issued=${Math.floor((T + 31 * DAY_MS) / 1000)};`));

    // renewed once, not on every request after
    at(T + 31 * DAY_MS + 60_000);
    for (const res of await Promise.all(tvReads(cookieHeader(renewed)))) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    // and again a month after the renewal, never lapsing while the TV is on
    at(T + 62 * DAY_MS);
    const again = await app.inject({ url: '/v1/messages', headers: { cookie: cookieHeader(renewed) } });
    expect(again.statusCode, again.body).toBe(200);
    expect(setCookies(again).get('nabiz_display')).toBe(first.get('nabiz_display'));
  });

  it('a TV signed in before renewal existed (the display cookie alone) gets a fresh cookie on its next read', async () => {
    const { token } = await createDisplay();
    const res = await app.inject({ url: '/v1/boards', headers: { cookie: `nabiz_display=${token}` } });
    expect(res.statusCode, res.body).toBe(200);
    const display = setCookies(res).get('nabiz_display');
    expect(display).toMatch(new RegExp(`^nabiz_display=${token};`));
    expect(attributes(display!)).toEqual([`Max-Age=${FULL_MAX_AGE}`, 'HttpOnly', 'Path=/', 'SameSite=Strict'].sort());
  });

  it('a revoked display is refused with 401 and given no cookie, however old its cookie', async () => {
    const T = Date.now();
    const { id, token } = await createDisplay();
    at(T);
    const cookies = await signIn(token);
    const revoke = await app.inject({ method: 'DELETE', url: `/v1/displays/${id}`, headers: { authorization: `Bearer ${admin}` } });
    expect(revoke.statusCode, revoke.body).toBe(200);

    at(T + 31 * DAY_MS);
    for (const cookie of [cookieHeader(cookies), `nabiz_display=${token}`]) {
      for (const res of await Promise.all(tvReads(cookie))) {
        expect(res.statusCode, res.body).toBe(401);
        expect(res.headers['set-cookie']).toBeUndefined();
      }
    }
  });
});
