// Ingest keys (admins): one per sending system, each for one source (ACD, IVR or CRM). A new key is shown once, with a
// command that checks it without storing anything; the list says when each key was last used; revoke one and the
// system using it is refused at its next request.
import { createSignal, For, Show, type Component } from 'solid-js';
import { SOURCES } from '../../../server/ingest/source-names.ts';
import { api } from '../lib/api.ts';
import { formatAgo } from '../lib/format.ts';
import { errorAt, errorsBesides, fieldErrors, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

interface KeyRow {
  id: string;
  source: string;
  name: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string;
  lastUsedAt: string | null;
}

/** A shell command that reads the event contract with the key: 200 says the key works (nothing is stored). */
function checkCommand(origin: string, key: string): string {
  return `curl -fsS -H 'authorization: Bearer ${key}' ${origin}/v1/events/schema >/dev/null && echo 'the key works'`;
}

export const KeysTab: Component = () => {
  const [keys, { refetch, failure }] = createRead(async () => (await api<{ keys: KeyRow[] }>('GET', '/v1/admin/ingest-keys')).keys);
  const [errors, setErrors] = createSignal(new Map<string, string>());
  const [created, setCreated] = createSignal<{ key: KeyRow; token: string } | null>(null);

  const create = async (e: SubmitEvent) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    setErrors(new Map());
    try {
      setCreated(await api<{ key: KeyRow; token: string }>('POST', '/v1/admin/ingest-keys', { source: String(form.get('source')), name: String(form.get('name')) }));
      formEl.reset();
    } catch (err) {
      setErrors(fieldErrors(err));
    }
    await refetch();
  };
  const revoke = async (k: KeyRow) => {
    if (!confirm(`Revoke “${k.name}” (${k.source.toUpperCase()})? The system sending with it is refused from its next request.`)) return;
    setErrors(new Map());
    await api('DELETE', `/v1/admin/ingest-keys/${k.id}`).catch((err) => setErrors(fieldErrors(err)));
    await refetch();
  };

  return (
    <section>
      <h2>Ingest keys</h2>
      <p class="muted">
        Each system that sends events (your ACD, IVR, CRM) gets a key of its own, for its source: it sends with{' '}
        <code>Authorization: Bearer &lt;key&gt;</code> to <code>POST /v1/events</code>. The contract is at <a href="/docs">/docs</a> and in{' '}
        <code>docs/events.md</code>. A key is shown once, when created; revoke it when a system is retired or the key has leaked.
      </p>
      <Show when={created()}>
        {(c) => (
          <div class="once" role="status" data-created-key={c().key.id}>
            <div>
              <p>
                The key for “{c().key.name}” ({c().key.source.toUpperCase()}), shown <strong>only now</strong>: put it in that system's configuration.
              </p>
              <p>
                <code class="display-url" data-key>
                  {c().token}
                </code>
              </p>
              <p class="muted">To check it (reads the event contract, stores nothing):</p>
              <pre class="command">{checkCommand(location.origin, c().token)}</pre>
              <button type="button" onClick={() => void navigator.clipboard?.writeText(c().token)}>
                Copy the key
              </button>{' '}
              <button type="button" onClick={() => setCreated(null)}>
                Done
              </button>
            </div>
          </div>
        )}
      </Show>
      <form class="row" onSubmit={create} data-form="create-key">
        <label>
          Source{' '}
          <select name="source">
            <For each={SOURCES}>{(s) => <option value={s}>{s.toUpperCase()}</option>}</For>
          </select>
        </label>
        <label>
          Name <input name="name" required maxLength={200} placeholder="Genesys, production" aria-invalid={errorAt(errors(), '/name') ? 'true' : undefined} />
          <span class="field-error">{errorAt(errors(), '/name')}</span>
        </label>
        <button type="submit" class="primary">
          Create key
        </button>
      </form>
      <p class="error" role="alert">{errorsBesides(errors(), ['/name']) || failure()}</p>
      <table class="list-table">
        <TableHead columns={['Name', 'Source', 'Last used', 'Created', '']} />
        <tbody>
          <For each={keys() ?? []}>
            {(k) => (
              <tr classList={{ revoked: k.revokedAt !== null }} data-key-id={k.id}>
                <td>{k.name}</td>
                <td>{k.source.toUpperCase()}</td>
                <td>{k.lastUsedAt ? formatAgo(Date.parse(k.lastUsedAt), Date.now()) : <span class="muted">never</span>}</td>
                <td class="nowrap">
                  {new Date(k.createdAt).toLocaleString()} by {k.createdBy}
                </td>
                <td>
                  <Show
                    when={k.revokedAt === null}
                    fallback={
                      <span class="muted">
                        revoked {new Date(k.revokedAt!).toLocaleString()} by {k.revokedBy}
                      </span>
                    }
                  >
                    <button type="button" class="danger" onClick={() => void revoke(k)}>
                      Revoke
                    </button>
                  </Show>
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
      <p class="muted">Keys set with INGEST_KEYS in the server's environment are not listed here: they live in that configuration.</p>
    </section>
  );
};
