// The boards API against the embedded ClickHouse and a real Redis: validated layouts, roles, a display's view of its
// own board(s) and rotation, per-display settings, and the audit trail.
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import type { Board, BoardInput } from '../../server/boards/schema.ts';
import { BoardStore } from '../../server/boards/store.ts';
import { SHARED_READ_MS } from '../../server/read-cache.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { signInRoles } from '../support/users.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-boards';
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
const tokens: Record<string, string> = {};
const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

const grid = (title: string, tiles: unknown[] = [{ kind: 'kpi', kpi: 'service_level', scope: 'center', window: 'today' }]) => ({ type: 'grid', title, columns: 4, tiles });

beforeAll(async () => {
  ctx = await createTestContext({ ADMIN_PASSWORD });
  redis = createRedis(ctx.config.REDIS_URL!, 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  Object.assign(tokens, await signInRoles(app, ADMIN_PASSWORD, ['viewer', 'supervisor']));
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('boards API', () => {
  it('lets a supervisor create, rename and delete a board, and keeps the layout it was given', async () => {
    const tiles = [
      { kind: 'kpi', kpi: 'asa', scope: 'queue:billing', window: '15m', width: 2 },
      { kind: 'trend', kpi: 'service_level', scope: 'center', width: 4, height: 2 },
      { kind: 'agents', scope: 'team:red' },
      { kind: 'roster', scope: 'team:red' },
      { kind: 'roster', scope: 'center', states: ['aux', 'acw'], limits: { aux: 15, acw: 3 }, width: 4, height: 2 },
      { kind: 'alerts' },
      { kind: 'table', kpis: ['waiting', 'service_level', 'asa'], scopes: ['queue:billing', 'queue:sales'], window: '15m', width: 2, height: 2 },
      { kind: 'table', kpis: ['waiting', 'asa'], scopes: ['center', 'queue:*'], window: '15m' },
    ];
    const created = await app.inject({ method: 'PUT', url: '/v1/boards/floor-1', headers: auth('supervisor'), payload: grid('Floor 1', tiles) });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json<{ board: Board }>().board).toMatchObject({ name: 'floor-1', title: 'Floor 1', type: 'grid', columns: 4, tiles, updatedBy: 'supervisor' });
    const renamed = await app.inject({ method: 'PUT', url: '/v1/boards/floor-1', headers: auth('supervisor'), payload: grid('Floor 1 (north)', tiles) });
    expect(renamed.statusCode).toBe(200);
    const got = await app.inject({ method: 'GET', url: '/v1/boards/floor-1', headers: auth('viewer') });
    expect(got.json<{ board: Board }>().board).toMatchObject({ title: 'Floor 1 (north)', tiles });
    const list = await app.inject({ method: 'GET', url: '/v1/boards', headers: auth('viewer') });
    expect(list.json<{ boards: Board[] }>().boards.map((b) => b.name)).toContain('floor-1');
    expect((await app.inject({ method: 'DELETE', url: '/v1/boards/floor-1', headers: auth('supervisor') })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/boards/floor-1', headers: auth('viewer') })).statusCode).toBe(404);
    const audit = await app.inject({ method: 'GET', url: '/v1/admin/audit?action=board.put', headers: auth('admin') });
    expect(audit.json<{ entries: { object_id: string }[] }>().entries.filter((e) => e.object_id === 'floor-1')).toHaveLength(2);
  });

  it('two editors of one board: a new board named as an existing one, or an edit of a board changed since it was opened, is refused (412), not saved over it', async () => {
    const first = await app.inject({ method: 'PUT', url: '/v1/boards/shared', headers: { ...auth('supervisor'), 'if-none-match': '*' }, payload: grid('Shared') });
    expect(first.statusCode, first.body).toBe(201);
    const opened = first.json<{ board: Board }>().board.updatedAt;
    // "New board" with the same name: refused at the name, the board as it was
    const clash = await app.inject({ method: 'PUT', url: '/v1/boards/shared', headers: { ...auth('supervisor'), 'if-none-match': '*' }, payload: grid('Mine') });
    expect([clash.statusCode, clash.json<{ error: { code: string; details: { path: string }[] } }>().error.details.map((d) => d.path)]).toEqual([412, ['/name']]);
    // two supervisors opened it; the first saves, the second's save (of the version they opened) is refused
    const a = await app.inject({ method: 'PUT', url: '/v1/boards/shared', headers: { ...auth('supervisor'), 'if-match': `"${opened}"` }, payload: grid('Shared (A)') });
    expect(a.statusCode, a.body).toBe(200);
    const b = await app.inject({ method: 'PUT', url: '/v1/boards/shared', headers: { ...auth('admin'), 'if-match': `"${opened}"` }, payload: grid('Shared (B)') });
    expect([b.statusCode, b.json<{ error: { code: string } }>().error.code]).toEqual([412, 'board_changed']);
    expect(b.json<{ error: { message: string } }>().error.message).toMatch(/^supervisor changed this board at .*: open it again/);
    const now = (await app.inject({ method: 'GET', url: '/v1/boards/shared', headers: auth('viewer') })).json<{ board: Board }>().board;
    expect(now.title).toBe('Shared (A)');
    // with the version as it is now, the save goes through
    const again = await app.inject({ method: 'PUT', url: '/v1/boards/shared', headers: { ...auth('admin'), 'if-match': `"${now.updatedAt}"` }, payload: grid('Shared (B)') });
    expect(again.statusCode, again.body).toBe(200);
    // the audit log finds who, whatever the case the name is typed in
    const audit = await app.inject({ method: 'GET', url: '/v1/admin/audit?action=board.put&actor=SuperVisor', headers: auth('admin') });
    expect(audit.json<{ entries: { object_id: string }[] }>().entries.filter((e) => e.object_id === 'shared').length).toBeGreaterThanOrEqual(2);
  });

  it('refuses the deletion of a board a display shows', async () => {
    expect((await app.inject({ method: 'PUT', url: '/v1/boards/on-air', headers: auth('supervisor'), payload: grid('On air') })).statusCode).toBe(201);
    const tv = await app.inject({ method: 'POST', url: '/v1/displays', headers: auth('supervisor'), payload: { name: 'TV on air', board: 'on-air' } });
    expect(tv.statusCode, tv.body).toBe(201);
    const refused = await app.inject({ method: 'DELETE', url: '/v1/boards/on-air', headers: auth('supervisor') });
    expect([refused.statusCode, refused.json<{ error: { code: string; message: string } }>().error.message]).toEqual([409, expect.stringContaining('TV on air')]);
    // revoked, it shows nothing: the board can go
    await app.inject({ method: 'DELETE', url: `/v1/displays/${tv.json<{ display: { id: string } }>().display.id}`, headers: auth('supervisor') });
    expect((await app.inject({ method: 'DELETE', url: '/v1/boards/on-air', headers: auth('supervisor') })).statusCode).toBe(204);
  });

  it("keeps a live figure's tile under today, the window its thresholds are kept under", async () => {
    const tiles = [
      { kind: 'kpi', kpi: 'waiting', scope: 'center', window: '15m' },
      { kind: 'kpi', kpi: 'abandoned', scope: 'center', window: '15m' },
    ];
    const put = await app.inject({ method: 'PUT', url: '/v1/boards/live-window', headers: auth('supervisor'), payload: grid('Live', tiles) });
    expect(put.statusCode, put.body).toBe(201);
    const kept = [{ ...tiles[0], window: 'today' }, tiles[1]];
    expect(put.json<{ board: Board }>().board).toMatchObject({ tiles: kept });
    expect((await app.inject({ method: 'GET', url: '/v1/boards/live-window', headers: auth('viewer') })).json<{ board: Board }>().board).toMatchObject({ tiles: kept });
    // a board saved before this rule (straight into the table) reads the same way
    await ctx.clickhouse.insert({
      table: 'boards',
      format: 'JSONEachRow',
      values: [{ name: 'live-window-old', title: 'Old', type: 'grid', spec: JSON.stringify({ columns: 4, tiles }), updated_at: new Date().toISOString().replace('T', ' ').replace('Z', ''), updated_by: 'older-version', deleted: false }],
    });
    expect((await app.inject({ method: 'GET', url: '/v1/boards/live-window-old', headers: auth('viewer') })).json<{ board: Board }>().board).toMatchObject({ tiles: kept });
  });

  it('refuses layouts naming unknown KPIs, bad scopes, tiles wider than the grid, and says which field', async () => {
    const bad = await app.inject({
      method: 'PUT',
      url: '/v1/boards/bad',
      headers: auth('supervisor'),
      payload: grid('Bad', [
        { kind: 'kpi', kpi: 'service_level', scope: 'center', window: 'today' },
        { kind: 'kpi', kpi: 'happiness', scope: 'center', window: 'today' },
        { kind: 'agents', scope: 'building:3' },
        { kind: 'alerts', width: 6 },
        { kind: 'table', kpis: ['asa', 'mood'], scopes: ['queue:billing', 'floor:2'], window: '15m' },
      ]),
    });
    expect(bad.statusCode).toBe(400);
    const body = bad.json<{ error: { code: string; details: { path: string }[] } }>();
    expect(body.error.code).toBe('invalid_board');
    expect(body.error.details.map((d) => d.path)).toEqual(['/tiles/1/kpi', '/tiles/2/scope', '/tiles/3/width', '/tiles/4/kpis/1', '/tiles/4/scopes/1']);
    // a field no tile has is refused, not dropped: a typo must not pass silently
    const typo = await app.inject({ method: 'PUT', url: '/v1/boards/bad', headers: auth('supervisor'), payload: grid('Bad', [{ kind: 'kpi', kpi: 'asa', scope: 'center', window: '1h', widht: 2 }]) });
    expect(typo.statusCode).toBe(400);
    const refusal = async (tile: unknown) => {
      const res = await app.inject({ method: 'PUT', url: '/v1/boards/bad', headers: auth('supervisor'), payload: grid('Bad', [tile]) });
      expect(res.statusCode).toBe(400);
      return res.json<{ error: { message: string } }>().error.message;
    };
    // only the kind of tile named is checked, so the refusal is about it, not about every other kind
    expect(typo.json<{ error: { message: string } }>().error.message).toBe('body/tiles/0/widht is not a known field');
    expect(await refusal({ kind: 'table', kpis: ['asa'], scopes: ['center'], window: '1h', scope: 'center' })).toBe('body/tiles/0/scope is not a known field');
    expect(await refusal({ kind: 'pie' })).toBe('body/tiles/0/kind "pie" is not a known kind');
    expect(await refusal({ kind: 'kpi', kpi: 'asa', scope: 'center', window: '2h' })).toBe('body/tiles/0/window must be one of today, 1h, 15m');
    expect(await refusal({ kind: 'trend', scope: 'center' })).toBe('body/tiles/0/kpi is required');
    expect(await refusal({ kind: 'roster', scope: 'center', states: ['aux', 'lunch'] })).toBe('body/tiles/0/states/1 must be one of available, busy, acw, aux');
    expect(await refusal({ kind: 'roster', scope: 'center', states: ['aux', 'aux'] })).toBe('body/tiles/0/states must not list the same item twice (items 0 and 1)');
    expect(await refusal({ kind: 'roster', scope: 'center', states: [] })).toBe('body/tiles/0/states must have at least 1 item');
    expect(await refusal({ kind: 'roster', scope: 'center', limits: { lunch: 15 } })).toBe('body/tiles/0/limits/lunch is not a known field');
    // every queue at once is for a table's rows, not for a tile of one scope; every agent is not offered
    expect(await refusal({ kind: 'kpi', kpi: 'asa', scope: 'queue:*', window: '1h' })).toBe("/tiles/0/scope queue:* is for a table's rows only: a tile shows one scope");
    expect(await refusal({ kind: 'table', kpis: ['asa'], scopes: ['team:*', 'agent:*'], window: '1h' })).toBe(
      '/tiles/0/scopes/1 agent:* is not allowed: a table\'s rows may be queue:*, team:*, channel:*',
    );
    expect(await refusal({ kind: 'roster', scope: 'center', limits: { aux: 'soon' } })).toBe('body/tiles/0/limits/aux must be integer');
    expect(await refusal({ kind: 'roster', scope: 'center', limits: { aux: 0 } })).toBe('body/tiles/0/limits/aux must be >= 1');
    const window = await app.inject({ method: 'PUT', url: '/v1/boards/bad', headers: auth('supervisor'), payload: grid('Bad', [{ kind: 'kpi', kpi: 'asa', scope: 'center', window: '2h' }]) });
    expect(window.statusCode).toBe(400);
    const name = await app.inject({ method: 'PUT', url: '/v1/boards/Bad%20Name', headers: auth('supervisor'), payload: grid('x') });
    expect(name.statusCode).toBe(400);
  });

  it('keeps viewers and displays read-only', async () => {
    expect((await app.inject({ method: 'PUT', url: '/v1/boards/v', headers: auth('viewer'), payload: grid('V') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: '/v1/boards/v', headers: auth('viewer') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/v1/display-settings', headers: auth('viewer') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/v1/boards' })).statusCode).toBe(401);
  });

  it('serves the polling TVs from one read a moment: their boards, thresholds and messages, a change in another process within a second', async () => {
    // The app's ClickHouse queries counted by table: before, every TV's read was a query (or three) of its own; 200 TVs
    // polling every 5 s cost the embedded ClickHouse most of a core.
    const counted: string[] = [];
    const counting = new Proxy(ctx.clickhouse, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (key === 'query') return (args: { query: string }) => (counted.push(args.query), target.query(args as Parameters<typeof target.query>[0]));
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const own = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: counting, redis, wallboardDir: '/nonexistent' });
    try {
      const sup = (await own.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } })).json<{ token: string }>().token;
      expect((await own.inject({ method: 'PUT', url: '/v1/boards/polled', headers: { authorization: `Bearer ${sup}` }, payload: grid('Polled') })).statusCode).toBe(201);
      const d = await own.inject({ method: 'POST', url: '/v1/displays', headers: { authorization: `Bearer ${sup}` }, payload: { name: 'Polling TV', board: 'polled' } });
      const tv = { authorization: `Bearer ${d.json<{ token: string }>().token}` };
      const read = (url: string) => own.inject({ method: 'GET', url, headers: tv });
      await Promise.all(['/v1/boards', '/v1/thresholds', '/v1/messages'].map(read)); // the grant's first read
      await new Promise((r) => setTimeout(r, SHARED_READ_MS + 100)); // and its shared reads gone stale
      counted.length = 0;
      // 30 TVs (one token does) read at once: one query of each table
      const answers = await Promise.all(Array.from({ length: 30 }, () => ['/v1/boards', '/v1/thresholds', '/v1/messages'].map(read)).flat());
      expect(answers.every((r) => r.statusCode === 200)).toBe(true);
      const of = (table: string) => counted.filter((q) => q.includes(table)).length;
      expect([of('FROM boards FINAL'), of('FROM display_settings FINAL'), of('FROM thresholds'), of('FROM floor_messages FINAL')]).toEqual([1, 1, 1, 1]);
      // a board changed by another process (another store on the same database) reaches the TVs within a second
      await new BoardStore(ctx.clickhouse).put('polled', grid('Polled, renamed') as BoardInput, 'elsewhere');
      await new Promise((r) => setTimeout(r, SHARED_READ_MS + 100));
      expect((await read('/v1/boards')).json<{ boards: Board[] }>().boards[0]!.title).toBe('Polled, renamed');
    } finally {
      await own.close();
    }
  });

  it('shows a display only its own board, or its rotation and the boards in it; settings re-point it without re-pairing', async () => {
    for (const [name, title] of [['sales', 'Sales'], ['support', 'Support'], ['other', 'Other']]) {
      expect((await app.inject({ method: 'PUT', url: `/v1/boards/${name}`, headers: auth('supervisor'), payload: grid(title!) })).statusCode).toBe(201);
    }
    const rot = await app.inject({
      method: 'PUT',
      url: '/v1/boards/lobby',
      headers: auth('supervisor'),
      payload: { type: 'rotation', title: 'Lobby', rotation: [{ board: 'sales', seconds: 20 }, { board: 'support', seconds: 40 }] },
    });
    expect(rot.statusCode, rot.body).toBe(201);
    // a rotation lists existing grid boards only
    const nested = await app.inject({ method: 'PUT', url: '/v1/boards/meta', headers: auth('supervisor'), payload: { type: 'rotation', title: 'M', rotation: [{ board: 'lobby', seconds: 10 }, { board: 'nope', seconds: 10 }] } });
    expect(nested.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path)).toEqual(['/rotation/0/board', '/rotation/1/board']);
    // a board in a rotation cannot be deleted
    expect((await app.inject({ method: 'DELETE', url: '/v1/boards/sales', headers: auth('supervisor') })).statusCode).toBe(409);

    const d = await app.inject({ method: 'POST', url: '/v1/displays', headers: auth('supervisor'), payload: { name: 'Lobby TV', board: 'lobby' } });
    const { token, display } = d.json<{ token: string; display: { id: string } }>();
    const tv = { authorization: `Bearer ${token}` };
    const view = (await app.inject({ method: 'GET', url: '/v1/boards', headers: tv })).json<{ boards: Board[]; display: { board: string; sound: boolean } }>();
    expect(view.boards.map((b) => b.name)).toEqual(['lobby', 'sales', 'support']);
    expect(view.display).toMatchObject({ id: display.id, name: 'Lobby TV', board: 'lobby', sound: true });
    expect((await app.inject({ method: 'GET', url: '/v1/boards/sales', headers: tv })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/boards/other', headers: tv })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: '/v1/boards/other', headers: tv, payload: grid('x') })).statusCode).toBe(403);

    const set = await app.inject({ method: 'PUT', url: `/v1/display-settings/${display.id}`, headers: auth('supervisor'), payload: { board: 'other', sound: false } });
    expect(set.statusCode, set.body).toBe(200);
    const after = (await app.inject({ method: 'GET', url: '/v1/boards', headers: tv })).json<{ boards: Board[]; display: { board: string; sound: boolean } }>();
    expect(after.boards.map((b) => b.name)).toEqual(['other']);
    expect(after.display).toMatchObject({ board: 'other', sound: false });
    // sound alone keeps the board override
    await app.inject({ method: 'PUT', url: `/v1/display-settings/${display.id}`, headers: auth('supervisor'), payload: { sound: true } });
    expect((await app.inject({ method: 'GET', url: '/v1/boards', headers: tv })).json<{ display: { board: string; sound: boolean } }>().display).toMatchObject({ board: 'other', sound: true });
    const unknown = await app.inject({ method: 'PUT', url: `/v1/display-settings/${display.id}`, headers: auth('supervisor'), payload: { board: 'nope' } });
    expect(unknown.statusCode).toBe(400);
    const settings = await app.inject({ method: 'GET', url: '/v1/display-settings', headers: auth('supervisor') });
    expect(settings.json<{ settings: { displayId: string }[] }>().settings.map((s) => s.displayId)).toContain(display.id);
  });
});
