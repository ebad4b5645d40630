// Queue figures on a team or agent (docs/kpis.md, "Queue figures on a team or agent"): offers, abandons and waits
// belong to queues, so on a `team:` or `agent:` scope the catalog's queue figures (`queueFigure`) count only the offers
// whose ACD event names that team (or agent) — usually 0, 0 %, or a service level without its abandons. The board
// editor warns, without refusing, when a tile puts one there. Pure, DOM-free (unit-tested in node).
import type { Tile } from '../../../server/boards/schema.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';

/** What the warnings need of the KPI catalog: which figures are queue figures (`queueFigure`), and their labels. */
export type QueueFigureCatalog = readonly Pick<KpiDefinition, 'key' | 'label' | 'queueFigure'>[];

/** What an agents tile shows beside the agent counts: the queue now (board/AgentStrip.tsx). */
const AGENTS_TILE_FIGURES = ['waiting', 'longest_wait'];

/** The scope kinds on which a queue figure counts only what names them. */
const WHY: Record<string, { an: string; reason: string }> = {
  team: { an: 'a team', reason: "offers whose ACD event names the team; most ACDs don't" },
  agent: { an: 'an agent', reason: 'offers whose ACD event names the agent; an offered contact has reached no agent yet' },
};

/** "A", "A and B", "A, B and C". */
function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * One sentence per scope kind (team, agent) on which `kpis` include queue figures, naming them by their label: "Abandon
 * rate on a team counts only offers whose ACD event names the team; most ACDs don't — show it per queue." Empty when
 * none does. A wildcard row (`team:*`) is a team.
 */
export function queueFigureWarnings(kpis: readonly string[], scopes: readonly string[], catalog: QueueFigureCatalog): string[] {
  const figures = [...new Set(kpis)].map((k) => catalog.find((d) => d.key === k)).filter((d) => d?.queueFigure === true);
  if (figures.length === 0) return [];
  const kinds = Object.keys(WHY).filter((kind) => scopes.some((s) => s.startsWith(`${kind}:`)));
  return kinds.map((kind) => {
    const { an, reason } = WHY[kind]!;
    const one = figures.length === 1;
    return `${list(figures.map((d) => d!.label))} on ${an} count${one ? 's' : ''} only ${reason} — show ${one ? 'it' : 'them'} per queue.`;
  });
}

/** The board editor's warnings for one tile: the queue figures it shows on a team or an agent (see queueFigureWarnings). */
export function tileWarnings(tile: Tile, catalog: QueueFigureCatalog): string[] {
  switch (tile.kind) {
    case 'kpi':
    case 'trend':
      return queueFigureWarnings([tile.kpi], [tile.scope], catalog);
    case 'table':
      return queueFigureWarnings(tile.kpis, tile.scopes, catalog);
    case 'agents':
      return queueFigureWarnings(AGENTS_TILE_FIGURES, [tile.scope], catalog);
    default:
      return [];
  }
}
