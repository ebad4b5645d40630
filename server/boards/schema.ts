// THE board contract: what a wallboard layout is. The API validates with it (server/boards/routes.ts), the wallboard
// and the console import its types (types only: the TV bundle carries no TypeBox), and the tests use both.
//
// A board is either
//   grid      a grid of `columns` columns filled left to right, top to bottom with tiles (CSS grid, dense):
//               kpi     one KPI for one scope and window: label, big value, n, a sparkline of today by 15 minutes
//               trend   a wide uPlot chart of one KPI for a scope, today by 15 minutes, with its threshold lines
//               agents  the agent-state strip of a scope (available / busy / wrap-up / aux, waiting, longest wait)
//               roster  each agent of a scope: their state (all, or the ones chosen), since when and why; a card is
//                       flagged once its agent has been longer in a state than the tile's limit for it
//               alerts  the active alerts (newest first), with who acknowledged them
//               table   several KPIs for several scopes in one window: a row per scope (queues, teams…), a column per
//                       KPI, each cell coloured by its threshold; a row `queue:*` (team:*, channel:*) stands for every
//                       queue with figures today, by name
//   rotation  a list of grid boards with how long each is shown; a TV bound to it cycles through them.
import { Type, type Static, type TObject, type TUnion } from '@sinclair/typebox';
import { ROSTER_STATES } from '../live/protocol.ts';
import { MAX_TABLE_SCOPES } from './table-rows.ts';

export const BOARD_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
export const MAX_TILES = 60;
export const MAX_COLUMNS = 8;
export const MAX_ROTATION = 20;
export const MAX_TABLE_KPIS = 8;
/** The longest time-in-state limit a roster tile may set, in minutes (a shift). */
export const MAX_ROSTER_LIMIT_MINUTES = 720;

const Name = Type.String({ pattern: BOARD_NAME_PATTERN, description: 'a-z, 0-9, - and _; up to 64 characters' });
const Scope = Type.String({ minLength: 1, maxLength: 200, description: 'center, queue:<name>, team:<name>, channel:<name> or agent:<id>' });
const Window = Type.Union([Type.Literal('today'), Type.Literal('1h'), Type.Literal('15m')]);
const Width = Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_COLUMNS, description: 'columns the tile spans (default 1; trend, agents, roster, alerts and table default 2)' }));
const LimitMinutes = Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ROSTER_LIMIT_MINUTES }));
const Height = Type.Optional(Type.Integer({ minimum: 1, maximum: 4, description: 'rows the tile spans (default 1)' }));

/**
 * A union told apart by one property (`kind`, `type`): ajv's discriminator validates only the branch it names, so a
 * refusal is about that branch ("body/tiles/3/widht is not a known field"), not about every other kind of tile.
 * Needs the validator's `discriminator` option (server/app.ts).
 */
function discriminated<T extends TObject[]>(propertyName: string, branches: [...T]) {
  return Type.Unsafe<Static<TUnion<T>>>({ type: 'object', required: [propertyName], discriminator: { propertyName }, oneOf: branches });
}

export const TileSchema = discriminated('kind', [
  Type.Object({ kind: Type.Literal('kpi'), kpi: Type.String({ maxLength: 64 }), scope: Scope, window: Window, width: Width, height: Height }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('trend'), kpi: Type.String({ maxLength: 64 }), scope: Scope, width: Width, height: Height }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('agents'), scope: Scope, width: Width, height: Height }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('roster'),
      scope: Scope,
      states: Type.Optional(
        Type.Array(Type.Union(ROSTER_STATES.map((s) => Type.Literal(s))), {
          minItems: 1,
          maxItems: ROSTER_STATES.length,
          uniqueItems: true,
          description: 'the states shown, in this order (default: available, busy, acw, aux)',
        }),
      ),
      limits: Type.Optional(
        Type.Object(
          { available: LimitMinutes, busy: LimitMinutes, acw: LimitMinutes, aux: LimitMinutes } satisfies Record<(typeof ROSTER_STATES)[number], unknown>,
          { additionalProperties: false, description: 'minutes in a state after which an agent\'s card is flagged, e.g. {"aux": 15, "acw": 3}' },
        ),
      ),
      width: Width,
      height: Height,
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('alerts'), width: Width, height: Height }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('table'),
      kpis: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: MAX_TABLE_KPIS, description: 'the columns: KPI keys of the catalog' }),
      scopes: Type.Array(Scope, {
        minItems: 1,
        maxItems: MAX_TABLE_SCOPES,
        description: `the rows; queue:*, team:* or channel:* for every one with figures today, by name (at most ${MAX_TABLE_SCOPES} rows in all)`,
      }),
      window: Window,
      width: Width,
      height: Height,
    },
    { additionalProperties: false },
  ),
]);
export type Tile = Static<typeof TileSchema>;

export const RotationEntrySchema = Type.Object(
  { board: Name, seconds: Type.Integer({ minimum: 5, maximum: 3600, description: 'how long the board stays on screen' }) },
  { additionalProperties: false },
);

/** The body of PUT /v1/boards/:name. */
export const BoardInputSchema = discriminated('type', [
  Type.Object(
    {
      type: Type.Literal('grid'),
      title: Type.String({ minLength: 1, maxLength: 120 }),
      columns: Type.Integer({ minimum: 1, maximum: MAX_COLUMNS }),
      tiles: Type.Array(TileSchema, { maxItems: MAX_TILES }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('rotation'),
      title: Type.String({ minLength: 1, maxLength: 120 }),
      rotation: Type.Array(RotationEntrySchema, { minItems: 1, maxItems: MAX_ROTATION }),
    },
    { additionalProperties: false },
  ),
]);
export type BoardInput = Static<typeof BoardInputSchema>;
export type GridBoardInput = Extract<BoardInput, { type: 'grid' }>;
export type RotationBoardInput = Extract<BoardInput, { type: 'rotation' }>;

export interface BoardMeta {
  name: string;
  updatedAt: string;
  updatedBy: string;
}
export type GridBoard = GridBoardInput & BoardMeta;
export type RotationBoard = RotationBoardInput & BoardMeta;
export type Board = GridBoard | RotationBoard;

/** Per-display settings a supervisor changes without re-pairing the TV. */
export interface DisplaySettings {
  displayId: string;
  /** The board shown instead of the one on the display token; '' = the token's board. */
  board: string;
  sound: boolean;
  updatedAt: string;
  updatedBy: string;
}

/** GET /v1/boards. For a display: the board it shows, the grid boards of its rotation, and its settings. */
export interface BoardsResponse {
  boards: Board[];
  display?: { id: string; name: string; board: string; sound: boolean };
}
