// The roster over real sockets, against the embedded ClickHouse and redis-server: agent.state events posted to the API
// reach a socket subscribed to a team's roster through the KPI worker (state, since, reason; offline agents left out),
// a change is sent to the scopes it touches only, the analysts' view says the same, a hub with no stored roster reads
// ClickHouse, a full publication replaces what a hub holds, and an agent whose state expires leaves the TVs.
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { startKpiWorker, type KpiWorkerHandle } from '../../server/kpi/pipeline.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import { computeRoster, readRoster, rosterNames, storeRoster } from '../../server/kpi/roster.ts';
import type { RosterAgent, ServerMessage } from '../../server/live/protocol.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { waitFor } from '../support/wait.ts';
import { openSocket, type LiveTestClient } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-roster';
const ACD_KEY = 'acd-roster-key-0123456789';

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let url: string;
let admin: string;
const sockets: LiveTestClient[] = [];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function connect(): Promise<LiveTestClient> {
  const c = await openSocket(url, bearer(admin));
  sockets.push(c);
  await c.next('welcome');
  return c;
}

/** Posts agent.state events: [agent, state, team, seconds ago, reason?, name?]. Returns their occurredAt by agent. */
async function postStates(states: Array<[string, string, string, number, string?, string?]>): Promise<Map<string, string>> {
  const events = states.map(([agentId, state, team, agoS, reason, name]) =>
    sampleEvent(
      'agent.state',
      { agentId, state, team, queue: 'billing', channel: 'voice', ...(reason ? { reason } : {}), ...(name ? { attributes: { agentName: name } } : {}) },
      agoS * 1000,
    ),
  );
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(ACD_KEY), payload: events });
  expect(res.statusCode, res.body).toBe(202);
  return new Map(events.map((e) => [e.agentId!, new Date(Date.parse(e.occurredAt)).toISOString()]));
}

const rosterOf = (c: LiveTestClient, scope: string) =>
  c.messages.filter((m): m is Extract<ServerMessage, { type: 'roster' }> => m.type === 'roster' && m.scope === scope);

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: `acd:${ACD_KEY}`, ADMIN_PASSWORD });
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

describe('roster', () => {
  // First, while no worker has stored a roster: the hub reads it from ClickHouse (kpi_agent_state).
  it('before any worker stored one, a subscriber gets the roster read from ClickHouse', async () => {
    const at = await postStates([
      ['cold-1', 'aux', 'cold', 90, 'training', 'Cem Yılmaz'],
      ['cold-2', 'offline', 'cold', 30],
    ]);
    await materializeMeasures(ctx.clickhouse, { lookbackDays: 7 }); // the fan-out into kpi_agent_state, no worker
    expect(await readRoster(redis, rosterNames(ctx.config.REDIS_PREFIX))).toBeNull();
    const c = await connect();
    c.send({ type: 'subscribe', window: 'today', scopes: ['team:cold'], roster: true });
    const m = await c.next('roster', (x) => x.scope === 'team:cold');
    // cold-1 is on aux; cold-2 signed off (offline agents are not on the roster)
    expect(m.counts).toEqual({ available: 0, busy: 0, acw: 0, aux: 1 });
    expect(m.agents).toEqual([
      { agentId: 'cold-1', name: 'Cem Yılmaz', state: 'aux', since: at.get('cold-1'), reason: 'training', queue: 'billing', team: 'cold', channel: 'voice' },
    ]);
    c.ws.close();
  });

  it('agent states posted to the API reach a team roster through the KPI worker, and a change only the scopes it touches', async () => {
    const worker: KpiWorkerHandle = await startKpiWorker({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: inject('redisUrl') });
    try {
      const at = await postStates([
        ['n-1', 'available', 'north', 120],
        ['n-2', 'aux', 'north', 300, 'lunch', 'Nur Demir'],
        ['n-3', 'busy', 'north', 60],
        ['n-4', 'offline', 'north', 30],
        ['n-5', 'acw', 'north', 200],
        ['n-6', 'available', 'north', 500],
        ['s-1', 'busy', 'south', 45],
      ]);
      const c = await connect();
      c.send({ type: 'subscribe', window: 'today', scopes: ['team:north', 'team:south'], roster: true });
      const north = await c.next('roster', (m) => m.scope === 'team:north' && m.agents.length === 5, 20_000);
      // by state (available, busy, acw, aux), the longest in their state first: n-6 (500 s) before n-1 (120 s)
      expect(north.agents.map((a) => [a.agentId, a.state, a.since, a.reason, a.name])).toEqual([
        ['n-6', 'available', at.get('n-6'), '', ''],
        ['n-1', 'available', at.get('n-1'), '', ''],
        ['n-3', 'busy', at.get('n-3'), '', ''],
        ['n-5', 'acw', at.get('n-5'), '', ''],
        ['n-2', 'aux', at.get('n-2'), 'lunch', 'Nur Demir'],
      ]);
      expect(north.counts).toEqual({ available: 2, busy: 1, acw: 1, aux: 1 });
      const south = await c.next('roster', (m) => m.scope === 'team:south' && m.agents.length === 1);
      expect(south.agents[0]).toMatchObject({ agentId: 's-1', state: 'busy' });

      // What the analysts read says the same (once the pass's writes, which finish after the roster is sent, are in).
      const rows = await waitFor('the view to have north', async () => {
        const view = await ctx.clickhouse.query({
          query: `SELECT agent_id, agent_name, state, reason, toString(since) AS since FROM kpi_agent_states_now WHERE team = 'north' AND state != 'offline' ORDER BY agent_id`,
          format: 'JSONEachRow',
        });
        const r = await view.json<{ agent_id: string; agent_name: string; state: string; reason: string; since: string }>();
        return r.length === 5 ? r : undefined;
      });
      expect(rows.map((r) => [r.agent_id, r.agent_name, r.state, r.reason, `${r.since.replace(' ', 'T')}Z`])).toEqual(
        [...north.agents].sort((a, b) => (a.agentId < b.agentId ? -1 : 1)).map((a) => [a.agentId, a.name, a.state, a.reason, a.since]),
      );

      // n-2 is back from lunch: north changes, south is not sent again.
      const northBefore = rosterOf(c, 'team:north').length;
      const southBefore = rosterOf(c, 'team:south').length;
      const since = c.messages.length; // only what arrives from now on
      const fresh = (m: ServerMessage) => c.messages.indexOf(m) >= since;
      const back = await postStates([['n-2', 'available', 'north', 10]]);
      const after = await c.next('roster', (m) => fresh(m) && m.scope === 'team:north', 20_000);
      expect(after.counts).toEqual({ available: 3, busy: 1, acw: 1, aux: 0 });
      expect(after.agents.slice(0, 3).map((a) => [a.agentId, a.since])).toEqual([
        ['n-6', at.get('n-6')],
        ['n-1', at.get('n-1')],
        ['n-2', back.get('n-2')],
      ]);
      // then a south agent signs off: south changes (to no one), north is not sent again
      await postStates([['s-1', 'offline', 'south', 5]]);
      expect((await c.next('roster', (m) => fresh(m) && m.scope === 'team:south', 20_000)).agents).toEqual([]);
      expect(rosterOf(c, 'team:north').length).toBe(northBefore + 1);
      expect(rosterOf(c, 'team:south').length).toBe(southBefore + 1);
      c.ws.close();
    } finally {
      await worker.close();
    }
  });

  it('a full publication replaces what the hub holds; an older one is ignored', async () => {
    const names = rosterNames(ctx.config.REDIS_PREFIX);
    const c = await connect();
    c.send({ type: 'subscribe', window: 'today', scopes: ['team:east'], roster: true });
    await c.next('roster', (m) => m.scope === 'team:east');
    const since = new Date(Date.now() - 60_000).toISOString();
    const agent = (agentId: string, state: RosterAgent['state']): RosterAgent => ({ agentId, name: '', state, since, reason: '', queue: 'billing', team: 'east', channel: 'voice' });
    // what a worker that lost track would publish: a full roster (previous empty)
    const previous = new Map<string, string>();
    const future = Date.now() + 60_000;
    await storeRoster(redis, names, [agent('e-1', 'busy'), agent('e-2', 'acw')], new Date(future).toISOString(), previous);
    const full = await c.next('roster', (m) => m.scope === 'team:east' && m.agents.length === 2);
    expect(full.agents.map((a) => a.agentId)).toEqual(['e-1', 'e-2']);
    // one with an older asOf (a late message) changes nothing; the next full one replaces the whole roster
    await storeRoster(redis, names, [agent('e-1', 'busy')], new Date(future - 1_000).toISOString(), previous);
    await storeRoster(redis, names, [agent('e-1', 'busy'), agent('e-3', 'aux')], new Date(future + 1_000).toISOString(), previous, { full: true });
    const next = await c.next('roster', (m) => m.scope === 'team:east' && m.agents.some((a) => a.agentId === 'e-3'));
    expect(next.agents.map((a) => a.agentId)).toEqual(['e-1', 'e-3']);
    expect(rosterOf(c, 'team:east').some((m) => m.agents.length === 1)).toBe(false);
    // the minute's full publication, nothing changed: east is not sent again; a west agent then is (the sync point)
    const eastBefore = rosterOf(c, 'team:east').length;
    c.send({ type: 'subscribe', window: 'today', scopes: ['team:west'], roster: true });
    await c.next('roster', (m) => m.scope === 'team:west');
    await storeRoster(redis, names, [agent('e-1', 'busy'), agent('e-3', 'aux')], new Date(future + 2_000).toISOString(), previous, { full: true });
    await storeRoster(redis, names, [agent('e-1', 'busy'), agent('e-3', 'aux'), { ...agent('w-1', 'available'), team: 'west' }], new Date(future + 3_000).toISOString(), previous);
    await c.next('roster', (m) => m.scope === 'team:west' && m.agents.length === 1);
    expect(rosterOf(c, 'team:east').length).toBe(eastBefore);
    c.ws.close();
  });

  it('a screen that subscribed while Redis was down gets the roster with the next publication', async () => {
    // another API process, whose request-path Redis connection fails at first
    const r2 = createRedis(inject('redisUrl'), 'commands');
    if (r2.status !== 'ready') await once(r2, 'ready');
    const other = await buildApp({ config: ctx.config, log: capturedLog('error').log, clickhouse: ctx.clickhouse, redis: r2, wallboardDir: '/nonexistent' });
    try {
      await other.listen({ port: 0, host: '127.0.0.1' });
      const c = await openSocket(`ws://127.0.0.1:${(other.server.address() as { port: number }).port}/v1/stream`, bearer(admin));
      sockets.push(c);
      await c.next('welcome');
      const multi = r2.multi.bind(r2);
      r2.multi = (() => {
        throw new Error('Connection is closed.');
      }) as typeof r2.multi;
      c.send({ type: 'subscribe', window: 'today', scopes: ['team:late'], roster: true });
      expect((await c.next('error')).code).toBe('unavailable');
      r2.multi = multi;
      // Redis is back; the worker's next publication (here a full one) makes the hub read the roster and send it
      const since = new Date(Date.now() - 30_000).toISOString();
      const late: RosterAgent = { agentId: 'l-1', name: 'Lale', state: 'busy', since, reason: '', queue: 'billing', team: 'late', channel: 'voice' };
      await storeRoster(redis, rosterNames(ctx.config.REDIS_PREFIX), [late], new Date(Date.now() + 120_000).toISOString(), new Map());
      expect((await c.next('roster', (m) => m.scope === 'team:late')).agents).toEqual([late]);
      c.ws.close();
    } finally {
      await other.close();
      r2.disconnect();
    }
  });

  it('a socket may follow the roster of at most 50 scopes', async () => {
    const c = await connect();
    const scopes = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `agent:cap-${from + i}`);
    c.send({ type: 'subscribe', window: 'today', scopes: scopes(50), roster: true });
    expect((await c.next('roster', (m) => m.scope === 'agent:cap-49')).agents).toEqual([]);
    c.send({ type: 'subscribe', window: 'today', scopes: scopes(1, 50), roster: true });
    expect((await c.next('error')).code).toBe('too_many_subscriptions');
    // without the roster, more scopes are fine
    c.send({ type: 'subscribe', window: 'today', scopes: scopes(1, 50) });
    await c.next('snapshot', (m) => m.scope === 'agent:cap-50');
    c.ws.close();
  });

  // Last: its worker's clock runs ahead of the tests above (a hub ignores publications older than what it holds).
  it('an agent whose state reaches AGENT_STATE_MAX_HOURS (12) leaves the TVs with no new event', async () => {
    let clock = Date.now() + 5 * 60_000;
    const worker = await startKpiWorker({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redisUrl: inject('redisUrl'), now: () => clock });
    try {
      // ghost-1's state is 12 h less 10 minutes old now, 12 h less 5 minutes at the worker's clock: on the roster
      const at = await postStates([
        ['ghost-1', 'available', 'ghost', 12 * 3600 - 600],
        ['ghost-2', 'busy', 'ghost', 60],
      ]);
      const c = await connect();
      c.send({ type: 'subscribe', window: 'today', scopes: ['team:ghost'], roster: true });
      const before = await c.next('roster', (m) => m.scope === 'team:ghost' && m.agents.length === 2, 20_000);
      expect(before.counts).toEqual({ available: 1, busy: 1, acw: 0, aux: 0 });
      const since = c.messages.length;
      // the worker's clock passes the cutoff by 30 s; no event arrives: the worker's tick recomputes on its own
      clock = Date.parse(at.get('ghost-1')!) + 12 * 3_600_000 + 30_000;
      // (the hub may first resend the same two agents as the worker re-stores them: wait for the roster without ghost-1)
      const after = await c.next('roster', (m) => c.messages.indexOf(m) >= since && m.scope === 'team:ghost' && m.counts.available === 0, 20_000);
      expect(after.counts).toEqual({ available: 0, busy: 1, acw: 0, aux: 0 });
      expect(after.agents.map((a) => a.agentId)).toEqual(['ghost-2']);
      // and a hub reading the roster afresh (no worker stored one: from ClickHouse) leaves ghost-1 out as well
      expect((await computeRoster(ctx.clickhouse, clock)).filter((a) => a.team === 'ghost').map((a) => a.agentId)).toEqual(['ghost-2']);
      c.ws.close();
    } finally {
      await worker.close();
    }
  });
});
