// The active alerts: critical first, then warning, newest first; a level icon besides the colour, the KPI's value now
// against its limit, since when, and who acknowledged it. Read from across the room: rows are as large as a tile's
// title and only whole rows are shown; the heading counts the open alerts by level, and how many are not shown.
import { createEffect, createSignal, For, on, onCleanup, onMount, Show, type Component } from 'solid-js';
import type { Alert } from '../../../server/live/protocol.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { ackLine, alertRows, levelCue } from '../lib/alert-display.ts';
import { formatSince, formatValue, scopeLabel, windowLabel } from '../lib/format.ts';
import { itemsThatFit } from '../lib/layout.ts';

export const AlertList: Component<{
  /** The alerts to list, in order (capped). */
  alerts: Alert[];
  /** How many alerts are open at each level (the heading; "+N more"). */
  counts: { critical: number; warning: number };
  /** The KPI's value now, when the board has it (else the list shows the value at the alert's last change). */
  current: (alert: Alert) => number | null | undefined;
  flashing: Set<string>;
  catalog: Map<string, KpiDefinition>;
  timeZone: string | undefined;
  /** Now, on the server's clock: a time from another day is shown with its date. */
  now: number;
  stale: string | null;
  style: Record<string, string>;
}> = (props) => {
  const clock = (iso: string) => formatSince(Date.parse(iso), props.now, props.timeZone);
  let list: HTMLUListElement | undefined;
  // how many rows fit: every row has the same height (one line each for what and when, never wrapped)
  const [fit, setFit] = createSignal(1);
  const measure = () => {
    const row = list?.querySelector<HTMLElement>('li:not([hidden])');
    if (!list || !row || row.offsetHeight === 0) return;
    setFit(itemsThatFit(list.getBoundingClientRect().height, row.getBoundingClientRect().height, parseFloat(getComputedStyle(list).rowGap) || 0));
  };
  onMount(() => {
    const observer = new ResizeObserver(measure);
    createEffect(
      on(
        () => props.alerts.length > 0,
        (any) => {
          observer.disconnect();
          if (any && list) observer.observe(list);
          measure();
        },
      ),
    );
    onCleanup(() => observer.disconnect());
  });
  const rows = () => alertRows(props.counts.critical + props.counts.warning, Math.min(fit(), props.alerts.length));
  const formatted = (a: Alert, x: number | null | undefined) => {
    const r = formatValue(x, props.catalog.get(a.kpi) ?? { unit: 'count', decimals: 0 });
    return `${r.text}${r.unit}`;
  };
  return (
    <section class="tile alerts" classList={{ stale: props.stale !== null }} style={props.style} data-kind="alerts" data-stale={props.stale !== null ? 'true' : 'false'}>
      <header class="tile-head">
        <span class="tile-label">Alerts</span>
        <Show when={props.stale === null} fallback={<span class="tile-stale">{props.stale}</span>}>
          <span class="alert-counts" data-critical={props.counts.critical} data-warning={props.counts.warning}>
            <Show when={props.counts.critical > 0}>
              <span class="level-critical">{levelCue('critical').icon} {props.counts.critical} critical</span>
            </Show>
            <Show when={props.counts.warning > 0}>
              <span class="level-warning">{levelCue('warning').icon} {props.counts.warning} warning</span>
            </Show>
            <Show when={rows().more > 0}>
              <span class="alert-more" data-more={rows().more}>+{rows().more} more</span>
            </Show>
          </span>
        </Show>
      </header>
      <Show when={props.alerts.length > 0} fallback={<p class="no-alerts">No active alerts</p>}>
        <ul class="alert-list" ref={list}>
          <For each={props.alerts}>
            {(a, i) => {
              const def = () => props.catalog.get(a.kpi);
              const now = () => props.current(a);
              return (
                <li
                  class={`alert level-${a.level}`}
                  classList={{ flash: props.flashing.has(a.id), acked: a.acknowledgedBy !== null }}
                  hidden={i() >= rows().shown}
                  data-alert={a.id}
                  data-level={a.level}
                >
                  <span class="alert-icon" aria-label={a.level}>{levelCue(a.level === 'critical' ? 'critical' : 'warning').icon}</span>
                  <span class="alert-what">
                    {def()?.label ?? a.kpi} · {scopeLabel(a.scope)} · {windowLabel(a.window, def()?.kind)}
                  </span>
                  <span class="alert-value">{formatted(a, now() === undefined ? a.value : now())}</span>
                  <span class="alert-since">
                    since {clock(a.startedAt)} · limit {formatted(a, a.threshold)}
                  </span>
                  <span class="alert-ack">{ackLine(a, clock)}</span>
                </li>
              );
            }}
          </For>
        </ul>
      </Show>
    </section>
  );
};
