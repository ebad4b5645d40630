// The scopes a scope field suggests as one types: center, the queues, teams and channels that have figures today (so
// nobody has to remember how the ACD spells a queue), and the bare prefixes; then every queue, team or channel at once
// (`queue:*`), which thresholds and a table's rows take. Read once when the console opens.
import { createResource, For, type Component } from 'solid-js';
import { api } from '../lib/api.ts';
import { WILDCARD_KINDS as KINDS } from '../../../server/boards/table-rows.ts';

/** The queues, teams and channels with figures today, by name (as the API lists them). */
async function activeScopes(): Promise<string[]> {
  try {
    const r = await api<{ scopes: string[] }>('GET', '/v1/kpis/scopes');
    return r.scopes.filter((s) => KINDS.some((k) => s.startsWith(`${k}:`)));
  } catch {
    return []; // hints only: the field takes any scope anyway
  }
}

/** `<datalist id="scope-hints">` for board tiles and `<datalist id="threshold-scope-hints">` for thresholds. */
export const ScopeHints: Component = () => {
  const [scopes] = createResource(activeScopes);
  const known = () => scopes() ?? [];
  return (
    <>
      <datalist id="scope-hints">
        <option value="center" />
        <For each={known()}>{(s) => <option value={s} />}</For>
        <For each={KINDS}>{(k) => <option value={`${k}:`} />}</For>
      </datalist>
      <datalist id="threshold-scope-hints">
        <option value="center" />
        <For each={KINDS}>{(k) => <option value={`${k}:*`} />}</For>
        <For each={known()}>{(s) => <option value={s} />}</For>
      </datalist>
    </>
  );
};
