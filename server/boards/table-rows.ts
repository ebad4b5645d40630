// A table's rows: `queue:*` (team:*, channel:*) stands for every queue (team, channel) with figures, by name. Plain
// code with no imports, so the board schema, the day report and the TV (whose bundle does not load TypeBox) share it.

/** The kinds a wildcard row may stand for. */
export const WILDCARD_KINDS = ['queue', 'team', 'channel'] as const;
/** The most rows a table tile has (and shows). */
export const MAX_TABLE_SCOPES = 20;

/**
 * The order of scopes "by name": alphabetical whatever the case, numbers by value (queue2 before queue10), then by code
 * unit, so that the TV and the day report list them alike in any browser's language.
 */
const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
export function byName(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The kind a wildcard row stands for ("queue" for `queue:*`), or null for a scope of its own. */
export function wildcardKind(scope: string): string | null {
  const kind = scope.endsWith(':*') ? scope.slice(0, -2) : '';
  return (WILDCARD_KINDS as readonly string[]).includes(kind) ? kind : null;
}

/**
 * A table's rows with each wildcard replaced by the `active` scopes of its kind (those with figures today), by name,
 * leaving out the ones the table also names itself; at most `max` rows. The rows the table names are always there (a
 * `center` total row is not pushed out by many queues): the wildcards fill the room that is left.
 */
export function expandRows(scopes: readonly string[], active: readonly string[], max: number): string[] {
  const named = new Set(scopes.filter((s) => wildcardKind(s) === null));
  let room = Math.max(0, max - named.size);
  const out: string[] = [];
  for (const s of scopes) {
    const kind = wildcardKind(s);
    if (kind === null) {
      if (!out.includes(s)) out.push(s);
      continue;
    }
    for (const r of active.filter((a) => a.startsWith(`${kind}:`) && !named.has(a)).sort(byName)) {
      if (room === 0) break;
      if (!out.includes(r)) {
        out.push(r);
        room--;
      }
    }
  }
  return out.slice(0, max);
}
