// The day report: every windowed KPI of one local day (CENTER_TZ) by 15-minute interval, and the day's total, per
// scope — what a supervisor goes through after a shift (Console → Reports) or downloads as CSV. Computed from
// ClickHouse with compute.ts's sums and formulas, so an interval's figures are the trend chart's and the analysts'
// kpi_interval_15m, and the total is that day's `today` window (kpi_daily), never an average of the intervals.
import type { ClickHouseClient } from '@clickhouse/client';
import { byName } from '../boards/table-rows.ts';
import { KPI_CATALOG, type KpiKey, type KpiValue } from './catalog.ts';
import { buildSeries, intervalSums, measuredScopes, sumsOf, windowedValues, type SeriesPoint } from './compute.ts';
import { startOfLocalDay, tzOffsetMs } from '../time-zone.ts';
import { todayIntervals } from './windows.ts';

/** The KPIs a report has: every windowed one of the catalog (live figures have no past). */
export const REPORT_KPIS: readonly KpiKey[] = KPI_CATALOG.filter((d) => d.kind === 'windowed').map((d) => d.key);

export interface ScopeReport {
  scope: string;
  /** The whole day (up to now, today). */
  total: Partial<Record<KpiKey, KpiValue>>;
  /** Every 15-minute interval of the day from local midnight (today: up to the current one, still open). */
  intervals: SeriesPoint[];
}

export interface DayReport {
  /** The local day, YYYY-MM-DD. */
  date: string;
  timeZone: string;
  intervalMinutes: 15;
  /** False while the day is still going (today): its last interval is open and its figures still move. */
  complete: boolean;
  asOf: string;
  scopes: ScopeReport[];
}

const DAY_MS = 86_400_000;

/** The local day (YYYY-MM-DD) in `tz` of the instant `t`. */
export function localDate(t: number, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(t);
}

/** The instant the local day `date` (YYYY-MM-DD) begins in `tz`, or null for a text that is no calendar day. */
export function localDayStart(date: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return null;
  const noon = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
  if (new Date(noon).toISOString().slice(0, 10) !== date) return null; // 2026-02-30 and the like
  // local noon of that day is on that day whatever the zone (offsets are within ±14 h), and never in a DST gap
  return startOfLocalDay(noon - tzOffsetMs(tz, noon), tz);
}

/** The most scopes one report covers, its wildcards (`queue:*`) counted as the scopes they stand for. */
export const MAX_REPORT_SCOPES = 50;

export class ReportTooLarge extends Error {
  override name = 'ReportTooLarge';
}

/**
 * The report of the local day `date` in `tz` for `scopes`, as of `now` (a day after `now` is not asked for). A scope
 * `queue:*` (`team:*`, `channel:*`, `agent:*`) stands for every queue (…) with figures that day, by name.
 */
export async function computeDayReport(ch: ClickHouseClient, opts: { date: string; tz: string; now: number; scopes: readonly string[] }): Promise<DayReport> {
  const start = localDayStart(opts.date, opts.tz);
  if (start === null) throw new RangeError(`not a day: ${opts.date}`);
  const next = startOfLocalDay(start + DAY_MS + DAY_MS / 4, opts.tz); // days are 23 to 25 hours long
  const at = Math.min(opts.now, next - 1);
  const slices = todayIntervals(at, opts.tz);
  const end = slices.at(-1)!.end;
  const wildcards = opts.scopes.filter((s) => s.endsWith(':*'));
  // the day's sums: of every scope when the wildcards need to know which had figures that day
  const day = await intervalSums(ch, [{ label: 'day', start, end }], wildcards.length > 0 ? [] : opts.scopes, end - start);
  const scopes = wildcards.length > 0 ? expand(opts.scopes, measuredScopes(day).sort(byName)) : [...opts.scopes];
  if (scopes.length > MAX_REPORT_SCOPES) {
    const counted = wildcards.length > 0 ? ` (${wildcards.join(', ')} counted as the scopes with figures that day)` : '';
    throw new ReportTooLarge(`${scopes.length} scopes${counted}: at most ${MAX_REPORT_SCOPES} in one report`);
  }
  // (no scope left: `queue:*` on a day without queues; buildSeries would take none for all)
  const series = scopes.length > 0 ? buildSeries(at, slices, scopes, await intervalSums(ch, slices, scopes)) : [];
  return {
    date: opts.date,
    timeZone: opts.tz,
    intervalMinutes: 15,
    complete: opts.now >= next,
    asOf: new Date(opts.now).toISOString(),
    scopes: series.map((s) => ({ scope: s.scope, total: windowedValues(sumsOf(day, 'day', s.scope)), intervals: s.points })),
  };
}

/** The scopes asked for, each `<kind>:*` replaced by the scopes of that kind in `measured` (in their order), without repeats. */
function expand(asked: readonly string[], measured: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of asked) {
    if (!s.endsWith(':*')) out.add(s);
    else for (const m of measured) if (m.startsWith(s.slice(0, -1))) out.add(m);
  }
  return [...out];
}

/**
 * A CSV field, quoted when it must be (RFC 4180). Only scopes are text, and they start with their kind (`queue:…`), so
 * no field can start like a spreadsheet formula.
 */
const csvText = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

const csvNumber = (v: KpiValue | undefined) => (v?.value === null || v?.value === undefined ? '' : String(Math.round(v.value * 1000) / 1000));

/**
 * The report as CSV: a header, then per scope a `total` row and a row per interval of the day, times on
 * the center's clock (YYYY-MM-DD HH:mm), one column per KPI (its value, rounded to 3 decimals; empty when it has none).
 */
export function reportCsv(report: DayReport): string {
  const clock = new Intl.DateTimeFormat('sv-SE', { timeZone: report.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const local = (iso: string) => clock.format(Date.parse(iso));
  const lines = [['scope', 'row', 'start', 'end', ...REPORT_KPIS].join(',')];
  for (const s of report.scopes) {
    const first = s.intervals[0];
    const last = s.intervals.at(-1);
    lines.push([csvText(s.scope), 'total', first ? local(first.start) : '', last ? local(last.end) : '', ...REPORT_KPIS.map((k) => csvNumber(s.total[k]))].join(','));
    for (const p of s.intervals) {
      lines.push([csvText(s.scope), 'interval', local(p.start), local(p.end), ...REPORT_KPIS.map((k) => csvNumber(p.values[k]))].join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
