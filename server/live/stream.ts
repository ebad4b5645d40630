// GET /v1/stream: the live websocket (protocol: server/live/protocol.ts, docs/live.md). Its own encapsulated scope:
// @fastify/websocket, the upgrade guard (bearer token, session or display cookie, or ?display=; readers only; same
// origin), the per-process hub, heartbeats, and the closing of sockets whose credentials are revoked.
import type { ClickHouseClient } from '@clickhouse/client';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Principal } from '../auth/principal.ts';
import { permits } from '../auth/roles.ts';
import type { DisplayScopes } from '../boards/display-scopes.ts';
import type { Config } from '../config.ts';
import { ApiError, errorBody } from '../errors.ts';
import type { SourceActivity } from '../ingest/activity.ts';
import type { Log } from '../log.ts';
import { startHeartbeat } from './heartbeat.ts';
import { FIGURES_CHECK_MS } from './conditions.ts';
import { CLOSE_TOO_MANY, LiveHub, type LiveSocket } from './hub.ts';
import type { DisplayPresence } from './presence.ts';
import { crossOrigin } from '../auth/origin.ts';
import { within } from '../within.ts';

export interface LiveStreamOptions {
  config: Config;
  log: Log;
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** A dedicated connection for the subscription (default: a duplicate of `redis`, closed with the app). */
  subscriber?: Redis;
  /** When each source last sent (the screens are told which have gone quiet). */
  activity?: Pick<SourceActivity, 'lastStored'>;
  /** Where the displays' sockets are noted (Console → Displays). */
  presence?: DisplayPresence;
  /** What a display may subscribe to: the scopes of its boards. */
  displayScopes: DisplayScopes;
  /** The clock (tests). */
  now?: () => number;
}

/** Largest client message (a subscribe of 200 long scopes fits). Larger: the socket is closed with 1009. */
const MAX_PAYLOAD_BYTES = 128 * 1024;

/** What `ws` gives the handler, as far as we use it. */
interface WsSocket extends LiveSocket {
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
  on(event: 'pong' | 'close', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This process's live-stream hub (socket count and stats for health checks, tests and the bench). */
    liveHub: LiveHub;
  }
  interface FastifyRequest {
    livePrincipal?: Principal;
  }
}

async function liveStream(root: FastifyInstance, opts: LiveStreamOptions): Promise<void> {
  const { config, log } = opts;

  const subscriber = opts.subscriber ?? opts.redis.duplicate({ connectionName: 'nabiz:live', maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined });
  subscriber.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (live subscriber)'));
  const hub = new LiveHub({
    config,
    log,
    clickhouse: opts.clickhouse,
    redis: opts.redis,
    subscriber,
    displayScopes: opts.displayScopes,
    sessions: root.auth.sessions,
    ...(opts.activity ? { sources: { activity: opts.activity, quietAfterMs: config.sourceQuietMs } } : {}),
    ...(opts.presence ? { presence: opts.presence } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  root.decorate('liveHub', hub);
  // A Redis that is down must not stop the API from starting (ioredis subscribes once it connects), but normally
  // the process is only ready once subscribed, so a screen connecting right away misses nothing.
  const started = hub.start().catch((err: Error) => log.warn({ err: err.message }, 'live: could not subscribe to the KPI channels'));
  root.addHook('onReady', async () => {
    await within(2_000, started).catch(() => {});
  });
  const heartbeat = startHeartbeat(hub, config.STREAM_HEARTBEAT_MS);
  const figures = setInterval(() => void hub.checkFigures(), FIGURES_CHECK_MS);
  figures.unref();
  const offRevoked = root.auth.onRevoked((r) => hub.revoke(r));
  root.addHook('preClose', async () => {
    heartbeat.stop();
    clearInterval(figures);
    offRevoked();
    hub.closeAll();
  });
  root.addHook('onClose', async () => {
    if (!opts.subscriber) subscriber.disconnect();
  });
  // The route and @fastify/websocket in a scope of their own.
  await root.register(async (app) => routes(app, hub));
}

async function routes(app: FastifyInstance, hub: LiveHub): Promise<void> {
  const log = app.log;
  await app.register(websocket, { options: { maxPayload: MAX_PAYLOAD_BYTES } });

  async function guard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (crossOrigin(request)) return reply.code(403).send(errorBody('cross_origin', 'cross-origin websockets are not accepted'));
    let principal: Principal | null;
    try {
      // request.ip: behind a proxy (TRUST_PROXY) the client's, so look-up budgets are each client's, not the proxy's
      principal = await app.auth.authenticateRaw(request.raw, request.ip);
    } catch (err) {
      if (err instanceof ApiError) return reply.code(err.statusCode).headers(err.headers).send(errorBody(err.code, err.message));
      throw err;
    }
    if (!principal) return reply.code(401).header('www-authenticate', 'Bearer realm="nabiz"').send(errorBody('unauthorized', 'sign in, or send a bearer or display token'));
    if (!permits(principal, 'reader')) return reply.code(403).send(errorBody('forbidden', 'this credential cannot read the live stream'));
    request.livePrincipal = principal;
    return undefined;
  }

  app.get(
    '/v1/stream',
    { websocket: true, onRequest: guard, schema: { hide: true } },
    (socket: WsSocket, request: FastifyRequest) => {
      const principal = request.livePrincipal!;
      if (!hub.mayConnect(principal)) {
        socket.send(JSON.stringify({ type: 'error', code: 'too_many_sockets', message: 'this credential has as many live connections open here as it may (STREAM_MAX_SOCKETS_PER_CREDENTIAL): close one' }));
        socket.close(CLOSE_TOO_MANY, 'too many sockets');
        return;
      }
      const client = hub.add(socket, principal, request.ip);
      // Listeners first (before any await), so nothing the client sends or any error is missed.
      socket.on('error', (err) => log.debug({ err: err.message, client: client.id }, 'live: socket error'));
      socket.on('close', () => hub.remove(client));
      socket.on('pong', () => {
        client.alive = true;
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) {
          client.alive = true;
          hub.send(client, JSON.stringify({ type: 'error', code: 'bad_message', message: 'messages must be JSON text frames' }));
          return;
        }
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
        void hub.handle(client, text);
      });
    },
  );
}

/** Registered at the root (it decorates `app.liveHub`); the websocket route itself lives in its own scope. */
export const liveStreamRoutes = fp(liveStream, { name: 'nabiz-live', fastify: '5.x', dependencies: ['nabiz-auth'] });
