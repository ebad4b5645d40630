// The trend tile: today by 15 minutes for one KPI and scope, with its warning and critical lines. uPlot is created
// once; data changes go through setData, size changes through a ResizeObserver, and the chart is destroyed on
// cleanup (never recreated per update: a TV runs for weeks).
import { createEffect, createMemo, on, onCleanup, onMount, type Component } from 'solid-js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { levelCue, type ThresholdView, type TileLevel } from '../lib/alert-display.ts';
import { formatValue, scopeLabel } from '../lib/format.ts';
import type { SeriesEntry } from './live-data.ts';

export interface TrendProps {
  def: KpiDefinition | undefined;
  kpi: string;
  scope: string;
  series: SeriesEntry | undefined;
  thresholds: ThresholdView[];
  level: TileLevel;
  stale: string | null;
  style: Record<string, string>;
}

const COLORS = { line: '#5cc8ff', warning: '#f0b429', critical: '#ff5c5c', grid: 'rgba(255,255,255,0.08)', axis: '#8a97a8' };

export const TrendChart: Component<TrendProps> = (props) => {
  let host!: HTMLDivElement;
  let chart: uPlot | undefined;
  let lines: ThresholdView[] = [];
  const data = createMemo<uPlot.AlignedData>(() => {
    const s = props.series;
    if (!s || s.points.length === 0) return [[], []];
    return [s.x, s.points.map((p) => p.values[props.kpi]?.value ?? null)];
  });

  onMount(() => {
    const rect = host.getBoundingClientRect();
    const font = `${Math.max(11, Math.round(rect.height / 16))}px system-ui, sans-serif`;
    chart = new uPlot(
      {
        width: Math.max(50, rect.width),
        height: Math.max(50, rect.height),
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true } },
        axes: [
          { stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid }, font },
          { stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid }, font, size: Math.round(rect.height / 6) },
        ],
        // points only while there are too few to draw a line (early in the day)
        series: [{}, { stroke: COLORS.line, width: 3, spanGaps: false, points: { show: (u, si) => (u.data[si] ?? []).filter((v) => v != null).length < 3, size: 10, fill: COLORS.line } }],
        hooks: {
          // threshold lines, drawn over the plot on each redraw
          draw: [
            (u) => {
              const ctx = u.ctx;
              for (const t of lines) {
                for (const [level, value] of [['warning', t.warning], ['critical', t.critical]] as const) {
                  const y = u.valToPos(value, 'y', true);
                  if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
                  ctx.save();
                  ctx.strokeStyle = COLORS[level];
                  ctx.lineWidth = 2 * devicePixelRatio;
                  ctx.setLineDash(level === 'critical' ? [] : [10 * devicePixelRatio, 6 * devicePixelRatio]);
                  ctx.beginPath();
                  ctx.moveTo(u.bbox.left, y);
                  ctx.lineTo(u.bbox.left + u.bbox.width, y);
                  ctx.stroke();
                  ctx.restore();
                }
              }
            },
          ],
        },
      },
      data(),
      host,
    );
    const ro = new ResizeObserver((entries) => {
      const r = entries[0]?.contentRect;
      if (r && chart && r.width > 0 && r.height > 0) chart.setSize({ width: Math.floor(r.width), height: Math.floor(r.height) });
    });
    ro.observe(host);
    onCleanup(() => {
      ro.disconnect();
      chart?.destroy();
      chart = undefined;
    });
  });

  createEffect(
    on([data, () => props.thresholds], ([d, t]) => {
      lines = t;
      if (!chart) return;
      // keep the threshold lines in view: widen the y range to include them
      const ys = (d[1] as (number | null)[]).filter((v): v is number => v !== null);
      const all = [...ys, ...t.flatMap((x) => [x.warning, x.critical])];
      // setData first (it re-ranges x to the data), then the y range that keeps the threshold lines in view
      chart.setData(d, true);
      if (all.length > 0) {
        const min = Math.min(...all, props.def?.min ?? Infinity);
        const max = Math.max(...all);
        chart.setScale('y', { min: Math.min(min, 0), max: max + (max - Math.min(min, 0)) * 0.1 || 1 });
      }
    }, { defer: true }),
  );

  const last = createMemo(() => {
    const d = data()[1] as (number | null)[];
    for (let i = d.length - 1; i >= 0; i--) if (d[i] !== null) return d[i];
    return null;
  });
  const shown = createMemo(() => formatValue(last(), props.def ?? { unit: 'count', decimals: 0 }));

  return (
    <section
      class={`tile trend level-${props.level}`}
      classList={{ stale: props.stale !== null }}
      style={props.style}
      data-kind="trend"
      data-kpi={props.kpi}
      data-scope={props.scope}
      data-level={props.level}
      data-stale={props.stale !== null ? 'true' : 'false'}
    >
      <header class="tile-head">
        <span class="tile-label">
          {props.def?.label ?? props.kpi} · {scopeLabel(props.scope)} · today by 15 min
        </span>
        <span class="trend-last">
          {shown().text}
          {shown().unit}
        </span>
        <span class="tile-cue" aria-hidden="true">{levelCue(props.level).icon}</span>
      </header>
      <div class="trend-plot" ref={host} />
      <footer class="tile-foot">
        <span class="legend"><i class="sw warning" /> warning <i class="sw critical" /> critical</span>
        <span class="tile-stale">{props.stale ?? ''}</span>
      </footer>
    </section>
  );
};
