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
    for (const r of active.filter((a) => a.startsWith(`${kind}:`) && !named.has(a)).sort((a, b) => a.localeCompare(b))) {
      if (room === 0) break;
      if (!out.includes(r)) {
        out.push(r);
        room--;
      }
    }
  }
  return out.slice(0, max);
}
