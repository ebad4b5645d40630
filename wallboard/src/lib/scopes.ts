// A table tile's rows: `queue:*` (team:*, channel:*) stands for every queue (team, channel) with figures today, by
// name. Pure, DOM-free (unit-tested in node).

/** The kinds a wildcard may stand for (as server/boards/schema.ts's WILDCARD_KINDS, which the TV bundle does not load). */
export const WILDCARD_KINDS = ['queue', 'team', 'channel'] as const;

/** The kind a wildcard row stands for ("queue" for `queue:*`), or null for a scope of its own. */
export function wildcardKind(scope: string): string | null {
  const kind = scope.endsWith(':*') ? scope.slice(0, -2) : '';
  return (WILDCARD_KINDS as readonly string[]).includes(kind) ? kind : null;
}

/**
 * A table's rows with each wildcard replaced by the `active` scopes of its kind (those with figures today), by name,
 * leaving out the ones the table also names itself; at most `max` rows.
 */
export function expandRows(scopes: readonly string[], active: readonly string[], max: number): string[] {
  const named = new Set(scopes.filter((s) => wildcardKind(s) === null));
  const out: string[] = [];
  for (const s of scopes) {
    const kind = wildcardKind(s);
    const rows = kind === null ? [s] : active.filter((a) => a.startsWith(`${kind}:`) && !named.has(a)).sort((a, b) => a.localeCompare(b));
    for (const r of rows) if (!out.includes(r)) out.push(r);
  }
  return out.slice(0, max);
}
