// Places a board's tiles on its grid: left to right, top to bottom, each in the first free spot wide enough
// (CSS grid "dense" placement, done here so the number of rows is known and every row gets an equal share of the
// screen: nothing ever scrolls). Pure, DOM-free.
import type { Tile } from '../../../server/boards/schema.ts';

/** Tile width in columns: the tile's own, or 1 (2 for trend, agents and alerts), capped at the board's columns. */
export function tileWidth(tile: Tile, columns: number): number {
  const def = tile.kind === 'kpi' ? 1 : Math.min(2, columns);
  return Math.max(1, Math.min(tile.width ?? def, columns));
}

export interface Placement {
  index: number;
  col: number; // 1-based
  row: number; // 1-based
  width: number;
  height: number;
}

export function placeTiles(tiles: readonly Tile[], columns: number): { placements: Placement[]; rows: number } {
  const cols = Math.max(1, columns);
  const taken: boolean[][] = [];
  const free = (r: number, c: number, w: number, h: number) => {
    for (let y = r; y < r + h; y++) for (let x = c; x < c + w; x++) if (taken[y]?.[x]) return false;
    return true;
  };
  const placements: Placement[] = [];
  tiles.forEach((tile, index) => {
    const width = tileWidth(tile, cols);
    const height = Math.max(1, Math.min(4, tile.height ?? 1));
    for (let r = 0; ; r++) {
      let placed = false;
      for (let c = 0; c + width <= cols; c++) {
        if (!free(r, c, width, height)) continue;
        for (let y = r; y < r + height; y++) {
          taken[y] ??= [];
          for (let x = c; x < c + width; x++) taken[y]![x] = true;
        }
        placements.push({ index, col: c + 1, row: r + 1, width, height });
        placed = true;
        break;
      }
      if (placed) break;
    }
  });
  return { placements, rows: Math.max(1, taken.length) };
}

/**
 * How many equal items fit in `space` along one axis, with `gap` between them (at least one). A grid's `1fr` tracks
 * fill the space exactly, and a size rounded to whole pixels would tell one fewer: a pixel of slack absorbs that.
 */
export function itemsThatFit(space: number, item: number, gap: number): number {
  if (!(item > 0)) return 1;
  return Math.max(1, Math.floor((space + 1 + gap) / (item + gap)));
}
