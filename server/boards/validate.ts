// Checks of a board layout beyond its JSON shape: tiles name catalog KPIs, valid scopes and windows (a table's rows may
// also be every queue, team or channel: `queue:*`), fit the grid; a rotation lists existing grid boards. Every
// problem is reported with the path of the field it is about.
import { isKpiKey } from '../kpi/catalog.ts';
import { parseScope, ScopeError, type Scope } from '../kpi/scopes.ts';
import type { BoardInput } from './schema.ts';
import { WILDCARD_KINDS } from './table-rows.ts';

export interface FieldProblem {
  path: string;
  message: string;
}

/** `boardType(name)`: the type of an existing board, or undefined. */
export function validateBoard(name: string, input: BoardInput, boardType: (name: string) => 'grid' | 'rotation' | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.title.trim() === '') problems.push({ path: '/title', message: 'must not be blank' });
  if (input.type === 'grid') {
    input.tiles.forEach((tile, i) => {
      const at = `/tiles/${i}`;
      const kpi = (path: string, key: string) => {
        if (!isKpiKey(key)) problems.push({ path, message: `${JSON.stringify(key)} is not a KPI of the catalog` });
      };
      // `rows`: a table's rows, which may also be every queue, team or channel with figures today (`queue:*`)
      const scope = (path: string, text: string, rows = false) => {
        let parsed: Scope;
        try {
          parsed = parseScope(text);
        } catch (err) {
          if (!(err instanceof ScopeError)) throw err;
          problems.push({ path, message: err.message });
          return;
        }
        if (parsed.kind === 'center' || parsed.name !== '*') return;
        if (!rows) problems.push({ path, message: `${text} is for a table's rows only: a tile shows one scope` });
        else if (!(WILDCARD_KINDS as readonly string[]).includes(parsed.kind)) {
          problems.push({ path, message: `${text} is not allowed: a table's rows may be ${WILDCARD_KINDS.map((k) => `${k}:*`).join(', ')}` });
        }
      };
      if ('kpi' in tile) kpi(`${at}/kpi`, tile.kpi);
      if ('scope' in tile) scope(`${at}/scope`, tile.scope);
      if (tile.kind === 'table') {
        tile.kpis.forEach((k, j) => kpi(`${at}/kpis/${j}`, k));
        tile.scopes.forEach((s, j) => scope(`${at}/scopes/${j}`, s, true));
      }
      if (tile.width !== undefined && tile.width > input.columns) {
        problems.push({ path: `${at}/width`, message: `is ${tile.width} but the board has ${input.columns} columns` });
      }
    });
  } else {
    input.rotation.forEach((entry, i) => {
      const at = `/rotation/${i}/board`;
      if (entry.board === name) problems.push({ path: at, message: 'a rotation cannot contain itself' });
      else {
        const type = boardType(entry.board);
        if (type === undefined) problems.push({ path: at, message: `no board named ${JSON.stringify(entry.board)}` });
        else if (type === 'rotation') problems.push({ path: at, message: `${JSON.stringify(entry.board)} is a rotation: a rotation lists grid boards only` });
      }
    });
  }
  return problems;
}
