// A table tile: several KPIs (columns) for several scopes (rows, e.g. every queue) in one window — the floor's
// overview of its queues. Each cell has its KPI's level: a colour and, for colour-blind viewers, the level's icon.
// Text is as large as the rows and columns allow, so a table of 4 queues × 5 KPIs reads from across the room.
import { For, Show, type Component } from 'solid-js';
import type { Alert, LiveWindow } from '../../../server/live/protocol.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { levelCue, tileLevel, type ThresholdView } from '../lib/alert-display.ts';
import { formatValue, scopeLabel, windowLabel } from '../lib/format.ts';
import type { SnapshotEntry } from './live-data.ts';

const ROWS_OF: Record<string, string> = { queue: 'Queues', team: 'Teams', channel: 'Channels', agent: 'Agents' };

/**
 * What the table's rows are: "Queues" when every row is a queue (then a row is named by the queue alone: "billing"),
 * likewise teams, channels and agents; "Overview" when mixed (rows keep "Queue billing").
 */
export function tableRows(scopes: readonly string[]): { title: string; rowLabel: (scope: string) => string } {
  const kinds = new Set(scopes.map((s) => (s === 'center' ? 'center' : s.slice(0, s.indexOf(':')))));
  const kind = kinds.size === 1 ? [...kinds][0]! : '';
  const title = ROWS_OF[kind];
  return title ? { title, rowLabel: (s) => s.slice(s.indexOf(':') + 1) } : { title: 'Overview', rowLabel: scopeLabel };
}

export const KpiTable: Component<{
  kpis: string[];
  scopes: string[];
  window: LiveWindow;
  catalog: Map<string, KpiDefinition>;
  snapshot: (window: LiveWindow, scope: string) => SnapshotEntry | undefined;
  alerts: Alert[];
  thresholds: ThresholdView[];
  stale: string | null;
  style: Record<string, string>;
}> = (props) => {
  // a live figure's thresholds and alerts are kept under today (server/kpi/catalog.ts, figureWindow)
  const levelWindow = (kpi: string): LiveWindow => (props.catalog.get(kpi)?.kind === 'live' ? 'today' : props.window);
  const anyData = () => props.scopes.some((s) => props.snapshot(props.window, s) !== undefined);
  const rows = () => tableRows(props.scopes);
  return (
    <section
      class="tile table"
      classList={{ stale: props.stale !== null || !anyData() }}
      style={{ ...props.style, '--rows': String(props.scopes.length + 1), '--cols': String(props.kpis.length) }}
      data-kind="table"
      data-window={props.window}
      data-stale={props.stale !== null || !anyData() ? 'true' : 'false'}
    >
      <header class="tile-head">
        <span class="tile-label">
          {rows().title} · {windowLabel(props.window)}
        </span>
        <span class="tile-stale">{props.stale ?? (anyData() ? '' : 'no data yet')}</span>
      </header>
      <table class="kpi-table">
        <thead>
          <tr>
            <th />
            <For each={props.kpis}>{(k) => <th scope="col">{props.catalog.get(k)?.label ?? k}</th>}</For>
          </tr>
        </thead>
        <tbody>
          <For each={props.scopes}>
            {(scope) => (
              <tr data-scope={scope}>
                <th scope="row">{rows().rowLabel(scope)}</th>
                <For each={props.kpis}>
                  {(kpi) => {
                    const figure = () => props.snapshot(props.window, scope)?.values[kpi];
                    const value = () => figure()?.value;
                    const shown = () => formatValue(value(), props.catalog.get(kpi) ?? { unit: 'count', decimals: 0 });
                    const level = () => tileLevel({ kpi, scope, window: levelWindow(kpi) }, value(), props.alerts, props.thresholds, figure()?.n);
                    return (
                      <td class={`level-${level()}`} data-kpi={kpi} data-level={level()}>
                        <Show when={level() !== 'neutral'}>
                          <span class="cell-cue" aria-label={level()}>
                            {levelCue(level()).icon}
                          </span>
                        </Show>
                        <span class="cell-value">{shown().text}</span>
                        <span class="cell-unit">{shown().unit}</span>
                      </td>
                    );
                  }}
                </For>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  );
};
