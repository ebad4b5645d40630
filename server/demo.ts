// Demo mode (`npm run demo`, i.e. `npm start -- --demo`): a living floor in one command.
// It keeps demo data apart and easy to wipe — its own database and Redis prefix (`*_demo`), events tagged
// `attributes.demo = "1"` — and sets itself up through the public API as a `demo` user, like a supervisor would:
// a board, default thresholds, a display token for the TV, then the simulator posting through the ingest API.
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { SYSTEM_ACTOR } from './auth/service.ts';
import type { BoardInput } from './boards/schema.ts';
import type { Config } from './config.ts';
import type { Log } from './log.ts';
import type { ThresholdInput } from './alerts/thresholds.ts';
import { INTRADAY_CURVE, startSimulation, type SimulationHandle } from './simulator/index.ts';
import { isLoopbackHost } from './loopback.ts';

export const DEMO_USER = 'demo';
/** A fixed, printed password, for a demo on loopback (the default HOST) that holds nothing but simulated data. */
export const DEMO_PASSWORD = 'nabiz-demo-floor';
export const DEMO_BOARD = 'demo';
/**
 * The demo's read-only `analyst` ClickHouse user's password (docs/analysts.md), unless CLICKHOUSE_ANALYST_PASSWORD is
 * set: published, as the embedded ClickHouse listens on loopback only and the demo's data is simulated.
 */
export const DEMO_ANALYST_PASSWORD = 'nabiz-demo-analyst';

/**
 * The demo user's password: the fixed one while the API listens on loopback only; with HOST exposing it (a demo on
 * the network's TVs), a fresh random one each run, printed on the terminal, since the fixed one is published.
 */
function demoPassword(host: string): string {
  return isLoopbackHost(host) ? DEMO_PASSWORD : randomBytes(12).toString('base64url');
}

/** The configuration of a demo run: its own database and Redis prefix, and ingest keys for the simulator. */
export function demoConfig(config: Config): Config {
  const key = () => randomBytes(24).toString('base64url');
  return {
    ...config,
    CLICKHOUSE_DATABASE: config.CLICKHOUSE_DATABASE.endsWith('_demo') ? config.CLICKHOUSE_DATABASE : `${config.CLICKHOUSE_DATABASE}_demo`,
    REDIS_PREFIX: config.REDIS_PREFIX.endsWith('_demo') ? config.REDIS_PREFIX : `${config.REDIS_PREFIX}_demo`,
    // Keys live for this process only; the simulator is their one user.
    INGEST_KEYS: config.INGEST_KEYS ?? `acd:${key()},ivr:${key()},crm:${key()}`,
    // the embedded ClickHouse's analyst, so that the analyst guide works on the demo as it is
    ...(config.CLICKHOUSE_URL === undefined ? { CLICKHOUSE_ANALYST_PASSWORD: config.CLICKHOUSE_ANALYST_PASSWORD ?? DEMO_ANALYST_PASSWORD } : {}),
  };
}

export const DEMO_LAYOUT: BoardInput = {
  type: 'grid',
  title: 'Demo floor — live simulation',
  columns: 4,
  tiles: [
    { kind: 'kpi', kpi: 'service_level', scope: 'center', window: '15m' },
    { kind: 'kpi', kpi: 'waiting', scope: 'center', window: 'today' },
    { kind: 'kpi', kpi: 'longest_wait', scope: 'center', window: 'today' },
    { kind: 'kpi', kpi: 'required_agents', scope: 'center', window: 'today' },
    // the queues at a glance two rows high on the left; the trend and one team's agents beside them; the agents'
    // states above the alerts
    {
      kind: 'table',
      kpis: ['waiting', 'service_level', 'asa', 'abandon_rate', 'aht'],
      scopes: ['queue:billing', 'queue:tech-support', 'queue:sales', 'queue:chat-support'],
      window: '15m',
      width: 2,
      height: 2,
    },
    { kind: 'trend', kpi: 'service_level', scope: 'center', width: 2 },
    { kind: 'roster', scope: 'team:red', limits: { acw: 2, aux: 15 }, width: 2 },
    { kind: 'agents', scope: 'center', width: 2 },
    { kind: 'alerts', width: 2 },
    { kind: 'kpi', kpi: 'csat', scope: 'center', window: 'today' },
    { kind: 'kpi', kpi: 'nps', scope: 'center', window: 'today' },
    { kind: 'kpi', kpi: 'fcr', scope: 'center', window: 'today' },
    { kind: 'kpi', kpi: 'frt', scope: 'center', window: 'today' },
  ],
};

export const DEMO_THRESHOLDS: ThresholdInput[] = [
  // a rate judged from 10 contacts at least: not 100 % abandoned from the first call of a quiet quarter hour
  { kpi: 'service_level', scope: 'center', window: '15m', direction: 'below', warning: 80, critical: 70, forSeconds: 10, clearBand: 2, minCount: 10, enabled: true },
  { kpi: 'service_level', scope: 'queue:*', window: '15m', direction: 'below', warning: 80, critical: 65, forSeconds: 10, clearBand: 2, minCount: 10, enabled: true },
  { kpi: 'abandon_rate', scope: 'queue:*', window: '15m', direction: 'above', warning: 5, critical: 10, forSeconds: 10, clearBand: 1, minCount: 10, enabled: true },
  { kpi: 'longest_wait', scope: 'center', window: 'today', direction: 'above', warning: 60, critical: 120, forSeconds: 5, clearBand: 10, minCount: 0, enabled: true },
  { kpi: 'asa', scope: 'center', window: '1h', direction: 'above', warning: 20, critical: 40, forSeconds: 10, clearBand: 2, minCount: 10, enabled: true },
];

export interface Demo {
  /** The URL that signs a TV in with the demo display token. */
  displayUrl: string;
  /** The demo user's password (demoPassword). */
  password: string;
  stop(): Promise<void>;
}

/**
 * The simulated floor: 40 agents, staffed for the load, over the weekday curve lifted so it never drops below half the
 * peak. Whoever opens the demo at 3 a.m. still sees a working floor (the plain curve's night is 3–5 % of the peak: a
 * queue table of dashes), and a demo left running all day still shows the morning peak and the lunch dip in Reports.
 */
export const DEMO_FLOOR = { agents: 40, load: 1, curve: INTRADAY_CURVE.map((c) => 0.5 + c / 2) };

/** The demo's floor message (Console → Messages). */
export const DEMO_MESSAGE = 'Welcome to the Nabız demo: supervisors post messages like this one in Console → Messages';

/**
 * Sets the demo up through the API of `app` (already listening on `baseUrl`) and starts the simulator. The demo user
 * is an admin of the demo's own database, so every console tab is there to try (users, keys and the audit log too).
 */
export async function startDemo(opts: { app: FastifyInstance; config: Config; baseUrl: string; log: Log }): Promise<Demo> {
  const { app, config, baseUrl, log } = opts;
  const service = app.auth.service;
  const password = demoPassword(config.HOST);
  const existing = (await service.listUsers()).find((u) => u.username === DEMO_USER);
  if (existing) await service.updateUser(SYSTEM_ACTOR, DEMO_USER, { role: 'admin', password });
  else await service.createUser(SYSTEM_ACTOR, { username: DEMO_USER, password, role: 'admin' });

  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: DEMO_USER, password } });
  if (login.statusCode !== 200) throw new Error(`demo: could not sign in (${login.statusCode}): ${login.body}`);
  const headers = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
    if (res.statusCode >= 400) throw new Error(`demo: ${method} ${url} answered ${res.statusCode}: ${res.body}`);
    return res.statusCode === 204 ? undefined : res.json();
  };

  await call('PUT', `/v1/boards/${DEMO_BOARD}`, DEMO_LAYOUT);

  const { thresholds } = (await call('GET', '/v1/thresholds')) as { thresholds: Array<{ kpi: string; scope: string; window: string }> };
  for (const t of DEMO_THRESHOLDS) {
    if (!thresholds.some((x) => x.kpi === t.kpi && x.scope === t.scope && x.window === t.window)) await call('POST', '/v1/thresholds', t);
  }

  // One TV: the previous demo display is revoked, so only the URL printed now works.
  const { displays } = (await call('GET', '/v1/displays')) as { displays: Array<{ id: string; name: string; revokedAt: string | null }> };
  for (const d of displays) if (d.name === 'Demo TV' && !d.revokedAt) await call('DELETE', `/v1/displays/${d.id}`);
  const created = (await call('POST', '/v1/displays', { name: 'Demo TV', board: DEMO_BOARD })) as { token: string };
  const displayUrl = `${baseUrl}/?display=${encodeURIComponent(created.token)}`;

  // A floor message along the bottom of the TV, as a supervisor would post one; a previous demo's is ended first.
  const { messages } = (await call('GET', '/v1/messages')) as { messages: Array<{ id: string; createdBy: string }> };
  for (const m of messages) if (m.createdBy === DEMO_USER) await call('DELETE', `/v1/messages/${m.id}`);
  await call('POST', '/v1/messages', { text: DEMO_MESSAGE, minutes: 60 });

  const sim: SimulationHandle = startSimulation({
    baseUrl,
    keys: config.INGEST_KEYS!,
    seed: Date.now(),
    ...DEMO_FLOOR,
    speed: 60,
    // The last half hour is played at once so the board opens full; then the floor runs in real time, and a surge
    // on billing 5 minutes later makes its thresholds fire, then clear.
    backfillMs: 30 * 60_000,
    surge: { queue: 'billing', factor: 4, startMs: 35 * 60_000, durationMs: 10 * 60_000 },
    timeZone: config.CENTER_TZ,
    demo: true,
    // A demo runs for days: an ingest or ClickHouse outage is waited out (a warning when it starts, an info when it
    // ends), never a reason for the floor to freeze for good.
    maxRetries: Infinity,
    log: {
      debug: (msg) => log.debug({ component: 'simulator' }, msg),
      info: (msg) => log.info({ component: 'simulator' }, msg),
      warn: (msg) => log.warn({ component: 'simulator' }, msg),
    },
  });
  // What retrying cannot fix (a refused key, say) ends the traffic: say so instead of leaving the floor frozen.
  let stopping = false;
  sim.done.catch((err: Error) => {
    if (stopping) log.warn({ component: 'simulator' }, `demo traffic stopped: ${err.message}`);
    else log.error({ component: 'simulator', err }, `demo traffic stopped: ${err.message}; the floor no longer moves (restart the demo)`);
  });
  return {
    displayUrl,
    password,
    stop: () => {
      stopping = true;
      return sim.stop();
    },
  };
}
