// The active alerts: critical first, then warning, newest first, capped; a level icon besides the colour, the
// value against the threshold, since when, and who acknowledged it.
import { For, Show, type Component } from 'solid-js';
import type { Alert } from '../../../server/live/protocol.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { ackLine, levelCue } from '../lib/alert-display.ts';
import { formatClock, formatValue, scopeLabel, windowLabel } from '../lib/format.ts';

export const AlertList: Component<{
  alerts: Alert[];
  flashing: Set<string>;
  catalog: Map<string, KpiDefinition>;
  timeZone: string | undefined;
  stale: string | null;
  style: Record<string, string>;
}> = (props) => {
  const clock = (iso: string) => formatClock(Date.parse(iso), props.timeZone);
  return (
    <section class="tile alerts" classList={{ stale: props.stale !== null }} style={props.style} data-kind="alerts" data-stale={props.stale !== null ? 'true' : 'false'}>
      <header class="tile-head">
        <span class="tile-label">Alerts</span>
        <span class="tile-stale">{props.stale ?? ''}</span>
      </header>
      <Show when={props.alerts.length > 0} fallback={<p class="no-alerts">No active alerts</p>}>
        <ul class="alert-list">
          <For each={props.alerts}>
            {(a) => {
              const def = () => props.catalog.get(a.kpi);
              const f = (x: number | null) => {
                const r = formatValue(x, def() ?? { unit: 'count', decimals: 0 });
                return `${r.text}${r.unit}`;
              };
              return (
                <li class={`alert level-${a.level}`} classList={{ flash: props.flashing.has(a.id), acked: a.acknowledgedBy !== null }} data-alert={a.id} data-level={a.level}>
                  <span class="alert-icon" aria-label={a.level}>{levelCue(a.level === 'critical' ? 'critical' : 'warning').icon}</span>
                  <span class="alert-what">
                    {def()?.label ?? a.kpi} · {scopeLabel(a.scope)} · {windowLabel(a.window, def()?.kind)}
                  </span>
                  <span class="alert-value">
                    {f(a.value)} {a.direction === 'above' ? '≥' : '≤'} {f(a.threshold)}
                  </span>
                  <span class="alert-since">since {clock(a.startedAt)}</span>
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
