// The agent-state strip of a scope: available / busy / wrap-up / aux as one proportional bar with the counts, and
// the queue now (waiting, longest wait). Live KPIs: the same in every window, taken from the `today` snapshot.
import { For, type Component } from 'solid-js';
import type { KpiValue } from '../../../server/kpi/catalog.ts';
import { formatValue, formatNumber, scopeLabel, NO_VALUE } from '../lib/format.ts';

const STATES = [
  ['agents_available', 'Available', 'available'],
  ['agents_busy', 'Busy', 'busy'],
  ['agents_acw', 'Wrap-up', 'acw'],
  ['agents_aux', 'Aux', 'aux'],
] as const;

export const AgentStrip: Component<{
  scope: string;
  values: Record<string, KpiValue> | undefined;
  stale: string | null;
  style: Record<string, string>;
}> = (props) => {
  const v = (k: string) => props.values?.[k]?.value ?? null;
  const total = () => STATES.reduce((s, [k]) => s + (v(k) ?? 0), 0);
  return (
    <section class="tile agents" classList={{ stale: props.stale !== null }} style={props.style} data-kind="agents" data-stale={props.stale !== null ? 'true' : 'false'}>
      <header class="tile-head">
        <span class="tile-label">Agents · {scopeLabel(props.scope)}</span>
        <span class="tile-stale">{props.stale ?? ''}</span>
      </header>
      <div class="agent-bar" aria-hidden="true">
        <For each={STATES}>{([k, , cls]) => <span class={`seg ${cls}`} style={{ 'flex-grow': String(total() > 0 ? (v(k) ?? 0) : 0) }} />}</For>
      </div>
      <div class="agent-counts">
        <For each={STATES}>
          {([k, label, cls]) => (
            <div class={`agent-count ${cls}`}>
              <span class="count">{v(k) === null ? NO_VALUE : formatNumber(v(k)!, 0)}</span>
              <span class="what">{label}</span>
            </div>
          )}
        </For>
        <div class="agent-count waiting">
          <span class="count">{v('waiting') === null ? NO_VALUE : formatNumber(v('waiting')!, 0)}</span>
          <span class="what">Waiting</span>
        </div>
        <div class="agent-count longest">
          <span class="count">
            {formatValue(v('longest_wait'), { unit: 'seconds', decimals: 0 }).text}
            {formatValue(v('longest_wait'), { unit: 'seconds', decimals: 0 }).unit}
          </span>
          <span class="what">Longest wait</span>
        </div>
      </div>
    </section>
  );
};
