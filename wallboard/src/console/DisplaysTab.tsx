// Displays: create (the token's URL and a QR code, shown once), revoke, which board each shows, sound on/off, and
// whether each is on the air (connected now, or when it was last seen), read again every 15 s.
import { createSignal, For, onCleanup, Show, type Component } from 'solid-js';
import { renderSVG } from 'uqr';
import type { Board, DisplaySettings } from '../../../server/boards/schema.ts';
import type { DisplaySeen } from '../../../server/live/presence.ts';
import { api, ApiFailure } from '../lib/api.ts';
import { formatLastSeen } from '../lib/format.ts';
import { type ConsoleContext, fieldErrors, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

interface DisplayRow {
  id: string;
  name: string;
  board: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  /** Whether it is connected, from where, and when it was last seen (null: never, or not known). */
  seen: DisplaySeen | null;
}

/** How often the list is read again while open, so a TV coming on or going dark shows up. */
const REFRESH_MS = 15_000;

export const DisplaysTab: Component<{ ctx: ConsoleContext }> = (props) => {
  const [data, { refetch, failure }] = createRead(async () => {
    try {
      const [d, s, b] = await Promise.all([
        api<{ displays: DisplayRow[]; presence: 'known' | 'unavailable' }>('GET', '/v1/displays'),
        api<{ settings: DisplaySettings[] }>('GET', '/v1/display-settings'),
        api<{ boards: Board[] }>('GET', '/v1/boards'),
      ]);
      return { displays: d.displays, presenceKnown: d.presence === 'known', settings: new Map(s.settings.map((x) => [x.displayId, x])), boards: b.boards, forbidden: false };
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 403) return { displays: [], presenceKnown: false, settings: new Map<string, DisplaySettings>(), boards: [], forbidden: true };
      throw err;
    }
  }, { merged: true });
  const timer = setInterval(() => void refetch(), REFRESH_MS);
  onCleanup(() => clearInterval(timer));
  const onAir = (d: DisplayRow) => {
    if (!data()?.presenceKnown) return <span class="muted">unknown</span>;
    if (d.seen?.connected) {
      return (
        <span class="ok" data-presence="connected">
          ● connected <span class="muted">from {d.seen.address}</span>
        </span>
      );
    }
    return (
      <span class="muted" data-presence="offline">
        {formatLastSeen(d.seen?.at ?? null, Date.now())}
      </span>
    );
  };
  const [created, setCreated] = createSignal<{ url: string; name: string } | null>(null);
  const [errors, setErrors] = createSignal(new Map<string, string>());
  const [creating, setCreating] = createSignal(false);

  const create = async (e: SubmitEvent) => {
    e.preventDefault();
    // the element now: once the handler awaits, the event's currentTarget is null (a second click made a second token)
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    setErrors(new Map());
    setCreating(true);
    try {
      const r = await api<{ url: string; display: DisplayRow }>('POST', '/v1/displays', { name: String(form.get('name')), board: String(form.get('board')) });
      setCreated({ url: new URL(r.url, location.origin).href, name: r.display.name });
      formEl.reset();
      await refetch();
    } catch (err) {
      setErrors(fieldErrors(err));
    } finally {
      setCreating(false);
    }
  };
  const revoke = async (d: DisplayRow) => {
    if (!confirm(`Revoke “${d.name}”? The screen stops showing data within seconds.`)) return;
    await api('DELETE', `/v1/displays/${d.id}`).catch((err) => setErrors(fieldErrors(err)));
    await refetch();
  };
  const identify = async (d: DisplayRow) => {
    setErrors(new Map());
    await api('POST', `/v1/displays/${d.id}/identify`).catch((err) => setErrors(fieldErrors(err)));
  };
  const change = async (d: DisplayRow, change: { board?: string; sound?: boolean }) => {
    try {
      await api('PUT', `/v1/display-settings/${d.id}`, change);
    } catch (err) {
      setErrors(fieldErrors(err));
    }
    await refetch();
  };

  return (
    <section>
      <h2>Displays</h2>
      <Show when={!data()?.forbidden} fallback={<p class="muted">Only supervisors and admins manage displays.</p>}>
        <Show when={created()}>
          {(c) => (
            <div class="once" role="status">
              <div>
                <p>
                  Open this address <strong>once</strong> on the screen “{c().name}”. It is shown only now; anyone with it can watch the board.
                </p>
                <p>
                  <code class="display-url">{c().url}</code>
                </p>
                <button type="button" onClick={() => void navigator.clipboard?.writeText(c().url)}>
                  Copy
                </button>{' '}
                <button type="button" onClick={() => setCreated(null)}>
                  Done
                </button>
              </div>
              {/* the SVG is generated locally from our own URL */}
              <div class="qr" innerHTML={renderSVG(c().url, { border: 2 })} />
            </div>
          )}
        </Show>
        <Show when={props.ctx.canEdit}>
          <form class="row" onSubmit={create}>
            <label>
              Screen name <input name="name" required placeholder="Floor 2, north wall" />
            </label>
            <label>
              Board{' '}
              <select name="board" required>
                <For each={data()?.boards ?? []}>{(b) => <option value={b.name}>{b.title}</option>}</For>
              </select>
            </label>
            <button type="submit" class="primary" disabled={creating()}>
              Create display
            </button>
          </form>
        </Show>
        <p class="error" role="alert">{[...errors().values()].join('; ') || failure()}</p>
        <table class="list-table">
          <TableHead columns={['Screen', 'On the air', 'Board on its token', 'Shows', 'Sound', 'Created', '']} />
          <tbody>
            <For each={data()?.displays ?? []}>
              {(d) => {
                const s = () => data()?.settings.get(d.id);
                return (
                  <tr classList={{ revoked: d.revokedAt !== null }} data-display={d.id}>
                    <td>{d.name}</td>
                    <td>{onAir(d)}</td>
                    <td>{d.board}</td>
                    <td>
                      <select disabled={!props.ctx.canEdit || d.revokedAt !== null} value={s()?.board ?? ''} onChange={(e) => void change(d, { board: e.currentTarget.value })}>
                        <option value="">(its token's board)</option>
                        <For each={data()?.boards ?? []}>{(b) => <option value={b.name}>{b.title}</option>}</For>
                      </select>
                    </td>
                    <td>
                      <label>
                        <input type="checkbox" disabled={!props.ctx.canEdit || d.revokedAt !== null} checked={s()?.sound ?? true} onChange={(e) => void change(d, { sound: e.currentTarget.checked })} />{' '}
                        {s()?.sound ?? true ? 'on' : 'off'}
                      </label>
                    </td>
                    <td>
                      {new Date(d.createdAt).toLocaleString()} by {d.createdBy}
                    </td>
                    <td>
                      <Show when={d.revokedAt === null} fallback={<span class="muted">revoked</span>}>
                        <Show when={props.ctx.canEdit}>
                          <span class="nowrap">
                            <Show when={d.seen?.connected}>
                              <button type="button" class="identify-button" title="Show this display's name on its screen for 15 seconds" onClick={() => void identify(d)}>
                                Identify
                              </button>
                            </Show>
                            <button type="button" class="danger" onClick={() => void revoke(d)}>
                              Revoke
                            </button>
                          </span>
                        </Show>
                      </Show>
                    </td>
                  </tr>
                );
              }}
            </For>
          </tbody>
        </table>
      </Show>
    </section>
  );
};
