// A display token reads only the scopes its boards show (least privilege): figures, series, the scope list and
// alerts over the API, and subscriptions (figures, rosters, alerts) on the live stream. Against the embedded
// ClickHouse and a real Redis; events go in through the ingest API.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../../server/alerts/store.ts';
import { DisplayScopes } from '../../server/boards/display-scopes.ts';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { buildApp } from '../../server/app.ts';
import type { Snapshot } from '../../server/kpi/compute.ts';
import { materializeMeasures } from '../../server/kpi/materialize.ts';
import type { Alert, ServerMessage } from '../../server/live/protocol.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { Lease } from '../../server/redis/lease.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { signInRoles } from '../support/users.ts';
import { waitFor } from '../support/wait.ts';
import { openSocket, type LiveTestClient } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-display-scopes';
const ACD_KEY = 'acd-display-scopes-key-0123';
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
let wsUrl: string;
const tokens: Record<string, string> = {};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sockets: LiveTestClient[] = [];

const grid = (title: string, tiles: unknown[]) => ({ type: 'grid', title, columns: 4, tiles });
const putBoard = async (name: string, body: object) => {
  const r = await app.inject({ method: 'PUT', url: `/v1/boards/${name}`, headers: bearer(tokens.supervisor!), payload: body });
  expect(r.statusCode, r.body).toBeLessThan(300);
};
const createDisplay = async (name: string, board: string) => {
  const r = await app.inject({ method: 'POST', url: '/v1/displays', headers: bearer(tokens.supervisor!), payload: { name, board } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json<{ token: string; display: { id: string } }>();
};
const get = (url: string, token: string) => app.inject({ method: 'GET', url, headers: bearer(token) });
const scopesOf = (r: { json: <T>() => T }) => r.json<{ snapshots: Snapshot[] }>().snapshots.map((s) => s.scope).sort();

// north: a queue's tile, a team's trend, and a table of every channel
const NORTH = [
  { kind: 'kpi', kpi: 'service_level', scope: 'queue:billing', window: 'today' },
  { kind: 'trend', kpi: 'asa', scope: 'team:red' },
  { kind: 'table', kpis: ['waiting', 'asa'], scopes: ['channel:*'], window: '15m' },
  { kind: 'alerts' },
];
// south: one agent's roster
const SOUTH = [{ kind: 'roster', scope: 'agent:a1' }];

let north: string; // display of board `north`
let round: string; // display of the rotation `round` (north, then south)
let moved: string; // display paired with `south`, moved to `north` in its settings

beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD, INGEST_KEYS: `acd:${ACD_KEY}` });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  wsUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
  Object.assign(tokens, await signInRoles(app, ADMIN_PASSWORD, ['supervisor']));

  // Figures today for queue billing and sales, team red, channels voice and chat, agents a1 and a2 (and center).
  const events = [
    sampleEvent('contact.offered', { queue: 'billing', team: 'red', channel: 'voice' }),
    sampleEvent('contact.offered', { queue: 'sales', team: 'blue', channel: 'chat' }),
    sampleEvent('agent.state', { agentId: 'a1', state: 'available' }),
    sampleEvent('agent.state', { agentId: 'a2', state: 'available' }),
  ];
  const posted = await app.inject({ method: 'POST', url: '/v1/events', headers: bearer(ACD_KEY), payload: events });
  expect(posted.statusCode, posted.body).toBe(202);
  await materializeMeasures(ctx.clickhouse, { lookbackDays: 1 });

  await putBoard('north', grid('North', NORTH));
  await putBoard('south', grid('South', SOUTH));
  await putBoard('round', { type: 'rotation', title: 'Round', rotation: [{ board: 'north', seconds: 30 }, { board: 'south', seconds: 30 }] });
  north = (await createDisplay('North TV', 'north')).token;
  round = (await createDisplay('Round TV', 'round')).token;
  const m = await createDisplay('Moved TV', 'south');
  moved = m.token;
  const settings = await app.inject({ method: 'PUT', url: `/v1/display-settings/${m.display.id}`, headers: bearer(tokens.supervisor!), payload: { board: 'north' } });
  expect(settings.statusCode, settings.body).toBe(200);
});

afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('a display reads the scopes of its boards only', () => {
  it('is refused another scope by name (403 forbidden_scope), and given its own', async () => {
    const own = await get('/v1/kpis?scope=queue:billing&scope=team:red&scope=channel:voice', north);
    expect(own.statusCode, own.body).toBe(200);
    expect(scopesOf(own)).toEqual(['channel:voice', 'queue:billing', 'team:red']);

    const other = await get('/v1/kpis?scope=queue:billing&scope=queue:sales&scope=center', north);
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ error: { code: 'forbidden_scope', message: expect.stringMatching(/"North TV".*not queue:sales, center$/) } });
    expect((await get('/v1/kpis/series?scope=agent:a1', north)).statusCode).toBe(403);
    expect((await get('/v1/kpis/series?scope=team:red', north)).statusCode).toBe(200);
    // a person reads every scope
    expect((await get('/v1/kpis?scope=queue:sales&scope=center', tokens.supervisor!)).statusCode).toBe(200);
  });

  it('gets only its scopes in the lists of every scope', async () => {
    const everything = await get('/v1/kpis', tokens.supervisor!);
    // what a person sees: all of them (so the display's answer below is a real subset)
    expect(scopesOf(everything)).toEqual(expect.arrayContaining(['agent:a1', 'agent:a2', 'center', 'channel:chat', 'channel:voice', 'queue:billing', 'queue:sales', 'team:blue', 'team:red']));
    // channel:* on the table grants every channel, and no other kind
    expect(scopesOf(await get('/v1/kpis', north))).toEqual(['channel:chat', 'channel:voice', 'queue:billing', 'team:red']);
    expect((await get('/v1/kpis/scopes', north)).json<{ scopes: string[] }>().scopes.sort()).toEqual(['channel:chat', 'channel:voice', 'queue:billing', 'team:red']);
  });

  it("a rotation's display reads every board of the rotation; a display moved in its settings reads the board it shows", async () => {
    expect((await get('/v1/kpis?scope=agent:a1&scope=queue:billing', round)).statusCode).toBe(200);
    expect((await get('/v1/kpis?scope=agent:a2', round)).statusCode).toBe(403);
    // paired with `south`, shown `north`: north's scopes, not south's
    expect((await get('/v1/kpis?scope=queue:billing', moved)).statusCode).toBe(200);
    expect((await get('/v1/kpis?scope=agent:a1', moved)).statusCode).toBe(403);
  });

  it('reads a scope added to its board at once, though it was refused it a moment before', async () => {
    await putBoard('edited', grid('Edited', SOUTH));
    const { token } = await createDisplay('Edited TV', 'edited');
    expect((await get('/v1/kpis?scope=queue:sales', token)).statusCode).toBe(403); // its grant is now held
    await putBoard('edited', grid('Edited', [...SOUTH, { kind: 'kpi', kpi: 'offered', scope: 'queue:sales', window: '1h' }]));
    expect((await get('/v1/kpis?scope=queue:sales', token)).statusCode).toBe(200);
  });

  it('sees the alerts of its scopes only', async () => {
    const store = new AlertStore(ctx.clickhouse, redis, ctx.config.REDIS_PREFIX);
    const alert = (id: string, scope: string): Alert => ({
      id, thresholdId: `t-${id}`, kpi: 'service_level', scope, window: 'today', level: 'warning', peak: 'warning', value: 50,
      threshold: 80, direction: 'below', startedAt: new Date().toISOString(), endedAt: null, acknowledgedBy: null, acknowledgedAt: null,
    });
    const lease = new Lease(redis, store.names.leader, 60_000); // as the alert engine, the one that writes them
    expect(await lease.hold()).toBe('taken');
    await store.restoreActive(lease, [{ alert: alert('al-billing', 'queue:billing'), at: Date.now() }, { alert: alert('al-sales', 'queue:sales'), at: Date.now() }]);
    const ids = async (token: string) => (await get('/v1/alerts?active=1', token)).json<{ alerts: Alert[] }>().alerts.map((a) => a.id).sort();
    expect(await ids(tokens.supervisor!)).toEqual(['al-billing', 'al-sales']);
    expect(await ids(north)).toEqual(['al-billing']);
    await lease.release();
  });

  it('reads the thresholds that apply to its scopes only', async () => {
    // One threshold per scope. North shows queue:billing, team:red and every channel (channel:*). The thresholds that
    // colour its tiles: its own scopes', channel:chat's (a channel it shows), `queue:*`, `team:*` and `channel:*` (kinds
    // it shows), and `center` (which also stands for every queue and team). Not queue:sales, team:blue, agent:a1 or
    // agent:*. The rotation's display also shows south's agent:a1.
    const scopes = ['center', 'queue:billing', 'queue:sales', 'queue:*', 'team:red', 'team:blue', 'team:*', 'channel:chat', 'channel:*', 'agent:a1', 'agent:*'];
    for (const scope of scopes) {
      const r = await app.inject({
        method: 'POST', url: '/v1/thresholds', headers: bearer(tokens.supervisor!),
        payload: { kpi: 'asa', scope, window: '15m', direction: 'above', warning: 20, critical: 40 },
      });
      expect(r.statusCode, r.body).toBe(201);
    }
    const read = async (token: string) => (await get('/v1/thresholds', token)).json<{ thresholds: Array<{ scope: string }> }>().thresholds.map((t) => t.scope).sort();
    expect(await read(tokens.supervisor!)).toEqual([...scopes].sort());
    const northSees = ['center', 'channel:*', 'channel:chat', 'queue:*', 'queue:billing', 'team:*', 'team:red'];
    expect(await read(north)).toEqual(northSees);
    expect(await read(round)).toEqual([...northSees, 'agent:*', 'agent:a1'].sort());
    // a board of agents only: no queue or team, so `center` does not colour any of its tiles
    await putBoard('agents', grid('Agents', SOUTH));
    expect(await read((await createDisplay('Agents TV', 'agents')).token)).toEqual(['agent:*', 'agent:a1']);
  });

  it('on the live stream: subscribes its scopes, is told which others it may not follow, and gets nothing of them', async () => {
    const tv = await openSocket(`${wsUrl}?display=${north}`);
    sockets.push(tv);
    await tv.next('welcome');
    tv.send({ type: 'subscribe', window: 'today', scopes: ['queue:billing', 'queue:sales', 'agent:a1'], roster: true });
    const refused = await tv.next('error');
    expect(refused).toMatchObject({ code: 'forbidden_scope', message: expect.stringMatching(/not queue:sales, agent:a1$/) });
    await tv.next('snapshot', (m) => m.scope === 'queue:billing');
    await tv.next('alerts');
    tv.send({ type: 'ping', id: 'after' });
    await tv.next('pong', (m) => m.id === 'after'); // everything the subscribe brought came before this
    expect(tv.messages.filter((m) => 'scope' in m && m.scope !== 'queue:billing')).toEqual([]);
    expect(tv.messages.find((m) => m.type === 'roster')).toMatchObject({ scope: 'queue:billing' });
    // the alerts it is sent are of its scopes (al-sales is open too)
    expect(tv.messages.find((m) => m.type === 'alerts')).toMatchObject({ alerts: [expect.objectContaining({ id: 'al-billing' })] });
  });

  it('on the live stream: a scope taken off its board is dropped from its socket at the next heartbeat', async () => {
    await putBoard('shrink', grid('Shrink', [
      { kind: 'kpi', kpi: 'offered', scope: 'queue:billing', window: 'today' },
      { kind: 'trend', kpi: 'asa', scope: 'team:red' },
    ]));
    const shrink = await openSocket(`${wsUrl}?display=${(await createDisplay('Shrink TV', 'shrink')).token}`);
    const still = await openSocket(`${wsUrl}?display=${north}`); // north keeps team:red on its board
    sockets.push(shrink, still);
    for (const tv of [shrink, still]) {
      await tv.next('welcome');
      tv.send({ type: 'subscribe', window: 'today', scopes: ['queue:billing', 'team:red'], series: true });
      await tv.next('alerts');
    }
    const snapshotsOf = (tv: LiveTestClient) => tv.messages.filter((m): m is Extract<ServerMessage, { type: 'snapshot' }> => m.type === 'snapshot');
    const received = (tv: LiveTestClient, scope: string) => snapshotsOf(tv).find((m) => m.scope === scope);
    const billing = received(shrink, 'queue:billing');
    const red = received(shrink, 'team:red');
    expect(billing && red).toBeTruthy();

    // The wallboard would unsubscribe team:red itself; a socket that does not is dropped from it by the heartbeat.
    await putBoard('shrink', grid('Shrink', [{ kind: 'kpi', kpi: 'offered', scope: 'queue:billing', window: 'today' }]));
    app.liveHub.heartbeat();
    const dropped = await shrink.next('error');
    expect(dropped).toMatchObject({ code: 'forbidden_scope', message: expect.stringMatching(/"Shrink TV".*not team:red: they are no longer on its boards/) });

    // A newer publication of both scopes: the shrunk TV gets queue:billing only, north (unchanged board) both.
    const asOf = new Date(Date.now() + 60_000).toISOString();
    const snapshots = [billing!, red!].map(({ type: _, ...m }) => ({ ...m, asOf }));
    await redis.publish(kpiRedisNames(ctx.config.REDIS_PREFIX).snapshotsChannel, JSON.stringify({ type: 'kpi.snapshots', asOf, snapshots }));
    for (const tv of [shrink, still]) {
      await tv.next('snapshot', (m) => m.asOf === asOf && m.scope === 'queue:billing');
      tv.send({ type: 'ping', id: 'after-publication' });
      await tv.next('pong', (m) => m.id === 'after-publication');
    }
    const scopesAt = (tv: LiveTestClient) => snapshotsOf(tv).filter((m) => m.asOf === asOf).map((m) => m.scope).sort();
    expect(scopesAt(shrink)).toEqual(['queue:billing']);
    expect(scopesAt(still)).toEqual(['queue:billing', 'team:red']);
    expect(still.messages.filter((m) => m.type === 'error')).toEqual([]);
  });

  it('a socket that subscribes while the heartbeat reads the boards is asked about again: it cannot keep a scope by subscribing, and keeps one put back', async () => {
    await putBoard('race', grid('Race', [
      { kind: 'kpi', kpi: 'offered', scope: 'queue:billing', window: 'today' },
      { kind: 'trend', kpi: 'asa', scope: 'team:red' },
    ]));
    const tv = await openSocket(`${wsUrl}?display=${(await createDisplay('Race TV', 'race')).token}`);
    sockets.push(tv);
    await tv.next('welcome');
    const shrunk = grid('Race', [{ kind: 'kpi', kpi: 'offered', scope: 'queue:billing', window: 'today' }]);
    const refreshAll = DisplayScopes.prototype.refreshAll;
    const refused = DisplayScopes.prototype.refused;
    // a subscription is answered (after a look at the TV's boards) with an `alerts` message: wait for a new one
    const subscribe = async (scopes: string[]) => {
      const answers = tv.messages.filter((m) => m.type === 'alerts').length;
      tv.send({ type: 'subscribe', window: 'today', scopes });
      await waitFor(`the answer to subscribe ${scopes.join(', ')}`, async () => (tv.messages.filter((m) => m.type === 'alerts').length > answers ? true : undefined), 10_000);
    };
    const checked = async (id: string) => {
      tv.send({ type: 'ping', id });
      await tv.next('pong', (m) => m.id === id);
    };
    await subscribe(['queue:billing', 'team:red']);
    try {
      // 1. team:red is taken off; while the heartbeat's check reads the boards, the TV subscribes (as a socket that
      // keeps subscribing would, to dodge the check): team:red is dropped all the same, at this heartbeat
      await putBoard('race', shrunk);
      DisplayScopes.prototype.refreshAll = async function (displays) {
        await refreshAll.call(this, displays);
        await subscribe(['queue:billing']);
      };
      app.liveHub.heartbeat();
      expect(await tv.next('error')).toMatchObject({ code: 'forbidden_scope', message: expect.stringMatching(/"Race TV".*not team:red: they are no longer on its boards/) });
      DisplayScopes.prototype.refreshAll = refreshAll;

      // 2. team:red is taken off again after the TV followed it again; the check finds it refused, but before it acts
      // the board gets team:red back and the TV subscribes to it (granted by the newer boards): it keeps team:red
      await putBoard('race', grid('Race', [
        { kind: 'kpi', kpi: 'offered', scope: 'queue:billing', window: 'today' },
        { kind: 'trend', kpi: 'asa', scope: 'team:red' },
      ]));
      await subscribe(['team:red']);
      await putBoard('race', shrunk);
      let asked = 0;
      DisplayScopes.prototype.refused = async function (d, scopes) {
        const answer = await refused.call(this, d, scopes);
        if (scopes.includes('team:red') && asked++ === 0) {
          await putBoard('race', grid('Race', [
            { kind: 'kpi', kpi: 'offered', scope: 'queue:billing', window: 'today' },
            { kind: 'trend', kpi: 'asa', scope: 'team:red' },
          ]));
          await subscribe(['team:red']);
        }
        return answer;
      };
      const errorsBefore = tv.messages.filter((m) => m.type === 'error').length;
      app.liveHub.heartbeat();
      // asked by the subscription (1), then again by the check (2), whose answer is awaited here too
      await waitFor('the check asked again', async () => (asked >= 2 ? true : undefined));
      await new Promise((r) => setTimeout(r, 500));
      await checked('after-check');
      expect(tv.messages.filter((m) => m.type === 'error').length).toBe(errorsBefore);
    } finally {
      DisplayScopes.prototype.refreshAll = refreshAll;
      DisplayScopes.prototype.refused = refused;
    }
    // and the next heartbeat agrees: team:red is on its board
    app.liveHub.heartbeat();
    await new Promise((r) => setTimeout(r, 500));
    await checked('after-next');
    expect(tv.messages.filter((m) => m.type === 'error').length).toBe(1);
  });
});

