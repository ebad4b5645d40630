// What a display token may read: the scopes its boards show (least privilege). A TV bound to a board (or a rotation,
// or a board a supervisor set in its display settings) reads the figures, series, rosters and alerts of the scopes
// on that board's tiles, and of every queue (team, channel) when a table has `queue:*` rows; nothing else.
//
// Boards change while TVs run, so a display's grant is read again when it is older than a few seconds, and a refusal
// is always confirmed by a fresh read: a TV that subscribes to a tile just added to its board is never refused
// because of a stale copy.
import type { DisplayPrincipal, Principal } from '../auth/principal.ts';
import { ApiError } from '../errors.ts';
import { parseScope, ScopeError } from '../kpi/scopes.ts';
import type { Board } from './schema.ts';
import { viewOf, type BoardStore } from './store.ts';

export interface ScopeGrant {
  /** Scopes named by a tile (canonical text). */
  scopes: ReadonlySet<string>;
  /** Kinds of which every scope is shown: a table's `queue:*` (`team:*`, `channel:*`) rows. */
  everyOf: ReadonlySet<string>;
}

/** The scopes a display showing these boards reads. */
export function grantOf(boards: readonly Board[]): ScopeGrant {
  const scopes = new Set<string>();
  const everyOf = new Set<string>();
  const add = (text: string) => {
    try {
      const s = parseScope(text);
      if (s.kind !== 'center' && s.name === '*') everyOf.add(s.kind);
      else scopes.add(text);
    } catch (err) {
      if (!(err instanceof ScopeError)) throw err; // a board saved before a rule existed: its scope grants nothing
    }
  };
  for (const b of boards) {
    if (b.type !== 'grid') continue;
    for (const t of b.tiles) {
      if (t.kind === 'table') t.scopes.forEach(add);
      else if ('scope' in t) add(t.scope);
    }
  }
  return { scopes, everyOf };
}

/** Whether the grant covers a canonical scope (as parseScopes gives it). */
export function grants(g: ScopeGrant, scope: string): boolean {
  if (g.scopes.has(scope)) return true;
  const i = scope.indexOf(':');
  return i > 0 && g.everyOf.has(scope.slice(0, i));
}

/**
 * Whether a threshold of this scope (a figure scope, `<kind>:*` or `center`) applies to a figure the grant covers, by
 * the rule of server/alerts/specificity.ts: `center` also stands for every queue and team, `<kind>:*` for every scope
 * of its kind. A display reads only such thresholds (the ones that colour its tiles).
 */
export function grantsThreshold(g: ScopeGrant, scope: string): boolean {
  if (grants(g, scope)) return true;
  const kinds = new Set(g.everyOf);
  for (const s of g.scopes) if (s !== 'center') kinds.add(s.slice(0, s.indexOf(':')));
  if (scope === 'center') return kinds.has('queue') || kinds.has('team');
  return scope.endsWith(':*') && kinds.has(scope.slice(0, -2));
}

/** How long a display's grant is used before its boards are read again. */
export const GRANT_TTL_MS = 5_000;

type Display = Pick<DisplayPrincipal, 'displayId' | 'name' | 'board'>;

export class DisplayScopes {
  private readonly cache = new Map<string, { at: number; grant: Promise<ScopeGrant> }>();

  constructor(
    private readonly boards: Pick<BoardStore, 'displayView' | 'list' | 'listSettings'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The display's grant, read from its boards when the copy held is older than GRANT_TTL_MS (or `fresh`). */
  grant(d: Display, fresh = false): Promise<ScopeGrant> {
    const t = this.now();
    const held = this.cache.get(d.displayId);
    if (held && !fresh && t - held.at < GRANT_TTL_MS) return held.grant;
    for (const [id, e] of this.cache) if (t - e.at >= GRANT_TTL_MS) this.cache.delete(id);
    const grant = this.boards.displayView(d, fresh).then((v) => grantOf(v.boards));
    this.cache.set(d.displayId, { at: t, grant });
    grant.catch(() => this.cache.get(d.displayId)?.grant === grant && this.cache.delete(d.displayId));
    return grant;
  }

  /**
   * Reads the grants of these displays afresh, with one read of the boards and the display settings for all of them
   * (the live hub's periodic check of every display it streams to).
   */
  async refreshAll(displays: readonly Display[]): Promise<void> {
    if (displays.length === 0) return;
    const [all, settings] = await Promise.all([this.boards.list(), this.boards.listSettings()]);
    const byId = new Map(settings.map((s) => [s.displayId, s]));
    const at = this.now();
    for (const d of displays) this.cache.set(d.displayId, { at, grant: Promise.resolve(grantOf(viewOf(d, byId.get(d.displayId), all).boards)) });
  }

  /** The scopes (canonical) the display may not read; a refusal is confirmed against its boards as they are now. */
  async refused(d: Display, scopes: readonly string[]): Promise<string[]> {
    const held = await this.grant(d);
    if (scopes.every((s) => grants(held, s))) return [];
    const now = await this.grant(d, true);
    return scopes.filter((s) => !grants(now, s));
  }

  /** Throws 403 `forbidden_scope` naming the scopes the display's boards do not show. */
  async check(d: Display, scopes: readonly string[]): Promise<void> {
    const refused = await this.refused(d, scopes);
    if (refused.length > 0) throw forbiddenScopes(d, refused);
  }

  /**
   * What of `items` the principal may read (for answers that list every scope): all of them, but to a display. Items
   * are figures or alerts, whose scope must be granted, or thresholds (`covers` = grantsThreshold).
   */
  async readable<T>(p: Principal | null, items: readonly T[], scopeOf: (item: T) => string, covers = grants): Promise<T[]> {
    if (p?.kind !== 'display') return [...items];
    const g = await this.grant(p);
    return items.filter((x) => covers(g, scopeOf(x)));
  }
}

/** The message of a refusal: which scopes, and why. */
export function forbiddenMessage(d: Pick<Display, 'name'>, refused: readonly string[]): string {
  return `display ${JSON.stringify(d.name)} may read only the scopes of its boards; not ${refused.join(', ')}`;
}

function forbiddenScopes(d: Display, refused: readonly string[]): ApiError {
  const message = forbiddenMessage(d, refused);
  return new ApiError(403, 'forbidden_scope', message, [{ path: '/scope', message }]);
}
