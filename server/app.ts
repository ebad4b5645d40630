// buildApp(): the HTTP application, built apart from listen() so tests can drive it with inject().
// Each surface is its own encapsulated scope: health, ingest (ingest keys, its own body parsers and limits),
// the read/admin API, and the static wallboard.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { AccessLog } from './access-log.ts';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { alertRoutes } from './alerts/routes.ts';
import { authPlugin } from './auth/plugin.ts';
import { authRoutes } from './auth/routes.ts';
import { backupOutcomes } from './backup-schedule.ts';
import { DisplayScopes } from './boards/display-scopes.ts';
import { boardRoutes } from './boards/routes.ts';
import { BoardStore } from './boards/store.ts';
import type { Config } from './config.ts';
import { errorBody, installErrorHandling, RETRY_AFTER_S } from './errors.ts';
import { hostName, isLoopbackHost } from './loopback.ts';
import { healthRoutes } from './health.ts';
import { Deduplicator } from './ingest/dedupe.ts';
import { SourceActivity } from './ingest/activity.ts';
import { ingestRoutes } from './ingest/routes.ts';
import { sourceRoutes } from './ingest/sources.ts';
import { RejectedWriter } from './ingest/rejected.ts';
import { EventWriter } from './ingest/writer.ts';
import { createKpiSignaller } from './kpi/pipeline.ts';
import { kpiRoutes } from './kpi/routes.ts';
import { DisplayPresence, withPresence } from './live/presence.ts';
import { liveStreamRoutes } from './live/stream.ts';
import type { Log } from './log.ts';
import { messageRoutes } from './messages/routes.ts';
import { createMetrics, metricsRoutes } from './metrics.ts';
import { validatorCompiler } from './validation.ts';
import { wallboardRoutes } from './wallboard.ts';

export interface AppDeps {
  config: Config;
  log: Log;
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** The live stream's subscription connection (default: a duplicate of `redis`; tests put a link they can cut between). */
  subscriber?: Redis;
  /** Directory of the built wallboard (default dist/wallboard). */
  wallboardDir?: string;
  /** The app's clock: ingest's time checks, figures, floor messages, display cookies, day reports (tests move it on). */
  now?: () => number;
  /**
   * Answer only requests whose Host names the loopback (localhost, 127.x.x.x, [::1]); others get 421. For the demo on
   * loopback, whose admin password is published: a page that rebinds its own name to 127.0.0.1 must not sign in.
   */
  loopbackHostOnly?: boolean;
}

/**
 * The insert lock's lease: renewed while its insert runs, so it only ends on its own when its holder died — or after
 * an insert whose outcome is unknown (a timeout), held a lease longer in case that insert still lands.
 */
const DEDUPE_LEASE_MS = 30_000;
/** How long a write waits for the insert lock while another API process holds it, before answering 503. */
const DEDUPE_WAIT_MS = 5_000;

/** A caller's X-Request-Id of this form is the request's id (to follow a request from the sender's log into ours). */
const CALLER_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** The request's id: the caller's X-Request-Id when it is one, else a random one (unique across processes and restarts). */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Trusts the nearest `hops` proxies (what Fastify does with a number, which its types do not take). */
const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, log, clickhouse, redis } = deps;
  const clock = deps.now ?? Date.now;
  const app = Fastify({
    loggerInstance: log,
    logController: new AccessLog(),
    // Behind a reverse proxy, the client's address, host and protocol from the proxies TRUST_PROXY names only.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    requestIdHeader: false,
    genReqId: requestId,
    // answered below, in the API's own error shape and with Retry-After
    return503OnClosing: false,
  }) as unknown as FastifyInstance;
  // Every answer says its request's id, which the log lines and a refusal kept in rejected_events carry too.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // A request arriving while the app closes (a graceful stop: keep-alive connections still send) is told to come back.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (closing) await reply.code(503).headers({ 'retry-after': RETRY_AFTER_S, connection: 'close' }).send(errorBody('unavailable', 'the server is stopping; retry in a few seconds'));
  });
  // bodies as sent, unknown fields refused (server/validation.ts)
  app.setValidatorCompiler(validatorCompiler);
  installErrorHandling(app);
  if (deps.loopbackHostOnly) {
    app.addHook('onRequest', async (req, reply) => {
      if (isLoopbackHost(hostName(req.headers.host ?? ''))) return;
      await reply.code(421).send(errorBody('misdirected', 'this Nabız answers on localhost only (Host header): open it as http://localhost:<port>/'));
    });
  }
  // First: security headers, cookies, the CSRF check and the auth guards (app.auth) every later scope uses.
  await app.register(authPlugin, { config, log, clickhouse, redis, now: clock });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Nabız API', version: '1', description: 'Real-time KPIs and wallboards for contact centers. Event contract: docs/events.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // The API reference is for signed-in people (sign in to the console first) and for integrators, with their ingest key
  // as a bearer token; only health and the shell are open.
  await app.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: app.auth.require('docs') } });

  const activity = new SourceActivity(redis, config.REDIS_PREFIX, log);
  // a display whose process died stops counting as connected after three missed heartbeats
  const presence = new DisplayPresence(redis, config.REDIS_PREFIX, 3 * config.STREAM_HEARTBEAT_MS);
  const metrics = createMetrics(
    clickhouse,
    activity,
    () => (app.hasDecorator('liveHub') ? app.liveHub.stats() : undefined),
    async () => withPresence((await app.auth.service.listDisplays()).filter((d) => d.revokedAt === null), presence),
    // backups are on this machine with the embedded ClickHouse only (BACKUP_DIR)
    config.embeddedClickHouse ? backupOutcomes(redis, config) : undefined,
  );
  const kpi = createKpiSignaller({ connection: redis, config, log });
  const writer = new EventWriter(clickhouse, new Deduplicator(redis, clickhouse, config.REDIS_PREFIX, { leaseMs: DEDUPE_LEASE_MS, waitMs: DEDUPE_WAIT_MS }), {
    maxBatchEvents: config.INGEST_BATCH_EVENTS,
    log,
    now: clock,
    onStored: (events) => {
      // Ingest never waits on rollups: the signal is debounced, and a lost one is caught up by the worker's tick.
      void kpi.signalRecompute('ingest');
      const now = clock();
      for (const source of new Set(events.map((e) => e.source))) activity.stored(source, now);
    },
    onWritten: (events, ms) => {
      metrics.ingest.insertSeconds.observe(ms / 1000);
      metrics.ingest.insertEvents.observe(events);
    },
  });
  const rejectedWriter = new RejectedWriter(clickhouse);
  // Fastify runs onClose after in-flight requests finished: flush what they queued, then stop signalling.
  app.addHook('onClose', async () => {
    await writer.close();
    await rejectedWriter.close();
    await kpi.close();
  });

  await app.register(healthRoutes, deps);
  await app.register(ingestRoutes, { config, clickhouse, redis, writer, rejectedWriter, metrics: metrics.ingest, now: clock });
  await app.register(sourceRoutes, { config, clickhouse, activity });
  if (config.METRICS_TOKEN) await app.register(metricsRoutes, { token: config.METRICS_TOKEN, metrics });
  const boards = new BoardStore(clickhouse);
  await app.register(authRoutes, { presence });
  const displayScopes = new DisplayScopes(boards, clock);
  await app.register(kpiRoutes, { config, clickhouse, redis, displayScopes, now: clock, onSettingsChanged: () => void kpi.signalRecompute('settings') });
  await app.register(alertRoutes, { config, clickhouse, redis, displayScopes });
  await app.register(liveStreamRoutes, { config, log, clickhouse, redis, activity, presence, displayScopes, now: clock, ...(deps.subscriber ? { subscriber: deps.subscriber } : {}) });
  await app.register(boardRoutes, { boards });
  await app.register(messageRoutes, { clickhouse, boards, redis, redisPrefix: config.REDIS_PREFIX, now: clock });
  await app.register(wallboardRoutes, { dir: deps.wallboardDir });
  return app;
}
