// Floor messages against the embedded ClickHouse and a real Redis: posting and its refusals (each naming its field),
// roles, what a display sees (only its boards', a rotation's included), the time a message stays up, ending one
// early, the cap on messages on the air, and the audit trail.
import { createClient } from '@clickhouse/client';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { MAX_ACTIVE_MESSAGES, type FloorMessage, type MessagesResponse } from '../../server/messages/rules.ts';
import { MessageStore } from '../../server/messages/store.ts';
import { SHARED_READ_MS } from '../../server/read-cache.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { signInRoles } from '../support/users.ts';
import { openSocket } from '../support/ws.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-messages';
const MIN = 60_000;
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
/** The app's clock: starts at a fixed time; tests move it on. */
let clock = Date.parse('2026-11-24T09:00:00.000Z');
const tokens: Record<string, string> = {};
const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

const grid = (title: string) => ({ type: 'grid', title, columns: 2, tiles: [{ kind: 'kpi', kpi: 'waiting', scope: 'center', window: 'today' }] });
const post = (payload: unknown, who = 'supervisor') => app.inject({ method: 'POST', url: '/v1/messages', headers: auth(who), payload: payload as object });
const list = async (who: string) => {
  const r = await app.inject({ method: 'GET', url: '/v1/messages', headers: auth(who) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<MessagesResponse>();
};
const texts = (ms: FloorMessage[]) => ms.map((m) => m.text);

beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent', now: () => clock });
  Object.assign(tokens, await signInRoles(app, ADMIN_PASSWORD, ['viewer', 'supervisor']));
  for (const [name, title] of [['floor', 'Floor'], ['sales', 'Sales'], ['support', 'Support']] as const) {
    expect((await app.inject({ method: 'PUT', url: `/v1/boards/${name}`, headers: auth('supervisor'), payload: grid(title) })).statusCode).toBe(201);
  }
  const rot = { type: 'rotation', title: 'Lobby', rotation: [{ board: 'sales', seconds: 20 }, { board: 'support', seconds: 20 }] };
  expect((await app.inject({ method: 'PUT', url: '/v1/boards/lobby', headers: auth('supervisor'), payload: rot })).statusCode).toBe(201);
  for (const [who, board] of [['floor-tv', 'floor'], ['lobby-tv', 'lobby']] as const) {
    const d = await app.inject({ method: 'POST', url: '/v1/displays', headers: auth('supervisor'), payload: { name: who, board } });
    expect(d.statusCode, d.body).toBe(201);
    tokens[who] = d.json<{ token: string }>().token;
  }
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('floor messages', () => {
  it('puts a message on every screen for its minutes, then takes it off by itself', async () => {
    const posted = await post({ text: '  Billing system down: use the backup script  ', level: 'urgent', minutes: 30 });
    expect(posted.statusCode, posted.body).toBe(201);
    const m = posted.json<{ message: FloorMessage }>().message;
    // trimmed; up from now until now + 30 min (09:00 + 30 min = 09:30)
    expect(m).toMatchObject({ text: 'Billing system down: use the backup script', level: 'urgent', boards: [], createdBy: 'supervisor', endedBy: '' });
    expect(m.startsAt).toBe('2026-11-24T09:00:00.000Z');
    expect(m.endsAt).toBe('2026-11-24T09:30:00.000Z');
    expect(m.id).toMatch(/^[0-9a-f]{16}$/);
    // every board shows it: both TVs and the people's console
    expect(texts((await list('floor-tv')).messages)).toEqual([m.text]);
    expect(texts((await list('lobby-tv')).messages)).toEqual([m.text]);
    expect(texts((await list('viewer')).messages)).toEqual([m.text]);
    // at 09:29:59.999 it is still up; at 09:30 it is gone, and the console lists it under recent
    clock += 30 * MIN - 1;
    expect(texts((await list('floor-tv')).messages)).toEqual([m.text]);
    clock += 1;
    expect((await list('floor-tv')).messages).toEqual([]);
    const people = await list('viewer');
    expect(people.messages).toEqual([]);
    expect(people.recent?.map((r) => r.id)).toContain(m.id);
    // a day and a minute after it ended it is no longer recent either
    clock += 24 * 60 * MIN + MIN;
    expect((await list('viewer')).recent?.map((r) => r.id)).not.toContain(m.id);
  });

  it('shows a message for some boards only on TVs showing them, a rotation while any of its boards is on it', async () => {
    const forSales = (await post({ text: 'Sales: huddle at 14:30', minutes: 60, boards: ['sales'] })).json<{ message: FloorMessage }>().message;
    const forFloor = (await post({ text: 'Floor: new script live', minutes: 60, boards: ['floor'] })).json<{ message: FloorMessage }>().message;
    expect(forSales.boards).toEqual(['sales']);
    // the floor TV shows floor; the lobby TV rotates through sales and support
    expect(texts((await list('floor-tv')).messages)).toEqual([forFloor.text]);
    expect(texts((await list('lobby-tv')).messages)).toEqual([forSales.text]);
    // people see every message
    expect(texts((await list('viewer')).messages).sort()).toEqual([forFloor.text, forSales.text].sort());
    for (const m of [forSales, forFloor]) expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
  });

  it('orders urgent messages first, then the newest first', async () => {
    const a = (await post({ text: 'first info', minutes: 10 })).json<{ message: FloorMessage }>().message;
    clock += 1000;
    const b = (await post({ text: 'an urgent one', level: 'urgent', minutes: 10 })).json<{ message: FloorMessage }>().message;
    clock += 1000;
    const c = (await post({ text: 'second info', minutes: 10 })).json<{ message: FloorMessage }>().message;
    expect(texts((await list('floor-tv')).messages)).toEqual(['an urgent one', 'second info', 'first info']);
    for (const m of [a, b, c]) await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('supervisor') });
  });

  it('ends a message early: off the screens at once, who ended it kept, and ending it again changes nothing', async () => {
    const m = (await post({ text: 'Coffee in the kitchen', minutes: 120 })).json<{ message: FloorMessage }>().message;
    clock += 5 * MIN;
    const endedAt = clock;
    const del = await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('admin') });
    expect(del.statusCode, del.body).toBe(204);
    expect(texts((await list('floor-tv')).messages)).not.toContain(m.text);
    const ended = (await list('viewer')).recent?.find((r) => r.id === m.id);
    expect(ended).toMatchObject({ endedBy: 'admin', endsAt: new Date(endedAt).toISOString(), startsAt: m.startsAt });
    clock += MIN;
    expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
    // still ended at the first end, by the first who ended it
    expect((await list('viewer')).recent?.find((r) => r.id === m.id)).toMatchObject({ endedBy: 'admin', endsAt: new Date(endedAt).toISOString() });
    expect((await app.inject({ method: 'DELETE', url: '/v1/messages/0123456789abcdef', headers: auth('supervisor') })).statusCode).toBe(404);
    const audit = await app.inject({ method: 'GET', url: '/v1/admin/audit?action=message.end', headers: auth('admin') });
    expect(audit.json<{ entries: { object_id: string; actor_name: string }[] }>().entries.filter((e) => e.object_id === m.id).map((e) => e.actor_name)).toEqual(['admin']);
  });

  it('schedules a message: listed for people until it starts, then on the TVs for its minutes; cancelled, never shown', async () => {
    const start = clock + 10 * MIN;
    // given with an offset: 10 minutes from now, written on Istanbul's clock (UTC+3)
    const local = new Date(start + 3 * 60 * MIN).toISOString().replace('Z', '+03:00');
    const posted = await post({ text: 'Shift change in 5 minutes', level: 'urgent', minutes: 15, startsAt: local });
    expect(posted.statusCode, posted.body).toBe(201);
    const m = posted.json<{ message: FloorMessage }>().message;
    expect([m.startsAt, m.endsAt]).toEqual([new Date(start).toISOString(), new Date(start + 15 * MIN).toISOString()]);
    // not on the air yet: listed under scheduled, for people and for the TVs it is for (they put it up at its start by
    // the server's clock); one scheduled for the sales board only is not the floor TV's
    const salesOnly = (await post({ text: 'Sales only', minutes: 15, startsAt: new Date(start).toISOString(), boards: ['sales'] })).json<{ message: FloorMessage }>().message;
    expect((await list('floor-tv')).messages).toEqual([]);
    expect((await list('floor-tv')).scheduled?.map((s) => s.id)).toEqual([m.id]);
    expect((await list('lobby-tv')).scheduled?.map((s) => s.id).sort()).toEqual([m.id, salesOnly.id].sort());
    expect((await list('viewer')).scheduled?.map((s) => s.id).sort()).toEqual([m.id, salesOnly.id].sort());
    expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${salesOnly.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
    clock = start - 1;
    expect((await list('floor-tv')).messages).toEqual([]);
    clock = start;
    expect(texts((await list('floor-tv')).messages)).toEqual(['Shift change in 5 minutes']);
    expect((await list('viewer')).scheduled).toEqual([]);
    clock = start + 15 * MIN;
    expect((await list('floor-tv')).messages).toEqual([]);

    // a second one, cancelled before it starts: never on the air, and listed as ended (by whom) before its start
    const later = (await post({ text: 'Never shown', minutes: 5, startsAt: new Date(clock + 60 * MIN).toISOString() })).json<{ message: FloorMessage }>().message;
    expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${later.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
    const people = await list('viewer');
    expect(people.scheduled).toEqual([]);
    const cancelled = people.recent?.find((r) => r.id === later.id);
    expect(cancelled?.endedBy).toBe('supervisor');
    expect(Date.parse(cancelled!.endsAt)).toBeLessThan(Date.parse(cancelled!.startsAt));
    clock += 60 * MIN;
    expect((await list('floor-tv')).messages).toEqual([]);

    // a start a little in the past (a clock behind) is now; further back, or beyond a week, is refused
    const behind = (await post({ text: 'Just now', minutes: 1, startsAt: new Date(clock - 30_000).toISOString() })).json<{ message: FloorMessage }>().message;
    expect(behind.startsAt).toBe(new Date(clock).toISOString());
    clock += MIN;
  });

  it('refuses a bad message with the field and the reason, and stores nothing', async () => {
    const refused = async (payload: unknown): Promise<{ path: string; message: string }[]> => {
      const r = await post(payload);
      expect(r.statusCode, r.body).toBe(400);
      return r.json<{ error: { details: { path: string; message: string }[] } }>().error.details;
    };
    expect(await refused({ text: '   ', minutes: 5 })).toEqual([{ path: '/text', message: 'must not be blank' }]);
    expect(await refused({ text: 'two\nlines', minutes: 5 })).toEqual([{ path: '/text', message: 'must be one line of text (no line breaks or control characters)' }]);
    expect(await refused({ text: 'x'.repeat(201), minutes: 5 })).toEqual([{ path: '/text', message: 'must NOT have more than 200 characters' }]);
    expect(await refused({ text: 'hi', minutes: 0 })).toEqual([{ path: '/minutes', message: 'must be >= 1' }]);
    expect(await refused({ text: 'hi', minutes: 7 * 24 * 60 + 1 })).toEqual([{ path: '/minutes', message: 'must be <= 10080' }]);
    expect(await refused({ text: 'hi' })).toEqual([{ path: '/minutes', message: 'is required' }]);
    expect(await refused({ text: 'hi', minutes: 5, level: 'loud' })).toEqual([{ path: '/level', message: 'must be one of info, urgent' }]);
    expect(await refused({ text: 'hi', minutes: 5, colour: 'red' })).toEqual([{ path: '/colour', message: 'is not a known field' }]);
    expect(await refused({ text: 'hi', minutes: 5, startsAt: '24.11.2026 14:55' })).toEqual([
      { path: '/startsAt', message: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-11-24T14:55:00+03:00' },
    ]);
    expect(await refused({ text: 'hi', minutes: 5, startsAt: new Date(clock - 2 * MIN).toISOString() })).toEqual([{ path: '/startsAt', message: 'is in the past' }]);
    expect(await refused({ text: 'hi', minutes: 5, startsAt: new Date(clock + 7 * 24 * 60 * MIN + 1).toISOString() })).toEqual([
      { path: '/startsAt', message: 'is more than 7 days ahead' },
    ]);
    expect(await refused({ text: 'hi', minutes: 5, boards: ['floor', 'nope', 'sales', 'gone'] })).toEqual([
      { path: '/boards/1', message: 'no board named "nope"' },
      { path: '/boards/3', message: 'no board named "gone"' },
    ]);
    // the 200-character limit counts characters, not UTF-16 units: 200 Turkish letters and emoji pass
    const long = 'ş'.repeat(190) + '🎉'.repeat(10);
    const ok = await post({ text: long, minutes: 1 });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(texts((await list('floor-tv')).messages)).toEqual([long]);
    clock += MIN;
    expect((await list('floor-tv')).messages).toEqual([]);
  });

  it('a message posted through another API process reaches a screen that has just read the list: told once the shared read ran out', async () => {
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
    const tv = await openSocket(url, auth('floor-tv'));
    try {
      await tv.next('welcome');
      await new Promise((r) => setTimeout(r, SHARED_READ_MS + 200)); // the notices of earlier tests' changes are out
      const before = tv.messages.length;
      await list('floor-tv'); // this process's shared read of the messages, fresh
      // another process posts (its own store on the same database) and tells the hubs
      const elsewhere = await new MessageStore(ctx.clickhouse, () => clock).post({ text: 'From the other process', level: 'urgent', boards: ['floor'], minutes: 5, startsAt: clock }, 'sue', clock);
      try {
        await redis.publish(`${ctx.config.REDIS_PREFIX}:messages`, '{}');
        await tv.next('messages', (x) => tv.messages.indexOf(x) >= before);
        // read as the TV reads on the notice: the new message is there (told at once, the TV read the list from before)
        expect(texts((await list('floor-tv')).messages)).toContain('From the other process');
      } finally {
        expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${elsewhere.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
      }
    } finally {
      tv.ws.close();
    }
  });

  it("tells every live screen at once when a message is posted or ended, whichever board it is for", async () => {
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
    const tv = await openSocket(url, auth('lobby-tv'));
    try {
      await tv.next('welcome');
      // for another board than the lobby's: the TV is still told, and GET /v1/messages says it is not for it
      const m = (await post({ text: 'Floor only', minutes: 5, boards: ['floor'] })).json<{ message: FloorMessage }>().message;
      await tv.next('messages');
      const told = tv.messages.length;
      expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
      await tv.next('messages', (x) => tv.messages.indexOf(x) >= told);
      expect(tv.messages.filter((x) => x.type === 'messages')).toHaveLength(2);
      expect((await list('lobby-tv')).messages).toEqual([]);
    } finally {
      tv.ws.close();
    }
  });

  it('lets only supervisors and admins post and end; viewers and TVs read', async () => {
    expect((await post({ text: 'hi', minutes: 5 }, 'viewer')).statusCode).toBe(403);
    expect((await post({ text: 'hi', minutes: 5 }, 'floor-tv')).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/v1/messages', payload: { text: 'hi', minutes: 5 } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/messages' })).statusCode).toBe(401);
    const m = (await post({ text: 'read only?', minutes: 5 }, 'admin')).json<{ message: FloorMessage }>().message;
    expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('viewer') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('floor-tv') })).statusCode).toBe(403);
    // a TV does not get the list of past messages
    expect((await list('floor-tv')).recent).toBeUndefined();
    expect((await app.inject({ method: 'DELETE', url: `/v1/messages/${m.id}`, headers: auth('supervisor') })).statusCode).toBe(204);
  });

  it(`keeps at most ${MAX_ACTIVE_MESSAGES} messages on the air or scheduled`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < MAX_ACTIVE_MESSAGES; i++) {
      // the last one scheduled, ten minutes on: it counts as well
      const r = await post({ text: `message ${i}`, minutes: 10, ...(i === MAX_ACTIVE_MESSAGES - 1 ? { startsAt: new Date(clock + 10 * MIN).toISOString() } : {}) });
      expect(r.statusCode, r.body).toBe(201);
      ids.push(r.json<{ message: FloorMessage }>().message.id);
    }
    const over = await post({ text: 'one too many', minutes: 10 });
    expect(over.statusCode).toBe(409);
    expect(over.json<{ error: { code: string } }>().error.code).toBe('too_many_messages');
    // ending one makes room
    await app.inject({ method: 'DELETE', url: `/v1/messages/${ids[0]}`, headers: auth('supervisor') });
    expect((await post({ text: 'now it fits', minutes: 10 })).statusCode).toBe(201);
    clock += 20 * MIN;
    expect((await list('viewer')).messages).toEqual([]);
  });

  it('audits every post, with the message, and refused posts with their reasons', async () => {
    const audit = await app.inject({ method: 'GET', url: '/v1/admin/audit?action=message.post&limit=1000', headers: auth('admin') });
    const entries = audit.json<{ entries: { outcome: string; actor_name: string; details: string }[] }>().entries;
    const posted = entries.filter((e) => e.outcome === 'ok').map((e) => (JSON.parse(e.details) as { message: FloorMessage }).message.text);
    expect(posted).toContain('Billing system down: use the backup script');
    expect(posted).toContain('now it fits');
    const failed = entries.filter((e) => e.outcome === 'failed').map((e) => JSON.parse(e.details) as { problems: { path: string }[] });
    expect(failed.flatMap((f) => f.problems.map((p) => p.path))).toEqual(expect.arrayContaining(['/text', '/boards/1']));
  });
});

describe('floor messages on a ClickHouse server in another time zone', () => {
  it("lists a message that ended in the day before as recent: the store's times are UTC whatever the server's zone", async () => {
    // a server (or session) in New York (UTC−5 in November) reads a time without a zone as New York's: "24 hours
    // ago" would be 19 hours ago
    const elsewhere = createClient({
      url: ctx.target.url,
      database: ctx.target.database,
      username: ctx.target.username,
      password: ctx.target.password,
      clickhouse_settings: { session_timezone: 'America/New_York' },
    });
    try {
      const store = new MessageStore(elsewhere);
      const now = Date.parse('2026-11-30T12:00:00.000Z');
      // up for 10 minutes, ended 22 hours before now: within the day before (with the 5 hours off, it was not)
      const m = await store.post({ text: 'ended yesterday noon-ish', level: 'info', boards: [], minutes: 10, startsAt: now - 22 * 60 * MIN - 10 * MIN }, 'test', now - 22 * 60 * MIN - 10 * MIN);
      const at = await store.at(now);
      expect(at.recent.map((r) => r.id)).toContain(m.id);
      expect(at.active.map((r) => r.id)).not.toContain(m.id);
    } finally {
      await elsewhere.close();
    }
  });
});
