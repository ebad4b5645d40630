// One KPI tile: label, big value with its unit, the sample size, a sparkline of today by 15 minutes. Its level
// (neutral / warning / critical) shows as a colour and, for colour-blind viewers, as an icon, a word and a stripe
// pattern; a tile whose data is not live says "stale since hh:mm" and dims its value.
import { createMemo, Show, type Component } from 'solid-js';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { levelCue, type TileLevel } from '../lib/alert-display.ts';
import { formatSample, formatValue, scopeLabel, shownWidth, widestValue, windowLabel, type Bounded } from '../lib/format.ts';
import type { SeriesEntry } from './live-data.ts';

export interface TileProps {
  def: KpiDefinition | undefined;
  kpi: string;
  scope: string;
  window: string;
  value: number | null | undefined;
  n: number | null | undefined;
  series: SeriesEntry | undefined;
  level: TileLevel;
  flash: boolean;
  /** null: live; otherwise the text to show ("stale since 14:05"). */
  stale: string | null;
  style: Record<string, string>;
}

/** An SVG path for a sparkline in a 100×30 box (null values break the line). */
export function sparkPath(values: readonly (number | null)[]): string {
  const nums = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (nums.length === 0) return '';
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const span = max - min;
  const step = values.length > 1 ? 100 / (values.length - 1) : 0;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (span === 0 ? 15 : 28 - ((v - min) / span) * 26).toFixed(1);
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  });
  return d;
}

/** How a tile formats a KPI the catalog does not know (yet): an unbounded count. */
const UNKNOWN_KPI: Bounded = { unit: 'count', decimals: 0, min: null, max: null };

export const KpiTile: Component<TileProps> = (props) => {
  const fmt = () => props.def ?? UNKNOWN_KPI;
  const shown = createMemo(() => formatValue(props.value, fmt()));
  // The number is sized for the widest value its KPI shows (theme.css: --chars), not for the value now, so it keeps
  // one size as the value crosses a digit ("999" → "1,000"); only a wider value than that (an hour of wait) shrinks it.
  const reserved = createMemo(() => shownWidth(widestValue(fmt())));
  const chars = createMemo(() => Math.max(4, reserved(), shownWidth(shown())));
  const path = createMemo(() => sparkPath(props.series?.points.map((p) => p.values[props.kpi]?.value ?? null) ?? []));
  const cue = createMemo(() => levelCue(props.level));
  return (
    <section
      class={`tile kpi level-${props.level}`}
      classList={{ flash: props.flash, stale: props.stale !== null }}
      style={props.style}
      data-kpi={props.kpi}
      data-scope={props.scope}
      data-window={props.window}
      data-level={props.level}
      data-stale={props.stale !== null ? 'true' : 'false'}
      aria-label={`${props.def?.label ?? props.kpi} ${scopeLabel(props.scope)} ${windowLabel(props.window, props.def?.kind)}: ${shown().text}${shown().unit} ${cue().word}`}
    >
      <header class="tile-head">
        <span class="tile-label">{props.def?.label ?? props.kpi}</span>
        <span class="tile-cue" aria-hidden="true">{cue().icon}</span>
      </header>
      <div class="tile-scope">
        {scopeLabel(props.scope)} · {windowLabel(props.window, props.def?.kind)}
      </div>
      <div class="tile-value" style={{ '--chars': String(chars()) }}>
        <span class="value-text">{shown().text}</span>
        <Show when={shown().unit}>
          <span class="value-unit">{shown().unit}</span>
        </Show>
      </div>
      <footer class="tile-foot">
        <span class="tile-n">{formatSample(props.n)}</span>
        <Show when={props.stale !== null} fallback={<span class="tile-word">{cue().word}</span>}>
          <span class="tile-stale">{props.stale}</span>
        </Show>
      </footer>
      <svg class="spark" viewBox="0 0 100 30" preserveAspectRatio="none" aria-hidden="true">
        <path d={path()} />
      </svg>
    </section>
  );
};
