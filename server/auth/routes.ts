// The access-control HTTP API:
//   POST   /v1/auth/login                 open (rate-limited)   {username, password} → {token, user}, sets the session cookie
//   POST   /v1/auth/logout                reader                ends the session (or forgets the display cookie)
//   GET    /v1/auth/me                    reader                who am I
//   POST   /v1/auth/password              user                  {currentPassword, newPassword}: ends every session of the
//                                                               user, signs this one in again → as login
//   POST   /v1/auth/display               open                  {token}: a TV trades its ?display= token for an HttpOnly cookie,
//                                                               renewed monthly on its guarded requests (plugin.ts)
//   GET    /v1/displays                   supervisor            display tokens (never the tokens themselves), and when each was last connected
//   POST   /v1/displays                   supervisor            {name, board} → {display, token, url}: the token is shown once
//   DELETE /v1/displays/:id               supervisor            revoke
//   POST   /v1/displays/:id/identify      supervisor            the TV shows its name for 15 s (which screen is it?) → 202
//   GET    /v1/admin/users                admin
//   POST   /v1/admin/users                admin                 {username, password, role}
//   PATCH  /v1/admin/users/:username      admin                 {role?, password?}: ends the user's sessions
//   DELETE /v1/admin/users/:username      admin
//   GET    /v1/admin/ingest-keys          admin
//   POST   /v1/admin/ingest-keys          admin                 {source, name} → {key, token}: the key is shown once
//   DELETE /v1/admin/ingest-keys/:id      admin                 revoke
//   GET    /v1/admin/audit                admin                 ?since=&until=&action=&actor=&limit=
// Request bodies of these routes are never logged (Fastify does not log bodies; keep it that way).
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { INGEST_SOURCES } from '../config.ts';
import { ApiError, errorBody } from '../errors.ts';
import { cookieOptions, CSRF_HEADER, DISPLAY_COOKIE, DISPLAY_ISSUED_COOKIE, SESSION_COOKIE } from './plugin.ts';
import { IDENTIFY_SECONDS, withPresence, type DisplayPresence } from '../live/presence.ts';
import type { Principal, PublicPrincipal } from './principal.ts';
import { ROLES } from './roles.ts';
import type { UserRecord } from './store.ts';
import { burnPasswordCheck, isTokenOf, verifyPassword } from './tokens.ts';

const Username = Type.String({ minLength: 1, maxLength: 128 });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Id = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

function publicPrincipal(p: Principal): PublicPrincipal {
  if (p.kind === 'user') return { kind: p.kind, userId: p.userId, username: p.username, role: p.role };
  return { ...p };
}

/** 429 with Retry-After: over a login limit (server/auth/rate-limit.ts), before any password is checked. */
function tooManyFailures(what: string, retryAfterSeconds: number): ApiError {
  return new ApiError(429, 'rate_limited', `too many ${what}: try again in ${retryAfterSeconds} s`, undefined, { 'retry-after': String(retryAfterSeconds) });
}

export async function authRoutes(parent: FastifyInstance, opts: { presence: Pick<DisplayPresence, 'all' | 'identify'> }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { auth } = parent;

  // --- sign-in ---

  app.post('/v1/auth/login', { schema: { body: Type.Object({ username: Username, password: Password }, { additionalProperties: false }) } }, async (request, reply) => {
    const { username: rawUsername, password } = request.body;
    const username = rawUsername.trim().toLowerCase();
    const actor = auth.actorOf(request);
    const verdict = await auth.limiter.attempt(username, request.ip);
    if (verdict.limited) {
      await auth.audit.record(actor, { action: 'auth.login', outcome: 'rate_limited', object_kind: 'user', object_id: '' });
      throw tooManyFailures('failed logins', verdict.retryAfterSeconds);
    }
    const user = await auth.service.store.getUser(username);
    const ok = user ? await verifyPassword(password, user.passwordHash) : await burnPasswordCheck(password);
    if (!user || !ok) {
      // The same answer for an unknown user and a wrong password; the audit log keeps only a known user's id.
      await auth.audit.record(actor, { action: 'auth.login', outcome: 'failed', object_kind: 'user', object_id: user?.id ?? '' });
      return reply.code(401).send(errorBody('invalid_credentials', 'wrong username or password'));
    }
    await auth.limiter.succeeded(username, request.ip);
    const session = await auth.service.startSession(user);
    await auth.audit.record(
      { ...actor, actor_kind: 'user', actor_id: user.id, actor_name: user.username },
      { action: 'auth.login', object_kind: 'session', object_id: session.sessionId.slice(0, 16), details: { role: user.role } },
    );
    return signedIn(reply, session.token, user);
  });

  /** The answer to a sign-in: the session cookie for a browser, the token for a script. */
  function signedIn(reply: FastifyReply, token: string, user: UserRecord) {
    reply.setCookie(SESSION_COOKIE, token, cookieOptions());
    return {
      token,
      tokenType: 'Bearer',
      expiresInSeconds: auth.sessions.ttlSeconds,
      csrfHeader: CSRF_HEADER,
      user: { id: user.id, username: user.username, role: user.role },
    };
  }

  // A person changes their own password. The current one is checked under the login limits (a session left open on
  // a shared PC must not become a way to guess it); then every session of the user ends, on every device, and this
  // browser gets a new one.
  app.post(
    '/v1/auth/password',
    {
      onRequest: auth.require('viewer'), // people only: a display has no password
      schema: { body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }) },
    },
    async (request, reply) => {
      const p = request.principal!;
      if (p.kind !== 'user') throw new ApiError(403, 'forbidden', 'only a person signed in with a password can change it');
      const actor = auth.actorOf(request);
      const verdict = await auth.limiter.attempt(p.username, request.ip);
      if (verdict.limited) {
        await auth.audit.record(actor, { action: 'user.password', outcome: 'rate_limited', object_kind: 'user', object_id: p.userId });
        throw tooManyFailures('wrong passwords', verdict.retryAfterSeconds);
      }
      const user = await auth.service.store.getUser(p.username);
      if (!user || user.id !== p.userId) throw new ApiError(401, 'invalid_token', 'this session has ended');
      if (!(await verifyPassword(request.body.currentPassword, user.passwordHash))) {
        await auth.audit.record(actor, { action: 'user.password', outcome: 'failed', object_kind: 'user', object_id: user.id });
        const message = 'is not your current password';
        return reply.code(403).send(errorBody('wrong_password', `the current password ${message}`, [{ path: '/currentPassword', message }]));
      }
      await auth.limiter.succeeded(p.username, request.ip);
      const updated = await auth.service.changeOwnPassword(actor, user, request.body);
      const session = await auth.service.startSession(updated);
      return signedIn(reply, session.token, user);
    },
  );

  app.post('/v1/auth/logout', { onRequest: auth.require('reader') }, async (request, reply) => {
    const p = request.principal!;
    if (p.kind === 'user') {
      await auth.service.endSession(p.sessionId, p.userId);
      await auth.audit.record(auth.actorOf(request), { action: 'auth.logout', object_kind: 'session', object_id: p.sessionId.slice(0, 16) });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
    } else {
      reply.clearCookie(DISPLAY_COOKIE, { path: '/' });
      reply.clearCookie(DISPLAY_ISSUED_COOKIE, { path: '/' });
    }
    return reply.code(204).send();
  });

  app.get('/v1/auth/me', { onRequest: auth.require('reader') }, async (request) => ({ principal: publicPrincipal(request.principal!) }));

  app.post('/v1/auth/display', { schema: { body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }) } }, async (request, reply) => {
    const { token } = request.body;
    const p = isTokenOf('display', token) ? await auth.authenticator.resolve(token, request.ip) : null;
    if (!p || p.kind !== 'display') {
      return reply.code(401).header('www-authenticate', 'Bearer realm="nabiz", error="invalid_token"').send(errorBody('invalid_token', 'this display token is invalid or revoked'));
    }
    auth.setDisplayCookie(reply, token); // for 400 days, set again while the TV uses it (plugin.ts)
    return { principal: publicPrincipal(p) };
  });

  // --- display tokens (supervisors and admins) ---

  const supervisor = { onRequest: auth.require('supervisor') };
  app.get('/v1/displays', supervisor, async () => {
    // whether each TV is on the air: best effort (Redis down: unknown, the list still answers)
    const { displays, known } = await withPresence(await auth.service.listDisplays(), opts.presence);
    return { displays, presence: known ? 'known' : 'unavailable' };
  });
  app.post(
    '/v1/displays',
    { ...supervisor, schema: { body: Type.Object({ name: Type.String({ maxLength: 200 }), board: Type.String({ maxLength: 200 }) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const { display, token } = await auth.service.createDisplay(auth.actorOf(request), request.body);
      return reply.code(201).send({ display, token, url: `/?display=${token}` });
    },
  );
  app.delete('/v1/displays/:id', { ...supervisor, schema: { params: Id } }, async (request) => ({
    display: await auth.service.revokeDisplay(auth.actorOf(request), request.params.id),
  }));
  // the TV shows its name for a few seconds (which screen on the wall is it?); 404 for an unknown or revoked display
  app.post('/v1/displays/:id/identify', { ...supervisor, schema: { params: Id } }, async (request, reply) => {
    const display = await auth.service.store.getCredential('display', request.params.id);
    if (!display || display.revokedAt) throw new ApiError(404, 'not_found', 'no such display (or it was revoked)');
    await opts.presence.identify(display.id);
    return reply.code(202).send({ seconds: IDENTIFY_SECONDS });
  });

  // --- users, ingest keys, audit (admins) ---

  const admin = { onRequest: auth.require('admin') };
  app.get('/v1/admin/users', admin, async () => ({ users: await auth.service.listUsers() }));
  app.post(
    '/v1/admin/users',
    { ...admin, schema: { body: Type.Object({ username: Username, password: Password, role: RoleSchema }, { additionalProperties: false }) } },
    async (request, reply) => reply.code(201).send({ user: await auth.service.createUser(auth.actorOf(request), request.body) }),
  );
  app.patch(
    '/v1/admin/users/:username',
    {
      ...admin,
      schema: {
        params: Type.Object({ username: Username }),
        body: Type.Object({ role: Type.Optional(RoleSchema), password: Type.Optional(Password) }, { additionalProperties: false }),
      },
    },
    async (request) => ({ user: await auth.service.updateUser(auth.actorOf(request), request.params.username, request.body) }),
  );
  app.delete('/v1/admin/users/:username', { ...admin, schema: { params: Type.Object({ username: Username }) } }, async (request, reply) => {
    await auth.service.removeUser(auth.actorOf(request), request.params.username);
    return reply.code(204).send();
  });

  app.get('/v1/admin/ingest-keys', admin, async () => ({ keys: await auth.service.listIngestKeys() }));
  app.post(
    '/v1/admin/ingest-keys',
    {
      ...admin,
      schema: { body: Type.Object({ source: Type.Union(INGEST_SOURCES.map((s) => Type.Literal(s))), name: Type.String({ maxLength: 200 }) }, { additionalProperties: false }) },
    },
    async (request, reply) => reply.code(201).send(await auth.service.createIngestKey(auth.actorOf(request), request.body)),
  );
  app.delete('/v1/admin/ingest-keys/:id', { ...admin, schema: { params: Id } }, async (request) => ({
    key: await auth.service.revokeIngestKey(auth.actorOf(request), request.params.id),
  }));

  app.get(
    '/v1/admin/audit',
    {
      ...admin,
      schema: {
        querystring: Type.Object({
          since: Type.Optional(Type.String({ format: 'date-time' })),
          until: Type.Optional(Type.String({ format: 'date-time' })),
          action: Type.Optional(Type.String({ maxLength: 64 })),
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const q = request.query;
      return {
        entries: await auth.audit.query({
          sinceMs: q.since ? Date.parse(q.since) : undefined,
          untilMs: q.until ? Date.parse(q.until) : undefined,
          action: q.action,
          actor: q.actor,
          limit: q.limit,
        }),
      };
    },
  );
}
