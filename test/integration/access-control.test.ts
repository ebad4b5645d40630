// Access control against the real embedded ClickHouse and redis-server: roles × routes, ingest keys per source,
// revocation of keys, sessions and display tokens, the login rate limit, CSRF, headers, the audit log and log hygiene.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { AuditLog, type Actor } from '../../server/auth/audit.ts';
import type { Revocation } from '../../server/auth/principal.ts';
import { AccessService } from '../../server/auth/service.ts';
import { AccessStore } from '../../server/auth/store.ts';
import { CSRF_HEADER } from '../../server/auth/plugin.ts';
import { sha256Hex } from '../../server/auth/tokens.ts';
import type { Config } from '../../server/config.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { startEmbeddedRedis } from '../../server/redis/embedded.ts';
import { ROOT } from '../support/process.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { openSocket } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-bootstrap';
const ACD_KEY = 'acd-config-key-0123456789';
const IVR_KEY = 'ivr-config-key-0123456789';
const PASSWORDS = { viewer: 'viewer-Pa55word-xyz', supervisor: 'supervisor-Pa55word-xyz' } as const;

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
const captured = capturedLog('debug');
/** Every secret the tests handle: none may appear in the captured log. */
const secrets = new Set<string>([ADMIN_PASSWORD, ACD_KEY, IVR_KEY, ...Object.values(PASSWORDS)]);

async function newApp(config: Config, r: Redis = redis): Promise<FastifyInstance> {
  if (r.status !== 'ready') await once(r, 'ready'); // the request-path connection does not queue commands
  const a = await buildApp({ config, log: captured.log, clickhouse: ctx.clickhouse, redis: r, wallboardDir: '/nonexistent' });
  return a;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function login(username: string, password: string, a = app): Promise<LightMyRequestResponse> {
  return a.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password } });
}

async function loginToken(username: string, password: string, a = app): Promise<string> {
  const res = await login(username, password, a);
  expect(res.statusCode, res.body).toBe(200);
  const token = res.json<{ token: string }>().token;
  secrets.add(token);
  return token;
}

let tokens: Record<'viewer' | 'supervisor' | 'admin' | 'display' | 'ingest', string>;

beforeAll(async () => {
  ctx = await createTestContext({
    INGEST_KEYS: `acd:${ACD_KEY},ivr:${IVR_KEY}`,
    ADMIN_PASSWORD,
    LOGIN_MAX_FAILURES_PER_USER: '3',
    LOGIN_MAX_ATTEMPTS_PER_IP: '1000',
  });
  redis = createRedis(inject('redisUrl'), 'commands');
  app = await newApp(ctx.config);
  const admin = await loginToken('admin', ADMIN_PASSWORD);
  for (const role of ['viewer', 'supervisor'] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/admin/users',
      headers: bearer(admin),
      payload: { username: role, password: PASSWORDS[role], role },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const display = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(admin), payload: { name: 'Floor 1', board: 'main' } });
  expect(display.statusCode, display.body).toBe(201);
  tokens = {
    admin,
    viewer: await loginToken('viewer', PASSWORDS.viewer),
    supervisor: await loginToken('supervisor', PASSWORDS.supervisor),
    display: display.json<{ token: string }>().token,
    ingest: ACD_KEY,
  };
  secrets.add(tokens.display);
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('route × role', () => {
  type Who = 'anonymous' | 'viewer' | 'supervisor' | 'admin' | 'display' | 'ingest';
  const WHO: Who[] = ['anonymous', 'viewer', 'supervisor', 'admin', 'display', 'ingest'];
  // Who may call what (the guard each route declares). A person is a viewer, supervisor or admin; a reader is a person
  // or a display (TV).
  const LEVELS = {
    open: WHO,
    reader: ['viewer', 'supervisor', 'admin', 'display'],
    person: ['viewer', 'supervisor', 'admin'],
    supervisor: ['supervisor', 'admin'],
    admin: ['admin'],
    ingest: ['ingest'],
  } satisfies Record<string, Who[]>;
  type Level = keyof typeof LEVELS;
  // Every route of the API (its OpenAPI document) must be here: a new route without a decision fails the test below.
  const ROUTES: Record<string, Level> = {
    'GET /': 'open', // the wallboard's shell (no data in it)
    'GET /healthz': 'open',
    'GET /readyz': 'open',
    'POST /v1/auth/login': 'open',
    'POST /v1/auth/display': 'open',
    'POST /v1/auth/logout': 'reader',
    'GET /v1/auth/me': 'reader',
    'POST /v1/auth/password': 'person',
    'GET /v1/displays': 'supervisor',
    'POST /v1/displays': 'supervisor',
    'DELETE /v1/displays/{id}': 'supervisor',
    'POST /v1/displays/{id}/identify': 'supervisor',
    'GET /v1/display-settings': 'supervisor',
    'PUT /v1/display-settings/{id}': 'supervisor',
    'GET /v1/admin/users': 'admin',
    'POST /v1/admin/users': 'admin',
    'PATCH /v1/admin/users/{username}': 'admin',
    'DELETE /v1/admin/users/{username}': 'admin',
    'GET /v1/admin/ingest-keys': 'admin',
    'POST /v1/admin/ingest-keys': 'admin',
    'DELETE /v1/admin/ingest-keys/{id}': 'admin',
    'GET /v1/admin/audit': 'admin',
    'GET /v1/kpis': 'reader',
    'GET /v1/kpis/series': 'reader',
    'GET /v1/kpis/scopes': 'reader',
    'GET /v1/kpis/catalog': 'reader',
    'GET /v1/kpis/settings': 'person',
    'GET /v1/kpis/report': 'person',
    'PUT /v1/kpis/settings/{queue}': 'supervisor',
    'GET /v1/boards': 'reader',
    'GET /v1/boards/{name}': 'reader',
    'PUT /v1/boards/{name}': 'supervisor',
    'DELETE /v1/boards/{name}': 'supervisor',
    'GET /v1/messages': 'reader',
    'POST /v1/messages': 'supervisor',
    'DELETE /v1/messages/{id}': 'supervisor',
    'GET /v1/thresholds': 'reader',
    'POST /v1/thresholds': 'supervisor',
    'PUT /v1/thresholds/{id}': 'supervisor',
    'DELETE /v1/thresholds/{id}': 'supervisor',
    'GET /v1/alerts': 'reader',
    'GET /v1/alerts/{id}': 'reader',
    'POST /v1/alerts/{id}/ack': 'supervisor',
    'GET /v1/sources': 'supervisor',
    'POST /v1/events': 'ingest',
    'POST /v1/events/check': 'ingest',
    'GET /v1/events/rejected': 'ingest',
    'GET /v1/events/schema': 'ingest',
  };

  it('every route of the API has an access decision in this table', async () => {
    await app.ready();
    const spec = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(spec.paths).flatMap(([url, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${url}`));
    expect(documented.sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it.each(Object.entries(ROUTES))('%s lets in exactly its callers (%s); the others get 401 (anonymous) or 403', async (route, level) => {
    const [method, template] = route.split(' ') as [string, string];
    // Placeholder ids and an empty body: a caller let in gets past the guard (then 2xx, 400, 404, 409 or 422, which
    // change nothing), one kept out gets 401 or 403 before any of that.
    const url = template.replace(/\{[^}]+\}/g, 'no-such-thing');
    const allowed = LEVELS[level as Level] as readonly Who[];
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const who of WHO) {
      // logging out ends the session: a session of its own, so the others' tokens stay valid
      const token = who === 'anonymous' ? undefined : route === 'POST /v1/auth/logout' && who !== 'display' && who !== 'ingest' ? await freshSession(who) : tokens[who];
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: token ? bearer(token) : {},
        ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
      });
      got[who] = res.statusCode === 401 ? 'unauthorized' : res.statusCode === 403 && res.json<{ error: { code: string } }>().error.code === 'forbidden' ? 'forbidden' : 'let in';
      want[who] = allowed.includes(who) ? 'let in' : who === 'anonymous' ? 'unauthorized' : 'forbidden';
      if (res.statusCode === 401) {
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="nabiz"/);
        expect(res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      }
    }
    expect(got).toEqual(want);
  });

  async function freshSession(who: 'viewer' | 'supervisor' | 'admin'): Promise<string> {
    return loginToken(who, who === 'admin' ? ADMIN_PASSWORD : PASSWORDS[who]);
  }

  it('what a call let in does: creates for those allowed, with a token shown once', async () => {
    const n = Math.random().toString(36).slice(2, 8);
    const res = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(tokens.supervisor), payload: { name: `tv ${n}`, board: 'main' } });
    expect(res.statusCode).toBe(201);
    secrets.add(res.json<{ token: string }>().token);
    const key = await app.inject({ method: 'POST', url: '/v1/admin/ingest-keys', headers: bearer(tokens.admin), payload: { source: 'crm', name: `crm ${n}` } });
    expect(key.statusCode).toBe(201);
    secrets.add(key.json<{ token: string }>().token);
    // a wrong current password is refused past the guard: 403 wrong_password, not forbidden
    const pw = await app.inject({ method: 'POST', url: '/v1/auth/password', headers: bearer(tokens.viewer), payload: { currentPassword: 'not-it-password', newPassword: `new-password-${n}` } });
    expect(pw.statusCode).toBe(403);
    expect(pw.json()).toMatchObject({ error: { code: 'wrong_password' } });
  });

  it('an unknown or malformed bearer token is 401 invalid_token, not 403', async () => {
    for (const token of ['nbz_dt_' + 'A'.repeat(43), 'nbz_st_nope', 'garbage']) {
      const res = await app.inject({ url: '/v1/auth/me', headers: bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });
});

describe('ingest keys', () => {
  const ivrEvent = () => ({
    id: `e-${Math.random().toString(36).slice(2)}`,
    source: 'ivr',
    type: 'ivr.started',
    occurredAt: new Date().toISOString(),
    contactId: 'c-1',
  });

  it('an ACD key cannot post IVR events; the IVR key can', async () => {
    const post = (key: string) => app.inject({ method: 'POST', url: '/v1/events', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: JSON.stringify(ivrEvent()) });
    const asAcd = await post(ACD_KEY);
    expect(asAcd.statusCode).toBe(403);
    const asIvr = await post(IVR_KEY);
    expect(asIvr.statusCode, asIvr.body).toBe(202);
  });

  it('a key created by an admin is shown once, stored hashed, works, and is refused on the next request after revocation', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/admin/ingest-keys', headers: bearer(tokens.admin), payload: { source: 'ivr', name: 'IVR prod' } });
    expect(created.statusCode).toBe(201);
    const { key, token } = created.json<{ key: { id: string; source: string }; token: string }>();
    secrets.add(token);
    expect(token).toMatch(/^nbz_ik_[A-Za-z0-9_-]{43}$/);
    expect(key.source).toBe('ivr');

    const stored = await ctx.clickhouse.query({ query: 'SELECT * FROM ingest_keys', format: 'JSONEachRow' });
    expect(await stored.text()).not.toContain(token);
    const listed = await app.inject({ url: '/v1/admin/ingest-keys', headers: bearer(tokens.admin) });
    expect(listed.body).not.toContain(token);
    expect(listed.body).not.toContain('token_sha256');

    expect((await app.inject({ url: '/v1/events/schema', headers: bearer(token) })).statusCode).toBe(200);
    const revoked = await app.inject({ method: 'DELETE', url: `/v1/admin/ingest-keys/${key.id}`, headers: bearer(tokens.admin) });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json<{ key: { revokedAt: string | null } }>().key.revokedAt).not.toBeNull();
    expect((await app.inject({ url: '/v1/events/schema', headers: bearer(token) })).statusCode).toBe(401);
  });
});

describe('sessions', () => {
  it('login sets an HttpOnly SameSite cookie; logout ends the session on the next request', async () => {
    const res = await login('viewer', PASSWORDS.viewer);
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^nabiz_session=nbz_st_/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const token = res.json<{ token: string }>().token;
    secrets.add(token);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(token) })).statusCode).toBe(204);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('the session expiry slides with each request', async () => {
    const token = await loginToken('viewer', PASSWORDS.viewer);
    const key = `${ctx.config.REDIS_PREFIX}:session:${sha256Hex(token)}`;
    expect(await redis.expire(key, 100)).toBe(1);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200);
    expect(await redis.ttl(key)).toBeGreaterThan(ctx.config.SESSION_TTL_SECONDS - 10);
    await redis.del(key); // as if it had expired
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
  });

  it("changing a user's role or password, or removing the user, ends the user's sessions", async () => {
    const admin = bearer(tokens.admin);
    const create = await app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin, payload: { username: 'temp', password: 'temp-password-123', role: 'viewer' } });
    expect(create.statusCode).toBe(201);
    let token = await loginToken('temp', 'temp-password-123');
    const promote = await app.inject({ method: 'PATCH', url: '/v1/admin/users/temp', headers: admin, payload: { role: 'supervisor' } });
    expect(promote.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);

    token = await loginToken('temp', 'temp-password-123');
    expect((await app.inject({ url: '/v1/displays', headers: bearer(token) })).statusCode).toBe(200); // the new role applies
    const passwd = await app.inject({ method: 'PATCH', url: '/v1/admin/users/temp', headers: admin, payload: { password: 'new-password-456' } });
    expect(passwd.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
    expect((await login('temp', 'temp-password-123')).statusCode).toBe(401);

    token = await loginToken('temp', 'new-password-456');
    expect((await app.inject({ method: 'DELETE', url: '/v1/admin/users/temp', headers: admin })).statusCode).toBe(204);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
    expect((await login('temp', 'new-password-456')).statusCode).toBe(401);
  });

  it('a sign-in overlapping a change of the user keeps no session of the record it read', async () => {
    const admin = bearer(tokens.admin);
    const create = await app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin, payload: { username: 'racer', password: 'racer-password-123', role: 'admin' } });
    expect(create.statusCode).toBe(201);
    const sessionsOf = (userId: string) => redis.zcard(`${ctx.config.REDIS_PREFIX}:user-sessions:${userId}`);

    // 1. The sign-in reads the record (admin) and checks the password; meanwhile the user is demoted, which ends the
    //    sessions existing then: none of this sign-in's. Its session, started afterwards with the record it read, ends
    //    at once: 409, and the user has no session.
    const read = (await app.auth.service.store.getUser('racer'))!;
    const demote = await app.inject({ method: 'PATCH', url: '/v1/admin/users/racer', headers: admin, payload: { role: 'viewer' } });
    expect(demote.statusCode).toBe(200);
    await expect(app.auth.service.startSession(read)).rejects.toMatchObject({ statusCode: 409, code: 'account_changed' });
    expect(await sessionsOf(read.id)).toBe(0);

    // 2. The sign-in starts its session before the change is written, but after the change's version time (taken
    //    before the new password's hashing: here 60 s earlier than the session's start). The change ends it all the same.
    const current = (await app.auth.service.store.getUser('racer'))!;
    const later = Date.now() + 60_000;
    const clock = vi.spyOn(Date, 'now').mockReturnValue(later);
    let session;
    try {
      session = await app.auth.service.startSession(current);
    } finally {
      clock.mockRestore();
    }
    secrets.add(session.token);
    expect(await sessionsOf(current.id)).toBe(1);
    const passwd = await app.inject({ method: 'PATCH', url: '/v1/admin/users/racer', headers: admin, payload: { password: 'racer-password-456' } });
    expect(passwd.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(session.token) })).statusCode).toBe(401);
    expect(await sessionsOf(current.id)).toBe(0);

    // 3. A sign-in after the changes gets the new role
    const token = await loginToken('racer', 'racer-password-456');
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).json<{ principal: { role: string } }>().principal.role).toBe('viewer');
    expect((await app.inject({ method: 'DELETE', url: '/v1/admin/users/racer', headers: admin })).statusCode).toBe(204);
  });

  it('a person changes their own password: the current one is checked under the login limit, every session of theirs ends, this one goes on with a new token', async () => {
    const admin = bearer(tokens.admin);
    const create = await app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin, payload: { username: 'mover', password: 'mover-password-1', role: 'viewer' } });
    expect(create.statusCode, create.body).toBe(201);
    secrets.add('mover-password-1').add('mover-password-2');
    const here = await loginToken('mover', 'mover-password-1');
    const elsewhere = await loginToken('mover', 'mover-password-1'); // the same person on another device
    const change = (token: string, body: object) => app.inject({ method: 'POST', url: '/v1/auth/password', headers: bearer(token), payload: body });

    // Refusals name the field, and change nothing.
    const weak = await change(here, { currentPassword: 'mover-password-1', newPassword: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({ error: { code: 'weak_password', details: [{ path: '/newPassword' }] } });
    const same = await change(here, { currentPassword: 'mover-password-1', newPassword: 'mover-password-1' });
    expect(same.json()).toMatchObject({ error: { code: 'same_password', details: [{ path: '/newPassword', message: 'must differ from the current password' }] } });
    const unknown = await change(here, { currentPassword: 'mover-password-1', newPassword: 'mover-password-2', confirm: 'x' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: { details: [{ path: '/confirm', message: 'is not a known field' }] } });
    const wrong = await change(here, { currentPassword: 'not-my-password', newPassword: 'mover-password-2' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ error: { code: 'wrong_password', details: [{ path: '/currentPassword', message: 'is not your current password' }] } });
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(here) })).statusCode).toBe(200); // still signed in
    // A display has no password; the limit below is the login limit (LOGIN_MAX_FAILURES_PER_USER=3), reset by the success.
    expect((await change(tokens.display, { currentPassword: 'x', newPassword: 'mover-password-2' })).statusCode).toBe(403);

    const ok = await change(here, { currentPassword: 'mover-password-1', newPassword: 'mover-password-2' });
    expect(ok.statusCode, ok.body).toBe(200);
    const fresh = ok.json<{ token: string; user: { username: string } }>();
    secrets.add(fresh.token);
    expect(fresh.user.username).toBe('mover');
    expect(String(ok.headers['set-cookie'])).toContain(`nabiz_session=${fresh.token}`);
    for (const old of [here, elsewhere]) expect((await app.inject({ url: '/v1/auth/me', headers: bearer(old) })).statusCode).toBe(401);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(fresh.token) })).statusCode).toBe(200);
    expect((await login('mover', 'mover-password-1')).statusCode).toBe(401);
    await loginToken('mover', 'mover-password-2');

    // Guessing from an open session meets the login limit: three failures, then 429 even for the right password.
    for (let i = 0; i < 3; i++) expect((await change(fresh.token, { currentPassword: `guess-${i}-password`, newPassword: 'mover-password-3' })).statusCode).toBe(403);
    const limited = await change(fresh.token, { currentPassword: 'mover-password-2', newPassword: 'mover-password-3' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const audit = await app.inject({ url: '/v1/admin/audit?action=user.password&actor=mover', headers: admin });
    expect(audit.json<{ entries: Array<{ outcome: string }> }>().entries.map((e) => e.outcome).sort()).toEqual(
      ['failed', 'failed', 'failed', 'failed', 'ok', 'rate_limited'],
    );
  });

  it("the admin API's refusals name the field", async () => {
    const admin = bearer(tokens.admin);
    const post = (url: string, payload: object) => app.inject({ method: 'POST', url, headers: admin, payload });
    const cases: Array<[string, object, string, string]> = [
      ['/v1/admin/users', { username: 'Bad Name!', password: 'long-enough-password', role: 'viewer' }, 'invalid_username', '/username'],
      ['/v1/admin/users', { username: 'fine', password: 'short', role: 'viewer' }, 'weak_password', '/password'],
      ['/v1/admin/ingest-keys', { source: 'acd', name: '   ' }, 'invalid_name', '/name'],
      ['/v1/displays', { name: 'TV', board: ' ' }, 'invalid_name', '/board'],
    ];
    for (const [url, payload, code, path] of cases) {
      const r = await post(url, payload);
      expect(r.statusCode, `${url} ${r.body}`).toBe(400);
      expect(r.json(), url).toMatchObject({ error: { code, details: [{ path, message: expect.any(String) }] } });
    }
    expect((await app.inject({ url: '/v1/admin/audit?actions=x', headers: admin })).json()).toMatchObject({
      error: { details: [{ path: '/actions', message: 'is not a known field' }] },
    });
    // an unknown field (a typo, a field of another version) is refused by name, never ignored
    const unknown: Array<[string, object, string]> = [
      ['/v1/admin/users', { username: 'typo', password: 'long-enough-password', role: 'viewer', roles: ['admin'] }, '/roles'],
      ['/v1/admin/ingest-keys', { source: 'acd', name: 'ACD', sources: ['ivr'] }, '/sources'],
      ['/v1/displays', { name: 'TV', board: 'main', boards: ['other'] }, '/boards'],
      ['/v1/auth/login', { username: 'admin', password: 'whatever-password', remember: true }, '/remember'],
      ['/v1/auth/display', { token: 'nbz_dt_x', display: 'x' }, '/display'],
    ];
    for (const [url, payload, path] of unknown) {
      const r = await post(url, payload);
      expect(r.statusCode, `${url} ${r.body}`).toBe(400);
      expect(r.json(), url).toMatchObject({ error: { details: [{ path, message: 'is not a known field' }] } });
    }
    for (const url of ['/v1/alerts?activ=1', '/v1/thresholds?time=2026-11-24T10:00:00Z']) {
      expect((await app.inject({ url, headers: admin })).statusCode, url).toBe(400);
    }
  });

  it('lists each user with their last sign-in', async () => {
    const admin = bearer(tokens.admin);
    await app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin, payload: { username: 'never-in', password: 'never-in-password', role: 'viewer' } });
    const before = Date.now();
    await loginToken('viewer', PASSWORDS.viewer);
    const users = (await app.inject({ url: '/v1/admin/users', headers: admin })).json<{ users: Array<{ username: string; lastSignInAt: string | null; passwordHash?: string }> }>().users;
    const by = new Map(users.map((u) => [u.username, u]));
    expect(by.get('never-in')!.lastSignInAt).toBeNull();
    expect(Date.parse(by.get('viewer')!.lastSignInAt!)).toBeGreaterThanOrEqual(before - 1); // ISO, this sign-in
    expect(by.get('viewer')!.lastSignInAt).toMatch(/Z$/);
    expect(users.every((u) => u.passwordHash === undefined)).toBe(true);
  });

  it('the last admin cannot be removed or demoted', async () => {
    const admin = bearer(tokens.admin);
    expect((await app.inject({ method: 'DELETE', url: '/v1/admin/users/admin', headers: admin })).statusCode).toBe(409);
    expect((await app.inject({ method: 'PATCH', url: '/v1/admin/users/admin', headers: admin, payload: { role: 'viewer' } })).statusCode).toBe(409);
  });

  it('a wrong username and a wrong password answer alike, and the login limit answers 429', async () => {
    const admin = bearer(tokens.admin);
    await app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin, payload: { username: 'target', password: 'target-password-1', role: 'viewer' } });
    const wrongUser = await login('nobody-here', 'whatever-password');
    const wrongPassword = await login('target', 'not-the-password');
    expect(wrongUser.statusCode).toBe(401);
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongUser.body).toBe(wrongPassword.body);

    // LOGIN_MAX_FAILURES_PER_USER=3: one failure above, two more, then the limit.
    expect((await login('target', 'not-the-password')).statusCode).toBe(401);
    expect((await login('target', 'not-the-password')).statusCode).toBe(401);
    const limited = await login('target', 'target-password-1'); // even the right password waits
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await login('viewer', PASSWORDS.viewer)).statusCode).toBe(200); // other users are not affected
  });

  it('the per-address limit counts failures across usernames', async () => {
    const config = { ...ctx.config, LOGIN_MAX_ATTEMPTS_PER_IP: 2 };
    const a = await newApp(config);
    try {
      const remoteAddress = '10.9.8.7';
      const attempt = (u: string) => a.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, payload: { username: u, password: 'wrong-password-x' } });
      expect((await attempt('x1')).statusCode).toBe(401);
      expect((await attempt('x2')).statusCode).toBe(401);
      expect((await attempt('x3')).statusCode).toBe(429);
    } finally {
      await a.close();
    }
  });
});

describe('behind a reverse proxy (TRUST_PROXY)', () => {
  it('takes the client\'s address, host and protocol from the trusted proxy, and from no one else', async () => {
    const PROXY = '10.0.0.1';
    const proxied = await newApp({ ...ctx.config, LOGIN_MAX_ATTEMPTS_PER_IP: 2, trustProxy: [PROXY] });
    try {
      let n = 0; // a new username each time: only the per-address limit (2) is at play, not the per-user one
      const attempt = (remoteAddress: string, client: string) =>
        proxied.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, headers: { 'x-forwarded-for': client }, payload: { username: `nobody-${++n}`, password: 'wrong-password-x' } });
      // through the proxy, each client counts on its own: the third failure of 198.51.100.7 waits, 198.51.100.8 does not
      expect((await attempt(PROXY, '198.51.100.7')).statusCode).toBe(401);
      expect((await attempt(PROXY, '198.51.100.7')).statusCode).toBe(401);
      expect((await attempt(PROXY, '198.51.100.7')).statusCode).toBe(429);
      expect((await attempt(PROXY, '198.51.100.8')).statusCode).toBe(401);
      // a peer that is not the proxy cannot pick its address: its own is counted, whatever it claims
      expect((await attempt('10.9.9.9', '198.51.100.21')).statusCode).toBe(401);
      expect((await attempt('10.9.9.9', '198.51.100.22')).statusCode).toBe(401);
      expect((await attempt('10.9.9.9', '198.51.100.23')).statusCode).toBe(429);

      // the proxy serves https://nabiz.example and passes Host on as its upstream's name
      const forwarded = { host: 'nabiz-api:8080', 'x-forwarded-host': 'nabiz.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.30' };
      const signIn = await proxied.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: PROXY, headers: forwarded, payload: { username: 'supervisor', password: PASSWORDS.supervisor } });
      expect(signIn.statusCode).toBe(200);
      const token = signIn.json<{ token: string }>().token;
      secrets.add(token);
      // the session cookie is Secure: the browser reached the proxy over https
      expect(String(signIn.headers['set-cookie'])).toMatch(/nabiz_session=.*; Secure/);
      const post = (remoteAddress: string) =>
        proxied.inject({
          method: 'POST',
          url: '/v1/displays',
          remoteAddress,
          headers: { ...forwarded, cookie: `nabiz_session=${token}`, [CSRF_HEADER]: '1', origin: 'https://nabiz.example' },
          payload: { name: 'proxied tv', board: 'main' },
        });
      const created = await post(PROXY);
      expect(created.statusCode, created.body).toBe(201);
      secrets.add(created.json<{ token: string }>().token);
      // the same request from a peer that is not the proxy: its X-Forwarded-Host is not believed, so it is cross-origin
      const spoofed = await post('10.9.9.9');
      expect(spoofed.statusCode).toBe(403);
      expect(spoofed.json()).toMatchObject({ error: { code: 'cross_origin' } });
    } finally {
      await proxied.close();
    }
  });
});

describe('cookies and CSRF', () => {
  it('a state-changing request made with the cookie needs the CSRF header; cross-origin ones are refused', async () => {
    const res = await login('supervisor', PASSWORDS.supervisor);
    const token = res.json<{ token: string }>().token;
    secrets.add(token);
    const cookie = `nabiz_session=${token}`;
    const payload = { name: 'cookie tv', board: 'main' };
    expect((await app.inject({ url: '/v1/displays', headers: { cookie } })).statusCode).toBe(200);
    const noHeader = await app.inject({ method: 'POST', url: '/v1/displays', headers: { cookie }, payload });
    expect(noHeader.statusCode).toBe(403);
    expect(noHeader.json()).toMatchObject({ error: { code: 'csrf' } });
    const withHeader = await app.inject({ method: 'POST', url: '/v1/displays', headers: { cookie, [CSRF_HEADER]: '1' }, payload });
    expect(withHeader.statusCode).toBe(201);
    secrets.add(withHeader.json<{ token: string }>().token);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/v1/displays',
      headers: { cookie, [CSRF_HEADER]: '1', origin: 'https://evil.example', host: 'nabiz.local' },
      payload,
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json()).toMatchObject({ error: { code: 'cross_origin' } });
  });

  it('security headers are on every response and CORS stays closed', async () => {
    for (const url of ['/healthz', '/v1/auth/me', '/nope']) {
      const res = await app.inject({ url, headers: { origin: 'https://elsewhere.example' } });
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBeDefined();
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v1/auth/me',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('display tokens', () => {
  async function createDisplay(a = app, as = tokens.supervisor): Promise<{ id: string; token: string }> {
    const res = await a.inject({ method: 'POST', url: '/v1/displays', headers: bearer(as), payload: { name: 'Wall', board: 'ops' } });
    expect(res.statusCode).toBe(201);
    const body = res.json<{ display: { id: string }; token: string; url: string }>();
    expect(body.token).toMatch(/^nbz_dt_[A-Za-z0-9_-]{43}$/);
    expect(body.url).toBe(`/?display=${body.token}`);
    secrets.add(body.token);
    return { id: body.display.id, token: body.token };
  }

  it('a good link is told to try again, not that it is invalid, when its address has spent its look-ups of unknown tokens', async () => {
    // an API process of its own: the budget is per process and address (inject comes from 127.0.0.1)
    const fresh = await newApp(ctx.config);
    try {
      const { token } = await createDisplay(fresh);
      // the budget is per minute: all 21 requests in one
      const second = new Date().getUTCSeconds();
      if (second >= 55) await sleep((61 - second) * 1000);
      const trade = (t: string) => fresh.inject({ method: 'POST', url: '/v1/auth/display', payload: { token: t } });
      // 20 made-up tokens from one address: unknown, 401 each
      for (let i = 0; i < 20; i++) expect((await trade(`nbz_dt_${'x'.repeat(42)}${i % 10}`)).statusCode).toBe(401);
      // then the TV's real link (not cached yet): 429 with Retry-After, which the wallboard retries, not a final 401
      const res = await trade(token);
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.json().error.code).toBe('rate_limited');
    } finally {
      await fresh.close();
    }
  });

  it("behind a proxy, a TV's stream is not refused for another client's guesses: the look-up budget is per client address", async () => {
    const proxied = await newApp({ ...ctx.config, trustProxy: ['127.0.0.1'] });
    try {
      const { token } = await createDisplay(proxied);
      await proxied.listen({ port: 0, host: '127.0.0.1' });
      const url = `ws://127.0.0.1:${(proxied.server.address() as { port: number }).port}/v1/stream`;
      const second = new Date().getUTCSeconds(); // the budget is per minute: all of it in one
      if (second >= 50) await sleep((61 - second) * 1000);
      // one client, through the proxy, spends its 20 look-ups of unknown tokens…
      for (let i = 0; i < 20; i++) {
        await expect(openSocket(`${url}?display=nbz_dt_${'x'.repeat(42)}${i % 10}`, { 'x-forwarded-for': '198.51.100.7' })).rejects.toMatchObject({ statusCode: 401 });
      }
      await expect(openSocket(`${url}?display=nbz_dt_${'y'.repeat(43)}`, { 'x-forwarded-for': '198.51.100.7' })).rejects.toMatchObject({ statusCode: 429 });
      // …another's TV, through the same proxy, still connects (its token not cached yet): before, both were the proxy
      const tv = await openSocket(`${url}?display=${token}`, { 'x-forwarded-for': '198.51.100.8' });
      tv.ws.terminate();
    } finally {
      await proxied.close();
    }
  });

  it('is read-only: the KPI read API yes, viewer-only and supervisor routes no', async () => {
    const { token } = await createDisplay();
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).json()).toMatchObject({ principal: { kind: 'display' } });
    expect((await app.inject({ method: 'PUT', url: '/v1/thresholds/thr_x', headers: bearer(token), payload: {} })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(token), payload: { name: 'x', board: 'y' } })).statusCode).toBe(403);
  });

  it('a TV trades its ?display= token for a long-lived HttpOnly cookie; the websocket helper accepts all three forms', async () => {
    const { token } = await createDisplay();
    const res = await app.inject({ method: 'POST', url: '/v1/auth/display', payload: { token } });
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^nabiz_display=nbz_dt_/);
    expect(cookie).toContain('HttpOnly');
    expect(Number(/Max-Age=(\d+)/.exec(cookie)?.[1])).toBeGreaterThan(300 * 86_400);
    expect((await app.inject({ url: '/v1/auth/me', headers: { cookie: `nabiz_display=${token}` } })).statusCode).toBe(200);

    const viaQuery = await app.auth.authenticateRaw({ headers: {}, url: `/v1/live?display=${token}` });
    const viaCookie = await app.auth.authenticateRaw({ headers: { cookie: `nabiz_display=${token}` }, url: '/v1/live' });
    const viaHeader = await app.auth.authenticateRaw({ headers: bearer(token), url: '/v1/live' });
    for (const p of [viaQuery, viaCookie, viaHeader]) expect(p).toMatchObject({ kind: 'display', name: 'Wall', board: 'ops' });
    expect(await app.auth.authenticateRaw({ headers: {}, url: '/v1/live?display=nbz_dt_x' })).toBeNull();
    // a person's session token in the address is not taken (it would sit in histories and proxy logs); as a header, yes
    expect(await app.auth.authenticateRaw({ headers: {}, url: `/v1/live?display=${tokens.supervisor}` })).toBeNull();
    expect(await app.auth.authenticateRaw({ headers: bearer(tokens.supervisor), url: '/v1/live' })).toMatchObject({ kind: 'user' });
    expect((await app.inject({ method: 'POST', url: '/v1/auth/display', payload: { token: 'nbz_dt_x' } })).statusCode).toBe(401);
  });

  it('revocation is refused at once in every process and announced to every process', async () => {
    const { id, token } = await createDisplay();
    const other = await newApp(ctx.config); // a second API process on the same ClickHouse and Redis
    try {
      const heard: Revocation[] = [];
      other.auth.onRevoked((r) => heard.push(r));
      await other.ready();
      await new Promise((r) => setTimeout(r, 200)); // let the subscriber connect
      expect((await other.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200); // now cached

      const revoke = await app.inject({ method: 'DELETE', url: `/v1/displays/${id}`, headers: bearer(tokens.supervisor) });
      expect(revoke.statusCode).toBe(200);
      expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
      expect((await other.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
      expect(await other.auth.authenticateRaw({ headers: {}, url: `/?display=${token}` })).toBeNull();

      const deadline = Date.now() + 5_000;
      while (!heard.some((r) => r.kind === 'display' && r.id === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(heard).toContainEqual({ kind: 'display', id });
    } finally {
      await other.close();
    }
  });

  it('changes made without Redis (the CLI beside a running all-in-one) are enforced by the watcher within seconds', async () => {
    const { id, token } = await createDisplay();
    const admin = bearer(tokens.admin);
    await app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin, payload: { username: 'offline', password: 'offline-password-1', role: 'viewer' } });
    const session = await loginToken('offline', 'offline-password-1');
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200); // cached in Redis
    const heard: Revocation[] = [];
    const off = app.auth.onRevoked((r) => heard.push(r));

    const noRedis = new AccessService({ store: new AccessStore(ctx.clickhouse), audit: new AuditLog(ctx.clickhouse) });
    const cli: Actor = { actor_kind: 'cli', actor_id: 'ops', actor_name: 'cli:ops', ip: '', user_agent: 'test' };
    await noRedis.revokeDisplay(cli, id);
    await noRedis.removeUser(cli, 'offline');

    const deadline = Date.now() + 8_000;
    const refused = async () =>
      (await app.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode === 401 &&
      (await app.inject({ url: '/v1/auth/me', headers: bearer(session) })).statusCode === 401;
    while (!(await refused()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    off();
    expect(await refused()).toBe(true);
    expect(heard).toContainEqual({ kind: 'display', id });
    expect(heard.some((r) => r.kind === 'user')).toBe(true);
  });

  it('keeps working across a restart of the API and of Redis (the durable record suffices), and is refused after revocation', async () => {
    const dirs = [await mkdtemp(path.join(os.tmpdir(), 'nabiz-redis-a-')), await mkdtemp(path.join(os.tmpdir(), 'nabiz-redis-b-'))];
    try {
      const first = await startEmbeddedRedis({ dataDir: dirs[0]! });
      let r = createRedis(first.url, 'commands');
      let a = await newApp(ctx.config, r);
      const { id, token } = await createDisplay(a, await loginToken('supervisor', PASSWORDS.supervisor, a));
      expect((await a.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200);
      await a.close();
      r.disconnect();
      await first.stop();

      // A new Redis with an empty data directory, and a new API process.
      const second = await startEmbeddedRedis({ dataDir: dirs[1]! });
      r = createRedis(second.url, 'commands');
      a = await newApp(ctx.config, r);
      try {
        expect((await a.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(200);
        const supervisor = await loginToken('supervisor', PASSWORDS.supervisor, a); // sessions did not survive; that is expected
        expect((await a.inject({ method: 'DELETE', url: `/v1/displays/${id}`, headers: bearer(supervisor) })).statusCode).toBe(200);
        expect((await a.inject({ url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
      } finally {
        await a.close();
        r.disconnect();
        await second.stop();
      }
    } finally {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  });
});

describe('audit log and CLI', () => {
  it('records logins, user changes, key and display creation and revocation, with actor and address', async () => {
    const res = await app.inject({ url: '/v1/admin/audit?limit=1000', headers: bearer(tokens.admin) });
    expect(res.statusCode).toBe(200);
    const entries = res.json<{ entries: Array<Record<string, string>> }>().entries;
    const actions = new Set(entries.map((e) => `${e.action}:${e.outcome}`));
    for (const a of ['auth.login:ok', 'auth.login:failed', 'auth.login:rate_limited', 'user.create:ok', 'user.update:ok', 'user.remove:ok',
      'ingest_key.create:ok', 'ingest_key.revoke:ok', 'display.create:ok', 'display.revoke:ok', 'auth.logout:ok']) {
      expect(actions, a).toContain(a);
    }
    const created = entries.find((e) => e.action === 'user.create' && e.actor_name === 'admin')!;
    expect(created).toMatchObject({ actor_kind: 'user', object_kind: 'user', ip: '127.0.0.1' });
    expect(created.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse(created.details!)).toHaveProperty('role');
    const raw = await (await ctx.clickhouse.query({ query: 'SELECT * FROM audit_log', format: 'JSONEachRow' })).text();
    for (const s of secrets) expect(raw).not.toContain(s);
  });

  it('the CLI creates and revokes keys, manages users and displays', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      CLICKHOUSE_URL: ctx.config.CLICKHOUSE_URL!,
      CLICKHOUSE_DATABASE: ctx.config.CLICKHOUSE_DATABASE,
      REDIS_URL: ctx.config.REDIS_URL!,
      REDIS_PREFIX: ctx.config.REDIS_PREFIX,
      LOG_LEVEL: 'warn',
    };
    const run = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/nabiz.ts', ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
        child.stdin.end('cli-user-password-1\n');
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const created = await run('keys', 'create', 'crm', '--name', 'CRM from CLI', '--json');
    expect(created.code, created.out).toBe(0);
    const { id, token } = JSON.parse(created.out) as { id: string; token: string };
    secrets.add(token);
    expect((await app.inject({ url: '/v1/events/schema', headers: bearer(token) })).statusCode).toBe(200);
    const listed = await run('keys', 'list');
    expect(listed.out).toContain(id);
    expect(listed.out).not.toContain(token);
    expect((await run('keys', 'revoke', id)).code).toBe(0);
    expect((await app.inject({ url: '/v1/events/schema', headers: bearer(token) })).statusCode).toBe(401);

    const add = await run('users', 'add', 'cli-user', '--role', 'supervisor');
    expect(add.code, add.out).toBe(0);
    secrets.add('cli-user-password-1');
    const session = await loginToken('cli-user', 'cli-user-password-1');
    expect((await app.inject({ url: '/v1/displays', headers: bearer(session) })).statusCode).toBe(200);
    const removed = await run('users', 'remove', 'cli-user');
    expect(removed.code, removed.out).toBe(0);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(session) })).statusCode).toBe(401);

    const display = await run('displays', 'create', '--name', 'CLI TV', '--board', 'main', '--json');
    expect(display.code, display.out).toBe(0);
    const d = JSON.parse(display.out) as { id: string; token: string };
    secrets.add(d.token);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(d.token) })).statusCode).toBe(200);
    expect((await run('displays', 'revoke', d.id)).code).toBe(0);
    expect((await app.inject({ url: '/v1/auth/me', headers: bearer(d.token) })).statusCode).toBe(401);

    const bad = await run('users', 'frobnicate');
    expect(bad.code).toBe(2);
  });

  it('tokens and passwords never appear in the log', () => {
    expect(captured.lines.length).toBeGreaterThan(20);
    const text = captured.lines.join('\n');
    expect(secrets.size).toBeGreaterThan(8);
    for (const s of secrets) expect(text, 'a secret was logged').not.toContain(s);
    expect(text).not.toContain('nbz_st_');
    expect(text).not.toContain('nbz_dt_');
    expect(text).not.toContain('nbz_ik_');
  });
});
