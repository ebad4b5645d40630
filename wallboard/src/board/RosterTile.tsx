// The roster of a scope: a card per agent with their name (or id), state (its colour and its name, never the colour
// alone), the reason the ACD gave, and how long they have been in it, ticking. State by state in the tile's order, the
// longest in their state first; a card whose agent has been in their state longer than the tile's limit for it is
// flagged (amber, with ●, the warning's colour and shape) and comes first. Only whole cards are shown; the heading counts the agents in each state
// that has any, those over their limit, and how many are not shown.
import { createEffect, createMemo, createSignal, For, Index, on, onCleanup, onMount, Show, type Component } from 'solid-js';
import type { RosterAgent, RosterState } from '../../../server/live/protocol.ts';
import { scopeLabel } from '../lib/format.ts';
import { itemsThatFit } from '../lib/layout.ts';
import { overLimit, rosterCards, rosterStateLabel, rosterTitle, timeInState } from '../lib/roster.ts';
import type { RosterEntry } from './live-data.ts';

export const RosterTile: Component<{
  scope: string;
  states: readonly RosterState[];
  /** Minutes in a state after which a card is flagged. */
  limits: Partial<Record<RosterState, number>> | undefined;
  roster: RosterEntry | undefined;
  /** The server's clock (time in state counts from it). */
  now: number;
  stale: string | null;
  style: Record<string, string>;
}> = (props) => {
  let list: HTMLUListElement | undefined;
  // how many cards fit: every card has the same size (one line each, never wrapped)
  const [fit, setFit] = createSignal(1);
  const measure = () => {
    const card = list?.querySelector<HTMLElement>('li:not([hidden])');
    if (!list || !card || card.offsetHeight === 0) return;
    const style = getComputedStyle(list);
    const space = list.getBoundingClientRect();
    const size = card.getBoundingClientRect();
    const rows = itemsThatFit(space.height, size.height, parseFloat(style.rowGap) || 0);
    const cols = itemsThatFit(space.width, size.width, parseFloat(style.columnGap) || 0);
    setFit(rows * cols);
  };
  const isOver = (a: RosterAgent) => overLimit(a, props.now, props.limits);
  const cards = createMemo(() => rosterCards(props.roster?.agents ?? [], props.roster?.counts ?? { available: 0, busy: 0, acw: 0, aux: 0 }, props.states, isOver));
  const shown = () => Math.min(fit(), cards().agents.length);
  const over = createMemo(() => cards().agents.filter(isOver).length);
  const more = () => cards().total - shown();
  onMount(() => {
    const observer = new ResizeObserver(measure);
    createEffect(
      on(
        () => cards().agents.length > 0,
        (any) => {
          observer.disconnect();
          if (any && list) observer.observe(list);
          measure();
        },
      ),
    );
    onCleanup(() => observer.disconnect());
  });
  const shownStates = () => props.states.map((s) => [s, rosterStateLabel(s)] as const);
  return (
    <section class="tile roster" classList={{ stale: props.stale !== null }} style={props.style} data-kind="roster" data-stale={props.stale !== null ? 'true' : 'false'}>
      <header class="tile-head">
        <span class="tile-label">
          {rosterTitle(props.states)} · {scopeLabel(props.scope)}
        </span>
        <Show when={props.stale === null} fallback={<span class="tile-stale">{props.stale}</span>}>
          <span class="roster-counts" data-total={cards().total}>
            <For each={shownStates()}>
              {([state, label]) => (
                <span class={`state-${state}`} data-state={state} data-count={props.roster?.counts[state] ?? 0} hidden={!props.roster?.counts[state]}>
                  {props.roster?.counts[state] ?? 0} {label.toLowerCase()}
                </span>
              )}
            </For>
            <Show when={over() > 0}>
              <span class="roster-over" data-over={over()}>● {over()} over limit</span>
            </Show>
            <Show when={more() > 0}>
              <span class="roster-more" data-more={more()}>+{more()} more</span>
            </Show>
          </span>
        </Show>
      </header>
      <Show when={cards().agents.length > 0} fallback={<p class="no-agents">{!props.roster ? 'Waiting for the roster…' : rosterTitle(props.states) === 'Agents' ? 'No agents signed in' : `No agents in ${rosterTitle(props.states).toLowerCase()}`}</p>}>
        <ul class="roster-list" ref={list}>
          {/* Index: a card stays and its text changes as agents move, so a roster that changes all day builds no new nodes */}
          <Index each={cards().agents}>
            {(a, i) => {
              const flagged = createMemo(() => isOver(a()));
              return (
                <li
                  class={`roster-agent state-${a().state}`}
                  classList={{ over: flagged() }}
                  hidden={i >= shown()}
                  data-agent={a().agentId}
                  data-state={a().state}
                  data-over={flagged() ? 'true' : 'false'}
                >
                  <span class="roster-name">{a().name || a().agentId}</span>
                  <span class="roster-time">
                    {flagged() ? '● ' : ''}
                    {timeInState(a().since, props.now)}
                  </span>
                  <span class="roster-state">
                    {rosterStateLabel(a().state)}
                    {a().reason !== '' ? ` · ${a().reason}` : ''}
                  </span>
                </li>
              );
            }}
          </Index>
        </ul>
      </Show>
    </section>
  );
};
