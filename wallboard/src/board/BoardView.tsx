// One grid board on the whole screen: tiles placed on an explicit grid whose rows share the height equally, so
// nothing scrolls or overflows at any TV resolution.
import { createMemo, For, Match, Switch, type Component } from 'solid-js';
import type { GridBoard } from '../../../server/boards/schema.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import { alertCounts, thresholdsFor, tileLevel, type ThresholdView } from '../lib/alert-display.ts';
import { placeTiles } from '../lib/layout.ts';
import { ALL_ROSTER_STATES } from '../lib/roster.ts';
import { AgentStrip } from './AgentStrip.tsx';
import { AlertList } from './AlertList.tsx';
import { KpiTable } from './KpiTable.tsx';
import { RosterTile } from './RosterTile.tsx';
import type { LiveData } from './live-data.ts';
import { KpiTile } from './Tile.tsx';
import { TrendChart } from './TrendChart.tsx';

export interface BoardViewProps {
  board: GridBoard;
  live: LiveData;
  catalog: Map<string, KpiDefinition>;
  thresholds: ThresholdView[];
  timeZone: string | undefined;
  /** Board-wide stale text (null while live). */
  stale: string | null;
  /**
   * While stale, since when (server clock), if known: the roster's times in state stop there, so a stale roster does
   * not go on counting and flagging agents "over limit" who may have moved long ago.
   */
  staleSince: number | null;
  /** A table's rows, its wildcards (`queue:*`) replaced by the scopes they stand for. */
  rows: (scopes: string[]) => string[];
}

export const BoardView: Component<BoardViewProps> = (props) => {
  const layout = createMemo(() => placeTiles(props.board.tiles, props.board.columns));
  const alerts = createMemo(() => {
    props.live.alertsVersion();
    return [...props.live.book.open.values()];
  });
  const flashing = createMemo(() => {
    props.live.alertsVersion();
    return props.live.book.flashing(props.live.now());
  });
  const listed = createMemo(() => {
    props.live.alertsVersion();
    return props.live.book.listed();
  });
  return (
    <div
      class="grid"
      style={{ 'grid-template-columns': `repeat(${props.board.columns}, minmax(0, 1fr))`, 'grid-template-rows': `repeat(${layout().rows}, minmax(0, 1fr))` }}
      data-board={props.board.name}
    >
      <For each={layout().placements}>
        {(p) => {
          const tile = () => props.board.tiles[p.index]!;
          const style = { 'grid-column': `${p.col} / span ${p.width}`, 'grid-row': `${p.row} / span ${p.height}` };
          return (
            <Switch>
              <Match when={tile().kind === 'kpi' && (tile() as Extract<ReturnType<typeof tile>, { kind: 'kpi' }>)}>
                {(t) => {
                  const snap = () => props.live.snapshot(t().window, t().scope);
                  const value = () => snap()?.values[t().kpi]?.value ?? null;
                  const level = () => tileLevel(t(), value(), alerts(), props.thresholds, snap()?.values[t().kpi]?.n);
                  const flash = () =>
                    level() === 'critical' && alerts().some((a) => a.kpi === t().kpi && a.scope === t().scope && a.window === t().window && flashing().has(a.id));
                  return (
                    <KpiTile
                      def={props.catalog.get(t().kpi)}
                      kpi={t().kpi}
                      scope={t().scope}
                      window={t().window}
                      value={value()}
                      n={snap()?.values[t().kpi]?.n ?? null}
                      series={props.live.series(t().scope)}
                      level={level()}
                      flash={flash()}
                      stale={props.stale ?? (snap() ? null : 'no data yet')}
                      style={style}
                    />
                  );
                }}
              </Match>
              <Match when={tile().kind === 'trend' && (tile() as Extract<ReturnType<typeof tile>, { kind: 'trend' }>)}>
                {(t) => {
                  const all = () => thresholdsFor(props.thresholds, t().kpi, t().scope);
                  // the lines are one window's thresholds (the 15-minute ones first: the points are quarter hours), and
                  // the tile's colour is that window's too (it was today's, so the lines and the colour could disagree)
                  const lineWindow = () => (['15m', '1h', 'today'] as const).find((w) => all().some((x) => x.window === w)) ?? 'today';
                  const lines = () => all().filter((x) => x.window === lineWindow());
                  const snap = () => props.live.snapshot(lineWindow(), t().scope);
                  return (
                    <TrendChart
                      def={props.catalog.get(t().kpi)}
                      kpi={t().kpi}
                      scope={t().scope}
                      series={props.live.series(t().scope)}
                      thresholds={lines()}
                      level={tileLevel({ kpi: t().kpi, scope: t().scope, window: lineWindow() }, snap()?.values[t().kpi]?.value, alerts(), props.thresholds, snap()?.values[t().kpi]?.n)}
                      stale={props.stale ?? (props.live.series(t().scope) ? null : 'no data yet')}
                      style={style}
                      timeZone={props.timeZone}
                    />
                  );
                }}
              </Match>
              <Match when={tile().kind === 'agents' && (tile() as Extract<ReturnType<typeof tile>, { kind: 'agents' }>)}>
                {(t) => (
                  <AgentStrip
                    scope={t().scope}
                    values={props.live.snapshot('today', t().scope)?.values}
                    stale={props.stale ?? (props.live.snapshot('today', t().scope) ? null : 'no data yet')}
                    style={style}
                  />
                )}
              </Match>
              <Match when={tile().kind === 'roster' && (tile() as Extract<ReturnType<typeof tile>, { kind: 'roster' }>)}>
                {(t) => (
                  <RosterTile
                    scope={t().scope}
                    states={t().states ?? ALL_ROSTER_STATES}
                    limits={t().limits}
                    roster={props.live.roster(t().scope)}
                    now={props.stale !== null && props.staleSince !== null ? props.staleSince : props.live.serverNow()}
                    stale={props.stale ?? (props.live.roster(t().scope) ? null : 'no data yet')}
                    style={style}
                  />
                )}
              </Match>
              <Match when={tile().kind === 'table' && (tile() as Extract<ReturnType<typeof tile>, { kind: 'table' }>)}>
                {(t) => (
                  <KpiTable
                    kpis={t().kpis}
                    scopes={props.rows(t().scopes)}
                    window={t().window}
                    catalog={props.catalog}
                    snapshot={props.live.snapshot}
                    alerts={alerts()}
                    thresholds={props.thresholds}
                    stale={props.stale}
                    style={style}
                  />
                )}
              </Match>
              <Match when={tile().kind === 'alerts'}>
                <AlertList
                  alerts={listed()}
                  counts={alertCounts(alerts())}
                  current={(a) => props.live.latest(a.window, a.scope)?.values[a.kpi]?.value}
                  flashing={flashing()}
                  catalog={props.catalog}
                  timeZone={props.timeZone}
                  now={props.live.serverNow()}
                  stale={props.stale}
                  style={style}
                />
              </Match>
            </Switch>
          );
        }}
      </For>
    </div>
  );
};
