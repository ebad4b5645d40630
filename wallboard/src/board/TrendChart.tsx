// The trend tile: today by 15 minutes for one KPI and scope, with its warning and critical lines. uPlot is created
// once; data changes go through setData, size changes through a ResizeObserver (a change of screen size that changes
// the labels' size builds it again), and the chart is destroyed on cleanup (never recreated per update: a TV runs for
// weeks).
import { createEffect, createMemo, on, onCleanup, onMount, type Component } from 'solid-js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { levelCue, type ThresholdView, type TileLevel } from '../lib/alert-display.ts';
import { formatClock, formatValue, scopeLabel } from '../lib/format.ts';
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
  /** The center's time zone: the time axis reads as the header clock does (24 h), whatever the TV's own zone. */
  timeZone: string | undefined;
}

/** The axes' tick length and gap before their labels, px. */
const TICK_PX = 10;
const GAP_PX = 5;

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

  /**
   * Axis labels scale with the tile's height, and never below what reads from across the room: 1/72 of the screen's
   * height (15 px on a 1080p TV, 30 px on 4K), as in a one-row trend tile.
   */
  const fontPxFor = (height: number) => Math.max(Math.round(window.innerHeight / 72), Math.round(height / 16));

  /** Builds the chart for the host's size (on mount, and when a resize changes the label size). */
  function create(width: number, height: number): void {
    chart?.destroy();
    const fontPx = fontPxFor(height);
    const font = `${fontPx}px system-ui, sans-serif`;
    chart = new uPlot(
      {
        width: Math.max(50, width),
        height: Math.max(50, height),
        legend: { show: false },
        cursor: { show: false },
        // room on the right for half of the last time label ("18:00" centred on the day's last tick), and on the left
        // for half of the first one while there is no y axis (no values nor threshold yet: "00:00" was cut to ":00")
        padding: [Math.round(fontPx / 2), Math.ceil(fontPx * 1.6), 0, (_u, _side, withAxes) => (withAxes[3] ? 0 : Math.ceil(fontPx * 1.6))],
        scales: { x: { time: true } },
        // ticks on the center's whole hours, labelled 13:00 rather than 1:00pm over a date line
        tzDate: (ts) => (props.timeZone ? uPlot.tzDate(new Date(ts * 1000), props.timeZone) : new Date(ts * 1000)),
        axes: [
          {
            stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid, size: TICK_PX }, gap: GAP_PX, font,
            values: (_u, splits) => splits.map((s) => formatClock(s * 1000, props.timeZone)),
            // labels ("13:00") never touch: about five characters and a gap between ticks
            space: Math.round(fontPx * 4.5),
            size: TICK_PX + GAP_PX + Math.ceil(fontPx * 1.3),
          },
          {
            stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid, size: TICK_PX }, gap: GAP_PX, font,
            // ticks + gap + its longest label ("100" must not be clipped to "0" on a small tile)
            size: (_u, values) => TICK_PX + GAP_PX + Math.ceil(Math.max(2, ...(values ?? []).map((v) => String(v).length)) * fontPx * 0.62) + 4,
            space: Math.round(fontPx * 2),
          },
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
    show(data(), props.thresholds);
  }

  onMount(() => {
    const rect = host.getBoundingClientRect();
    create(rect.width, rect.height);
    let builtFontPx = fontPxFor(rect.height);
    const ro = new ResizeObserver((entries) => {
      const r = entries[0]?.contentRect;
      if (!r || !chart || r.width <= 0 || r.height <= 0) return;
      // a new screen size (a TV's resolution, a layout change): rebuilt when its labels would change size, else resized
      if (Math.abs(fontPxFor(r.height) - builtFontPx) >= 2) {
        builtFontPx = fontPxFor(r.height);
        create(Math.floor(r.width), Math.floor(r.height));
      } else chart.setSize({ width: Math.floor(r.width), height: Math.floor(r.height) });
    });
    ro.observe(host);
    onCleanup(() => {
      ro.disconnect();
      chart?.destroy();
      chart = undefined;
    });
  });

  /** New data or thresholds: setData first (it re-ranges x to the data), then the y range that keeps the threshold
   * lines in view (also before the first value of the day, when only the lines are there to draw). */
  function show(d: uPlot.AlignedData, t: ThresholdView[]): void {
    lines = t;
    if (!chart) return;
    const ys = (d[1] as (number | null)[]).filter((v): v is number => v !== null);
    const all = [...ys, ...t.flatMap((x) => [x.warning, x.critical])];
    chart.setData(d, true);
    if (all.length > 0) {
      const min = Math.min(...all, props.def?.min ?? Infinity);
      const max = Math.max(...all);
      chart.setScale('y', { min: Math.min(min, 0), max: max + (max - Math.min(min, 0)) * 0.1 || 1 });
    }
  }

  createEffect(on([data, () => props.thresholds], ([d, t]) => show(d, t), { defer: true }));

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
