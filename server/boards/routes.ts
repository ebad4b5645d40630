// The boards API (docs/wallboard.md):
//   GET    /v1/boards                       reader      people: every board; a display: the board it shows (and, for
//                                                      a rotation, its grid boards) plus its own settings
//   GET    /v1/boards/:name                 reader      one board (a display: only its own)
//   PUT    /v1/boards/:name                 supervisor  create or replace (201 when created); validated layout;
//                                                      If-None-Match: * creates only, If-Match: "<updatedAt>" replaces
//                                                      only that version (412 otherwise: two editors, one board)
//   DELETE /v1/boards/:name                 supervisor  204; 409 while a rotation lists it or a display shows it
//   GET    /v1/display-settings             supervisor  per-display settings (board override, sound)
//   PUT    /v1/display-settings/:id         supervisor  {board?, sound?}
// Every change is audited (board.put, board.delete, display_settings.put).
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import { PreconditionHeaders, requireVersion } from '../preconditions.ts';
import { BOARD_NAME_PATTERN, BoardInputSchema, type BoardsResponse } from './schema.ts';
import type { BoardStore } from './store.ts';
import { validateBoard } from './validate.ts';

const NameParams = Type.Object({ name: Type.String({ pattern: BOARD_NAME_PATTERN }) });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

export interface BoardRoutesOptions {
  /** The app's board store (its shared reads serve every TV). */
  boards: BoardStore;
}

export async function boardRoutes(parent: FastifyInstance, opts: BoardRoutesOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { auth } = parent;
  const store = opts.boards;
  const reader = { onRequest: auth.require('reader') };
  const supervisor = { onRequest: auth.require('supervisor') };

  const actorName = (request: FastifyRequest) => {
    const p = request.principal;
    return p?.kind === 'user' ? p.username : p?.kind === 'display' ? `display:${p.name}` : 'unknown';
  };

  app.get('/v1/boards', { ...reader, schema: { tags: ['boards'] } }, async (request) => {
    const p = request.principal!;
    if (p.kind === 'display') return store.displayView(p);
    return { boards: await store.list() } satisfies BoardsResponse;
  });

  app.get('/v1/boards/:name', { ...reader, schema: { tags: ['boards'], params: NameParams } }, async (request) => {
    const p = request.principal!;
    const { name } = request.params;
    const board = p.kind === 'display' ? (await store.displayView(p)).boards.find((b) => b.name === name) : await store.get(name);
    if (!board) throw new ApiError(404, 'not_found', `no board named ${JSON.stringify(name)}`);
    return { board };
  });

  app.put(
    '/v1/boards/:name',
    { ...supervisor, schema: { tags: ['boards'], params: NameParams, headers: PreconditionHeaders, body: BoardInputSchema } },
    async (request, reply) => {
      const { name } = request.params;
      const input = request.body;
      const all = await store.list();
      const existing = all.find((b) => b.name === name);
      // A new board named as one that exists would replace it; an edit of a board changed since it was opened would
      // undo that change. Both are refused (412), and the editor says what to do.
      if (request.headers['if-none-match'] !== undefined && existing) {
        throw new ApiError(412, 'board_exists', `a board named ${JSON.stringify(name)} exists already`, [
          { path: '/name', message: `a board named ${JSON.stringify(name)} exists already: pick another name, or open that board to edit it` },
        ]);
      }
      requireVersion(request.headers['if-match'], existing, 'board');
      const problems = validateBoard(name, input, (n) => all.find((b) => b.name === n)?.type);
      if (input.type === 'rotation' && existing?.type === 'grid' && all.some((b) => b.type === 'rotation' && b.rotation.some((e) => e.board === name))) {
        problems.push({ path: '/type', message: 'this board is part of a rotation: it must stay a grid' });
      }
      if (problems.length > 0) {
        await auth.audit.record(auth.actorOf(request), { action: 'board.put', outcome: 'failed', object_kind: 'board', object_id: name, details: { problems } });
        throw new ApiError(400, 'invalid_board', `${problems[0]!.path} ${problems[0]!.message}`, problems);
      }
      const board = await store.put(name, input, actorName(request));
      await auth.audit.record(auth.actorOf(request), {
        action: 'board.put',
        object_kind: 'board',
        object_id: name,
        details: { created: !existing, board: input },
      });
      return reply.code(existing ? 200 : 201).send({ board });
    },
  );

  app.delete('/v1/boards/:name', { ...supervisor, schema: { tags: ['boards'], params: NameParams } }, async (request, reply) => {
    const { name } = request.params;
    const all = await store.list();
    const board = all.find((b) => b.name === name);
    if (!board) throw new ApiError(404, 'not_found', `no board named ${JSON.stringify(name)}`);
    const users = all.filter((b) => b.type === 'rotation' && b.rotation.some((e) => e.board === name)).map((b) => b.name);
    if (users.length > 0) throw new ApiError(409, 'board_in_use', `the rotation(s) ${users.join(', ')} show this board: remove it from them first`);
    // a TV showing it would show "no board" instead
    const override = new Map((await store.listSettings()).map((s) => [s.displayId, s.board]));
    const screens = (await auth.service.listDisplays())
      .filter((d) => !d.revokedAt && (override.get(d.id) || d.board) === name)
      .map((d) => d.name);
    if (screens.length > 0) {
      throw new ApiError(409, 'board_in_use', `the display(s) ${screens.join(', ')} show this board: give them another board (Displays), or revoke them, first`);
    }
    await store.remove(board, actorName(request));
    await auth.audit.record(auth.actorOf(request), { action: 'board.delete', object_kind: 'board', object_id: name });
    return reply.code(204).send();
  });

  app.get('/v1/display-settings', { ...supervisor, schema: { tags: ['boards'] } }, async () => ({ settings: await store.listSettings() }));

  app.put(
    '/v1/display-settings/:id',
    {
      ...supervisor,
      schema: {
        tags: ['boards'],
        params: IdParams,
        body: Type.Object(
          {
            board: Type.Optional(Type.Union([Type.Literal(''), Type.String({ pattern: BOARD_NAME_PATTERN })])),
            sound: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const display = await auth.service.store.getCredential('display', id);
      if (!display || display.revokedAt) throw new ApiError(404, 'not_found', 'no such display (or it was revoked)');
      const { board, sound } = request.body;
      if (board && !(await store.get(board))) {
        throw new ApiError(400, 'invalid_request', `/board no board named ${JSON.stringify(board)}`, [{ path: '/board', message: `no board named ${JSON.stringify(board)}` }]);
      }
      const previous = await store.getSettings(id);
      const settings = await store.putSettings(
        { displayId: id, board: board ?? previous?.board ?? '', sound: sound ?? previous?.sound ?? true, updatedBy: actorName(request) },
        previous,
      );
      await auth.audit.record(auth.actorOf(request), {
        action: 'display_settings.put',
        object_kind: 'display',
        object_id: id,
        details: { board: settings.board, sound: settings.sound },
      });
      return { settings };
    },
  );
}
