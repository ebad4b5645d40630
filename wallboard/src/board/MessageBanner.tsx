// The floor messages along the bottom of the TV: one at a time, urgent first, each for MESSAGE_CYCLE_MS when several
// are up ("2/3"). Urgent: a red striped band with ▲ URGENT that flashes when it appears; info: a blue band with ℹ.
// The text is as large as the band allows on two lines, or three for a long one (--chars: its length; theme.css).
import { createEffect, createMemo, createSignal, on, onCleanup, Show, type Component } from 'solid-js';
import type { FloorMessage } from '../../../server/messages/rules.ts';
import { formatClock } from '../lib/format.ts';
import { MESSAGE_CYCLE_MS, nextMessage } from '../lib/messages.ts';

export interface MessageBannerProps {
  /** What is on the air for this screen, in order (messagesOnScreen). */
  messages: FloorMessage[];
  /** A message that just arrived: shown at once. */
  arrived: string | null;
  flashing: (id: string) => boolean;
  timeZone: string | undefined;
}

export const MessageBanner: Component<MessageBannerProps> = (props) => {
  const [current, setCurrent] = createSignal<string | null>(null);
  /** The arrival last put in front: each arrival jumps the queue once, not again at every change of the list. */
  let fronted: string | null = null;
  // a new arrival first (once it is in the list); otherwise keep the one shown while it is up
  createEffect(
    on([() => props.messages, () => props.arrived], ([list, arrived]) => {
      if (arrived && arrived !== fronted && list.some((m) => m.id === arrived)) {
        fronted = arrived;
        setCurrent(arrived);
      } else if (!list.some((m) => m.id === current())) setCurrent(list[0]?.id ?? null);
    }),
  );
  // each message gets its whole turn, counted from when it is shown (a new arrival too), then the next one; with a
  // single message up there are no turns, until a second one comes
  createEffect(
    on([current, () => props.messages.length > 1], ([id, several]) => {
      if (!several) return;
      const timer = setTimeout(() => setCurrent(nextMessage(props.messages, id)), MESSAGE_CYCLE_MS);
      onCleanup(() => clearTimeout(timer));
    }),
  );

  const shown = createMemo(() => props.messages.find((m) => m.id === current()) ?? props.messages[0]);
  const position = () => props.messages.findIndex((m) => m.id === shown()?.id) + 1;

  return (
    <Show when={shown()}>
      {(m) => (
        <aside
          class={`floor-message level-${m().level}`}
          classList={{ flash: props.flashing(m().id) }}
          data-message={m().id}
          role="status"
          aria-live="polite"
          style={{ '--chars': String(Math.max(24, [...m().text].length)) }}
        >
          <span class="fm-cue">{m().level === 'urgent' ? '▲ URGENT' : 'ℹ'}</span>
          <p class="fm-text">{m().text}</p>
          <span class="fm-meta">
            <span class="fm-since">since {formatClock(Date.parse(m().startsAt), props.timeZone)}</span>
            <Show when={props.messages.length > 1}>
              <span class="fm-count">
                {position()}/{props.messages.length}
              </span>
            </Show>
          </span>
        </aside>
      )}
    </Show>
  );
};
