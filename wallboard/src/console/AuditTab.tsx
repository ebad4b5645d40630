// Audit log (admins): who did what, when and from where — sign-ins, users, keys, displays, boards, thresholds,
// alerts, messages —, newest first, 100 at a time, by action and by person. docs/security.md lists the actions.
import { createSignal, For, Show, type Component } from 'solid-js';
import type { AuditRow } from '../../../server/auth/audit.ts';
import { api } from '../lib/api.ts';
import { formatAuditDetails } from '../lib/format.ts';
import { fieldErrors, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

const PAGE = 100;

interface Filter {
  action: string;
  actor: string;
}

function query(filter: Filter, until?: string): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (filter.action.trim()) q.set('action', filter.action.trim());
  if (filter.actor.trim()) q.set('actor', filter.actor.trim());
  if (until) q.set('until', until);
  return `/v1/admin/audit?${q}`;
}

export const AuditTab: Component = () => {
  const [filter, setFilter] = createSignal<Filter>({ action: '', actor: '' });
  const [older, setOlder] = createSignal<AuditRow[]>([]);
  const [error, setError] = createSignal('');
  /** Whether the last page read was full (so there may be older entries). */
  const [more, setMore] = createSignal(false);
  const [first, { refetch, failure }] = createRead(
    async (f: Filter) => {
      const page = (await api<{ entries: AuditRow[] }>('GET', query(f))).entries;
      setOlder([]);
      setMore(page.length === PAGE);
      return page;
    },
    { source: filter },
  );
  const entries = () => [...(first() ?? []), ...older()];

  const apply = (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setError('');
    const next = { action: String(form.get('action')), actor: String(form.get('actor')) };
    if (next.action === filter().action && next.actor === filter().actor) void refetch();
    else setFilter(next);
  };
  const readOlder = async () => {
    const last = entries().at(-1);
    if (!last) return;
    try {
      // strictly before the last one shown: entries of that same millisecond beyond the page are the rare loss
      const page = (await api<{ entries: AuditRow[] }>('GET', query(filter(), last.at))).entries;
      setOlder([...older(), ...page]);
      setMore(page.length === PAGE);
    } catch (err) {
      setError([...fieldErrors(err).values()].join('; '));
    }
  };
  const actions = () => [...new Set(entries().map((e) => e.action))].sort();

  return (
    <section>
      <h2>Audit log</h2>
      <p class="muted">Who did what and when, from where: every sign-in (and refused one), every change to users, keys, displays, boards, thresholds and messages.</p>
      <form class="row" onSubmit={apply} data-form="audit-filter">
        <label>
          Action <input name="action" list="audit-actions" placeholder="user.create" value={filter().action} maxLength={64} />
          <datalist id="audit-actions">
            <For each={actions()}>{(a) => <option value={a} />}</For>
          </datalist>
        </label>
        <label>
          By <input name="actor" placeholder="username" value={filter().actor} maxLength={200} />
        </label>
        <button type="submit" class="primary">
          Show
        </button>
      </form>
      <p class="error" role="alert">{error() || failure()}</p>
      <table class="list-table audit">
        <TableHead columns={['When', 'Who', 'Action', 'Outcome', 'On', 'From', 'Details']} />
        <tbody>
          <For each={entries()}>
            {(e) => (
              <tr data-action={e.action}>
                <td class="nowrap">{new Date(e.at).toLocaleString()}</td>
                <td>
                  {e.actor_name || e.actor_id}
                  <Show when={e.actor_kind !== 'user'}>
                    <span class="muted"> ({e.actor_kind})</span>
                  </Show>
                </td>
                <td>{e.action}</td>
                <td classList={{ warn: e.outcome !== 'ok' }}>{e.outcome}</td>
                <td>
                  {e.object_kind}
                  <Show when={e.object_id}>
                    <span class="muted"> {e.object_id}</span>
                  </Show>
                </td>
                <td>{e.ip}</td>
                <td class="details">{formatAuditDetails(e.details)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
      <Show when={first.state === 'ready' && entries().length === 0}>
        <p class="muted">Nothing recorded{filter().action || filter().actor ? ' for this filter' : ''}.</p>
      </Show>
      <Show when={more()}>
        <button type="button" onClick={() => void readOlder()}>
          Older
        </button>
      </Show>
    </section>
  );
};
