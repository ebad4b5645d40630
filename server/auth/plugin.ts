// The auth plugin: security headers, cookies, the CSRF check, `request.principal` and the route guards
// (`app.auth.require(...)`, `app.auth.requireIngest()`), plus the revocation notices for the live stream.
// Registered once at the root (fastify-plugin), before every other route.
//
//   app.get('/v1/kpis', { onRequest: app.auth.require('reader') }, handler)      viewers+ and display tokens
//   app.put('/v1/thresholds/:id', { onRequest: app.auth.require('supervisor') }, handler)
//   app.post('/v1/events', { onRequest: app.auth.requireIngest() }, handler)      an ingest key (request.principal.source)
import type { ClickHouseClient } from '@clickhouse/client';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import type { IncomingHttpHeaders } from 'node:http';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Log } from '../log.ts';
import type { Actor } from './audit.ts';
import { AuditLog } from './audit.ts';
import { Authenticator } from './authenticate.ts';
import { CredentialCache } from './cache.ts';
import { ApiError, errorBody, unavailable } from '../errors.ts';
import type { Principal } from './principal.ts';
import { describePrincipal } from './principal.ts';
import { LoginLimiter } from './rate-limit.ts';
import { RevocationBus, type RevocationListener } from './revocation.ts';
import { permits, type Requirement } from './roles.ts';
import { AccessService, bootstrapAdmin } from './service.ts';
import { Sessions } from './sessions.ts';
import { AccessStore } from './store.ts';
import { isTokenOf } from './tokens.ts';
import { startRevocationWatcher } from './watch.ts';
import { crossOrigin } from './origin.ts';

export const SESSION_COOKIE = 'nabiz_session';
export const DISPLAY_COOKIE = 'nabiz_display';
/**
 * Set beside the display cookie: when the server last set it (Unix seconds). A browser keeps a cookie at most about
 * 400 days from the last time it was set, however often it is sent back, so a TV's cookie is set again once it is
 * older than DISPLAY_RENEW_AFTER_SECONDS (a display cookie without this one predates renewal: renewed at once).
 */
export const DISPLAY_ISSUED_COOKIE = 'nabiz_display_issued';
/** What browsers allow at most (longer values are cut to about 400 days). */
export const DISPLAY_COOKIE_MAX_AGE = 400 * 86_400;
/** Renewed on the TV's first guarded request after this age: at most one Set-Cookie a month per TV. */
export const DISPLAY_RENEW_AFTER_SECONDS = 30 * 86_400;
/** Header a browser must send with state-changing requests that rely on a cookie (a cross-site form cannot). */
export const CSRF_HEADER = 'x-nabiz-csrf';

export interface AuthPluginOptions {
  config: Config;
  log: Log;
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** A dedicated connection for the revocation channel (default: a duplicate of `redis`, closed with the app). */
  subscriber?: Redis;
  /** How often the revocation watcher polls ClickHouse (default 3 s). */
  watchIntervalMs?: number;
  /** The clock the display cookie's renewal follows (default Date.now). */
  now?: () => number;
}

export interface AuthApi {
  /** onRequest guard: 401 without valid credentials, 403 when the principal lacks the requirement. */
  require(requirement: Requirement): onRequestAsyncHookHandler;
  /** onRequest guard for event ingestion: only ingest keys (Authorization header), 401/403 otherwise. */
  requireIngest(): onRequestAsyncHookHandler;
  /** The principal of a request (header or cookies), or null; memoised on the request. */
  authenticate(request: FastifyRequest): Promise<Principal | null>;
  /**
   * For the websocket upgrade: accepts `Authorization: Bearer`, the session or display cookie, and a `display` query
   * parameter (a display token only: a session's would sit in histories and proxy logs). Null when none is valid.
   * Works on a Fastify request or a raw IncomingMessage; `ip`: the client's address as TRUST_PROXY reads it (Fastify's
   * request.ip), else the socket's.
   */
  authenticateRaw(req: { headers: IncomingHttpHeaders; url?: string; socket?: { remoteAddress?: string } }, ip?: string): Promise<Principal | null>;
  /** Revocation notices from every API process; returns an unsubscribe function. May repeat a notice. */
  onRevoked(listener: RevocationListener): () => void;
  /** Who is acting, for the audit log. */
  actorOf(request: FastifyRequest): Actor;
  service: AccessService;
  sessions: Sessions;
  audit: AuditLog;
  limiter: LoginLimiter;
  authenticator: Authenticator;
  /** Sets the display cookie (and its issue time) for the full DISPLAY_COOKIE_MAX_AGE. */
  setDisplayCookie(reply: FastifyReply, token: string): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthApi;
  }
  interface FastifyRequest {
    /** Set by the auth guards; null on open routes. */
    principal: Principal | null;
  }
}

/** The attributes of the session and display cookies. */
export function cookieOptions(maxAge?: number) {
  return { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: 'auto' as const, ...(maxAge ? { maxAge } : {}) };
}

/** Whether a display cookie set at `issued` (DISPLAY_ISSUED_COOKIE's value) is due to be set again. */
export function displayCookieDue(issued: string | undefined, nowMs: number): boolean {
  const at = issued && /^\d{1,12}$/.test(issued) ? Number(issued) : NaN;
  // missing, unreadable, a month old, or far in the future (a clock that was wrong): renew
  return !(Math.abs(nowMs / 1000 - at) < DISPLAY_RENEW_AFTER_SECONDS);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const identity = Symbol('nabiz.identity');

interface Identity {
  principal: Principal | null;
  via: 'header' | 'cookie' | null;
  /** the cookie the principal came from, when via === 'cookie' */
  cookie?: string;
  /** credentials were presented (an invalid token answers 401 with error="invalid_token") */
  presented: boolean;
}
type WithIdentity = FastifyRequest & { [identity]?: Promise<Identity> };

function bearer(headers: IncomingHttpHeaders): string | undefined {
  const h = headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m ? m[1] : '';
}

function unauthorized(reply: FastifyReply, presented: boolean): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', presented ? 'Bearer realm="nabiz", error="invalid_token"' : 'Bearer realm="nabiz"')
    .send(errorBody(presented ? 'invalid_token' : 'unauthorized', presented ? 'the credentials are invalid, expired or revoked' : 'sign in or send a bearer token'));
}

function forbidden(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.code(403).send(errorBody(code, message));
}

async function auth(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  const { config, log } = opts;
  const prefix = config.REDIS_PREFIX;
  const now = opts.now ?? Date.now;

  // Security headers on every response. No upgrade-insecure-requests: wallboards often run on plain http in a LAN.
  // helmet's middleware is built once here; @fastify/helmet built it again for every request (~10 % of the API's CPU
  // per ingest request, measured).
  const securityHeaders = helmet({ contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } } });
  app.addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)));
  if (!app.hasRequestDecorator('cookies')) await app.register(fastifyCookie);
  // CORS stays closed: no Access-Control-Allow-* header is ever sent, so browsers keep other origins out.

  const store = new AccessStore(opts.clickhouse);
  const audit = new AuditLog(opts.clickhouse, log);
  const sessions = new Sessions(opts.redis, prefix, config.SESSION_TTL_SECONDS);
  const cache = new CredentialCache(opts.redis, prefix, log);
  const bus = new RevocationBus(opts.redis, prefix, log);
  const service = new AccessService({ store, audit, sessions, cache, bus, log });
  const authenticator = new Authenticator({ store, sessions, cache, ingestKeys: config.INGEST_KEYS, log });
  const limiter = new LoginLimiter(opts.redis, prefix, {
    maxPerUser: config.LOGIN_MAX_FAILURES_PER_USER,
    maxPerIp: config.LOGIN_MAX_ATTEMPTS_PER_IP,
    windowSeconds: config.LOGIN_WINDOW_SECONDS,
  });

  const subscriber = opts.subscriber ?? opts.redis.duplicate({ connectionName: 'nabiz:subscriber', maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined });
  subscriber.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (subscriber)'));
  // Not awaited: a Redis that is down must not stop the API from starting; ioredis subscribes once it connects.
  bus.listen(subscriber).catch((err: Error) => log.warn({ err: err.message }, 'could not subscribe to revocation notices'));
  const watcher = startRevocationWatcher({ store, sessions, cache, bus, log, intervalMs: opts.watchIntervalMs ?? 3_000 });
  app.addHook('onClose', async () => {
    await watcher.stop();
    await bus.close();
  });

  await bootstrapAdmin(service, config.ADMIN_PASSWORD, log);

  async function fromToken(token: string, ip: string): Promise<Principal | null> {
    try {
      return await authenticator.resolve(token, ip);
    } catch (err) {
      if (err instanceof ApiError) throw err; // a refusal (the look-up budget), not a failure
      log.error({ err: (err as Error).message }, 'credential check failed');
      throw unavailable('credentials cannot be checked right now');
    }
  }

  async function identifyHeaders(headers: IncomingHttpHeaders, ip: string, cookies: Record<string, string | undefined>, allowCookies: boolean): Promise<Identity> {
    const token = bearer(headers);
    if (token !== undefined) return { principal: token ? await fromToken(token, ip) : null, via: 'header', presented: true };
    if (!allowCookies) return { principal: null, via: null, presented: false };
    for (const name of [SESSION_COOKIE, DISPLAY_COOKIE]) {
      const value = cookies[name];
      if (!value) continue;
      const principal = await fromToken(value, ip);
      if (principal) return { principal, via: 'cookie', cookie: name, presented: true };
    }
    const presented = Boolean(cookies[SESSION_COOKIE] || cookies[DISPLAY_COOKIE]);
    return { principal: null, via: null, presented };
  }

  function identify(request: FastifyRequest): Promise<Identity> {
    const r = request as WithIdentity;
    r[identity] ??= identifyHeaders(request.headers, request.ip, request.cookies ?? {}, true).then((id) => {
      request.principal = id.principal;
      return id;
    });
    return r[identity];
  }

  app.decorateRequest('principal', null);

  // Cross-site state-changing requests are refused outright, whatever they carry.
  app.addHook('onRequest', async (request, reply) => {
    if (UNSAFE.has(request.method) && crossOrigin(request)) {
      return forbidden(reply, 'cross_origin', 'cross-origin requests are not accepted');
    }
  });

  const api: AuthApi = {
    require(requirement) {
      return async function requireGuard(request, reply) {
        const id = await identify(request);
        if (!id.principal) return unauthorized(reply, id.presented);
        if (!permits(id.principal, requirement)) {
          const why = requirement === 'reader' ? 'this credential cannot read KPIs' : requirement === 'docs' ? 'the API reference is for people and ingest keys' : `this needs the ${requirement} role`;
          return forbidden(reply, 'forbidden', why);
        }
        if (id.via === 'cookie' && UNSAFE.has(request.method) && !request.headers[CSRF_HEADER]) {
          return forbidden(reply, 'csrf', `a request signed in with a cookie must send the ${CSRF_HEADER} header`);
        }
        // A TV signed in with its cookie: set it again once a month, so it never lapses while the TV is in use (the TV
        // reads its board every few seconds). Only a token that was just found valid gets here: never a revoked one.
        if (id.cookie === DISPLAY_COOKIE && id.principal.kind === 'display' && displayCookieDue(request.cookies[DISPLAY_ISSUED_COOKIE], now())) {
          api.setDisplayCookie(reply, request.cookies[DISPLAY_COOKIE]!);
        }
      };
    },
    requireIngest() {
      return async function ingestGuard(request, reply) {
        const r = request as WithIdentity;
        r[identity] ??= identifyHeaders(request.headers, request.ip, {}, false).then((id) => {
          request.principal = id.principal;
          return id;
        });
        const id = await r[identity];
        if (!id.principal) return unauthorized(reply, id.presented);
        if (id.principal.kind !== 'ingest') return forbidden(reply, 'forbidden', 'sending events needs an ingest key');
      };
    },
    authenticate: async (request) => (await identify(request)).principal,
    async authenticateRaw(req, ip = req.socket?.remoteAddress ?? '') {
      const cookies = req.headers.cookie ? app.parseCookie(req.headers.cookie) : {};
      const id = await identifyHeaders(req.headers, ip, cookies, true);
      if (id.principal || id.via === 'header') return id.principal;
      const display = new URL(req.url ?? '/', 'http://x').searchParams.get('display');
      return display && isTokenOf('display', display) ? fromToken(display, ip) : null;
    },
    onRevoked: (listener) => bus.onRevoked(listener),
    actorOf(request) {
      const base = { ip: request.ip ?? '', user_agent: String(request.headers['user-agent'] ?? '') };
      const p = request.principal;
      if (!p) return { ...base, actor_kind: 'anonymous', actor_id: '', actor_name: '' };
      return { ...base, ...(describePrincipal(p) as Pick<Actor, 'actor_kind' | 'actor_id' | 'actor_name'>) };
    },
    service,
    sessions,
    audit,
    limiter,
    authenticator,
    setDisplayCookie(reply, token) {
      reply.setCookie(DISPLAY_COOKIE, token, cookieOptions(DISPLAY_COOKIE_MAX_AGE));
      reply.setCookie(DISPLAY_ISSUED_COOKIE, String(Math.floor(now() / 1000)), cookieOptions(DISPLAY_COOKIE_MAX_AGE));
    },
  };
  app.decorate('auth', api);
}

export const authPlugin = fp(auth, { name: 'nabiz-auth', fastify: '5.x' });
