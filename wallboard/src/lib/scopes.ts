// A table tile's rows: `queue:*` (team:*, channel:*) stands for every queue (team, channel) with figures today, by
// name. Pure, DOM-free (unit-tested in node).

/** The kind a wildcard row stands for ("queue" for `queue:*`), or null for a scope of its own. */
export function wildcardKind(scope: string): string | null {
  const m = /^(queue|team|channel):\*$/.exec(scope);
  return m ? m[1]! : null;
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
