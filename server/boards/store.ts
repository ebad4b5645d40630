// Boards and per-display settings in ClickHouse (sql/007_boards.sql): ReplacingMergeTree, read with FINAL; every
// write inserts the whole new version with a strictly newer updated_at.
import type { ClickHouseClient } from '@clickhouse/client';
import { chIso, chTime, nextVersion } from '../clickhouse/time.ts';
import { figureWindow } from '../kpi/catalog.ts';
import type { DisplayPrincipal } from '../auth/principal.ts';
import { SHARED_READ_MS, SharedRead } from '../read-cache.ts';
import type { Board, BoardInput, BoardsResponse, DisplaySettings, Tile } from './schema.ts';

interface BoardRow {
  name: string;
  title: string;
  type: 'grid' | 'rotation';
  spec: string;
  updated_at: string;
  updated_by: string;
  deleted: boolean;
}

interface SettingsRow {
  display_id: string;
  board: string;
  sound: boolean;
  updated_at: string;
  updated_by: string;
}

/** Tiles as kept: a live KPI's tile under `today`, the window its figure and thresholds are kept under. */
function keptTiles(tiles: Tile[]): Tile[] {
  return tiles.map((t) => (t.kind === 'kpi' ? { ...t, window: figureWindow(t.kpi, t.window) } : t));
}

function toBoard(r: BoardRow): Board {
  const spec = JSON.parse(r.spec) as Record<string, unknown>;
  if (Array.isArray(spec.tiles)) spec.tiles = keptTiles(spec.tiles as Tile[]);
  return { ...spec, type: r.type, title: r.title, name: r.name, updatedAt: chIso(r.updated_at), updatedBy: r.updated_by } as Board;
}

function specOf(input: BoardInput): string {
  return JSON.stringify(input.type === 'grid' ? { columns: input.columns, tiles: input.tiles } : { rotation: input.rotation });
}

/** What a display shows, given its settings and every board. */
export function viewOf(p: Pick<DisplayPrincipal, 'displayId' | 'name' | 'board'>, settings: DisplaySettings | undefined, all: readonly Board[]): BoardsResponse {
  const name = settings?.board || p.board;
  const main = all.find((b) => b.name === name);
  const boards: Board[] = main ? [main] : [];
  if (main?.type === 'rotation') {
    for (const e of main.rotation) {
      const b = all.find((x) => x.name === e.board);
      if (b && !boards.includes(b)) boards.push(b);
    }
  }
  return { boards, display: { id: p.displayId, name: p.name, board: name, sound: settings?.sound ?? true } };
}

export class BoardStore {
  /** Every board, and every display's settings, as the polling TVs read them: once a moment for all (read-cache.ts). */
  private readonly shared = {
    boards: new SharedRead(() => this.list(), SHARED_READ_MS),
    settings: new SharedRead(() => this.listSettings(), SHARED_READ_MS),
  };

  constructor(private readonly ch: ClickHouseClient) {}

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const rs = await this.ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  async list(): Promise<Board[]> {
    const rows = await this.rows<BoardRow>('SELECT name, title, type, spec, updated_at, updated_by, deleted FROM boards FINAL ORDER BY name');
    return rows.filter((r) => !r.deleted).map(toBoard);
  }

  async get(name: string): Promise<Board | undefined> {
    const [row] = await this.rows<BoardRow>(
      'SELECT name, title, type, spec, updated_at, updated_by, deleted FROM boards FINAL WHERE name = {n:String}',
      { n: name },
    );
    return row && !row.deleted ? toBoard(row) : undefined;
  }

  private async lastVersion(name: string): Promise<string | undefined> {
    const [row] = await this.rows<{ v: string }>('SELECT max(updated_at) AS v, count() AS n FROM boards WHERE name = {n:String} HAVING n > 0', { n: name });
    return row ? chIso(row.v) : undefined;
  }

  async put(name: string, given: BoardInput, by: string): Promise<Board> {
    const input = given.type === 'grid' ? { ...given, tiles: keptTiles(given.tiles) } : given;
    const version = nextVersion(await this.lastVersion(name));
    await this.ch.insert({
      table: 'boards',
      format: 'JSONEachRow',
      values: [{ name, title: input.title, type: input.type, spec: specOf(input), updated_at: chTime(version), updated_by: by, deleted: false }],
    });
    this.shared.boards.clear();
    return { ...input, name, updatedAt: new Date(version).toISOString(), updatedBy: by } as Board;
  }

  async remove(board: Board, by: string): Promise<void> {
    const version = nextVersion(board.updatedAt);
    const { name, updatedAt: _u, updatedBy: _b, ...input } = board;
    await this.ch.insert({
      table: 'boards',
      format: 'JSONEachRow',
      values: [{ name, title: input.title, type: input.type, spec: specOf(input as BoardInput), updated_at: chTime(version), updated_by: by, deleted: true }],
    });
    this.shared.boards.clear();
  }

  /**
   * The boards a display may read: its (possibly overridden) board and, for a rotation, the rotation's boards. From
   * the shared reads (a second old at most; this process's writes at once), unless `fresh` (a refusal confirmed).
   */
  async displayView(p: Pick<DisplayPrincipal, 'displayId' | 'name' | 'board'>, fresh = false): Promise<BoardsResponse> {
    if (fresh) {
      const [settings, all] = await Promise.all([this.getSettings(p.displayId), this.list()]);
      return viewOf(p, settings, all);
    }
    const [settings, all] = await Promise.all([this.shared.settings.get(), this.shared.boards.get()]);
    return viewOf(p, settings.find((s) => s.displayId === p.displayId), all);
  }

  // --- per-display settings ---

  async listSettings(): Promise<DisplaySettings[]> {
    const rows = await this.rows<SettingsRow>('SELECT display_id, board, sound, updated_at, updated_by FROM display_settings FINAL ORDER BY display_id');
    return rows.map(toSettings);
  }

  async getSettings(displayId: string): Promise<DisplaySettings | undefined> {
    const [row] = await this.rows<SettingsRow>(
      'SELECT display_id, board, sound, updated_at, updated_by FROM display_settings FINAL WHERE display_id = {id:String}',
      { id: displayId },
    );
    return row ? toSettings(row) : undefined;
  }

  async putSettings(s: Omit<DisplaySettings, 'updatedAt'>, previous?: DisplaySettings): Promise<DisplaySettings> {
    const version = nextVersion(previous?.updatedAt);
    await this.ch.insert({
      table: 'display_settings',
      format: 'JSONEachRow',
      values: [{ display_id: s.displayId, board: s.board, sound: s.sound, updated_at: chTime(version), updated_by: s.updatedBy }],
    });
    this.shared.settings.clear();
    return { ...s, updatedAt: new Date(version).toISOString() };
  }
}

const toSettings = (r: SettingsRow): DisplaySettings => ({
  displayId: r.display_id,
  board: r.board,
  sound: r.sound,
  updatedAt: chIso(r.updated_at),
  updatedBy: r.updated_by,
});
