// Messages: a short text along the bottom of the TVs for a time, on every board or the ones picked, from now or from a
// later time; those on the air (End now), those scheduled (Cancel) and those of the last 24 hours. Supervisors and
// admins post; viewers read.
import { createSignal, For, onCleanup, Show, type Component } from 'solid-js';
import type { Board } from '../../../server/boards/schema.ts';
import { MAX_MESSAGE_CHARS, type FloorMessage, type MessagesResponse } from '../../../server/messages/rules.ts';
import { api } from '../lib/api.ts';
import { type ConsoleContext, errorAt as fieldErrorAt, errorsBesides, fieldErrors, TableHead } from './Console.tsx';
import { createRead } from './read.ts';

/** How long a message stays up: the choices offered (minutes). */
const DURATIONS: [number, string][] = [
  [15, '15 minutes'],
  [30, '30 minutes'],
  [60, '1 hour'],
  [120, '2 hours'],
  [240, '4 hours'],
  [480, '8 hours'],
  [1440, '1 day'],
  [10080, '1 week'],
];

export const MessagesTab: Component<{ ctx: ConsoleContext }> = (props) => {
  const [data, { refetch, failure }] = createRead(async () => api<MessagesResponse>('GET', '/v1/messages'), { merged: true });
  const [boards, { failure: boardsFailure }] = createRead(async () => (await api<{ boards: Board[] }>('GET', '/v1/boards')).boards);
  const timer = setInterval(() => void refetch(), 5000);
  onCleanup(() => clearInterval(timer));
  const [errors, setErrors] = createSignal(new Map<string, string>());
  const [text, setText] = createSignal('');
  const [everyBoard, setEveryBoard] = createSignal(true);
  /** A message being posted: Post waits (a second click would post it twice, and beep twice). */
  const [posting, setPosting] = createSignal(false);
  const title = (name: string) => boards()?.find((b) => b.name === name)?.title ?? name;

  const post = async (e: SubmitEvent) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    const picked = form.getAll('boards').map(String);
    // none picked is not "every board" (which the API reads an empty list as)
    if (!everyBoard() && picked.length === 0) {
      setErrors(new Map([['/boards', 'pick the boards to show it on, or tick "every board"']]));
      return;
    }
    setErrors(new Map());
    setPosting(true);
    try {
      await api('POST', '/v1/messages', {
        text: text(),
        level: String(form.get('level')),
        minutes: Number(form.get('minutes')),
        // datetime-local is this computer's wall clock: Date reads it so, and the API gets it with its offset
        ...(form.get('startsAt') ? { startsAt: new Date(String(form.get('startsAt'))).toISOString() } : {}),
        ...(everyBoard() ? {} : { boards: picked }),
      });
      setText('');
      formEl.reset();
      setEveryBoard(true);
      await refetch();
    } catch (err) {
      setErrors(fieldErrors(err));
    } finally {
      setPosting(false);
    }
  };
  const end = async (m: FloorMessage) => {
    setErrors(new Map());
    await api('DELETE', `/v1/messages/${m.id}`).catch((err) => setErrors(fieldErrors(err)));
    await refetch();
  };
  const errorAt = (path: string) => fieldErrorAt(errors(), path);
  const otherErrors = () => errorsBesides(errors(), ['/text', '/minutes', '/level', '/startsAt', '/boards']);

  const cancelled = (m: FloorMessage) => m.endedBy !== '' && m.endsAt <= m.startsAt;
  const row = (m: FloorMessage, action: 'end' | 'cancel' | null) => (
    <tr class={`level-${m.level === 'urgent' ? 'critical' : 'info'}`} data-message={m.id}>
      <td>{m.level}</td>
      <td class="message-text">{m.text}</td>
      <td>{m.boards.length === 0 ? 'every board' : m.boards.map(title).join(', ')}</td>
      <td class="nowrap">
        {new Date(m.startsAt).toLocaleString()} by {m.createdBy}
      </td>
      <td class="nowrap">
        {cancelled(m) ? `cancelled by ${m.endedBy}` : new Date(m.endsAt).toLocaleString()}
        {m.endedBy && !cancelled(m) ? ` (ended by ${m.endedBy})` : ''}
      </td>
      <td>
        <Show when={action && props.ctx.canEdit}>
          <button type="button" class="danger" onClick={() => void end(m)}>
            {action === 'end' ? 'End now' : 'Cancel'}
          </button>
        </Show>
      </td>
    </tr>
  );
  const head = () => (
    <TableHead columns={['Level', 'Message', 'Shown on', 'From', 'Until', '']} />
  );

  return (
    <section>
      <h2>Messages to the floor</h2>
      <p class="muted">A short text along the bottom of the TVs, for a time. Urgent messages are red, flash when they appear, and beep on TVs with sound on.</p>
      <Show when={props.ctx.canEdit}>
        <form class="message-form" onSubmit={post}>
          <label class="message-input">
            Message{' '}
            <input
              name="text"
              maxLength={MAX_MESSAGE_CHARS}
              required
              placeholder="Billing system down: use the backup script"
              value={text()}
              onInput={(e) => setText(e.currentTarget.value)}
              aria-invalid={errorAt('/text') ? 'true' : undefined}
            />
            <span class="muted">
              {[...text()].length}/{MAX_MESSAGE_CHARS}
            </span>
          </label>
          <span class="field-error">{errorAt('/text')}</span>
          <div class="row">
            <label>
              Level{' '}
              <select name="level">
                <option value="info">Info</option>
                <option value="urgent">Urgent</option>
              </select>
            </label>
            <label>
              For{' '}
              <select name="minutes" aria-invalid={errorAt('/minutes') ? 'true' : undefined}>
                <For each={DURATIONS}>{([m, label]) => <option value={m} selected={m === 60}>{label}</option>}</For>
              </select>
            </label>
            <label>
              From <input type="datetime-local" name="startsAt" aria-invalid={errorAt('/startsAt') ? 'true' : undefined} />
              <span class="muted">(empty: now; this computer's clock)</span>
            </label>
            <label>
              <input type="checkbox" checked={everyBoard()} onChange={(e) => setEveryBoard(e.currentTarget.checked)} /> every board
            </label>
            <Show when={!everyBoard()}>
              <For each={boards() ?? []}>
                {(b) => (
                  <label>
                    <input type="checkbox" name="boards" value={b.name} /> {b.title}
                  </label>
                )}
              </For>
            </Show>
            <button type="submit" class="primary" disabled={posting()}>
              Post
            </button>
          </div>
          <span class="field-error">{[errorAt('/minutes'), errorAt('/startsAt'), errorAt('/boards'), errorAt('/level')].filter(Boolean).join('; ')}</span>
        </form>
      </Show>
      <p class="error" role="alert">{otherErrors() || failure() || boardsFailure()}</p>
      <h2>On the air</h2>
      <table class="list-table messages-on-air">
        {head()}
        <tbody>
          <For each={data()?.messages ?? []} fallback={<tr><td colspan="6" class="muted">none</td></tr>}>
            {(m) => row(m, 'end')}
          </For>
        </tbody>
      </table>
      <Show when={(data()?.scheduled ?? []).length > 0}>
        <h2>Scheduled</h2>
        <table class="list-table messages-scheduled">
          {head()}
          <tbody>
            <For each={data()?.scheduled ?? []}>{(m) => row(m, 'cancel')}</For>
          </tbody>
        </table>
      </Show>
      <h2>Last 24 hours</h2>
      <table class="list-table messages-recent">
        {head()}
        <tbody>
          <For each={data()?.recent ?? []} fallback={<tr><td colspan="6" class="muted">none</td></tr>}>
            {(m) => row(m, null)}
          </For>
        </tbody>
      </table>
    </section>
  );
};
