// Number formatting for the wallboard, from the KPI catalog's unit and decimals. Pure, DOM-free (unit-tested in node).
// A TV is read from five metres: values are short ("12.3k", "3:05"), never "NaN", and null is an em dash.
import type { KpiUnit } from '../../../server/kpi/catalog.ts';

export interface Formattable {
  unit: KpiUnit;
  decimals: number;
}

export interface Formatted {
  /** The number as shown, e.g. "87.5", "3:05", "12.3k", "—". */
  text: string;
  /** The unit shown next to it ("%", "s", "") — empty when the text already says it or the value is null. */
  unit: string;
}

export const NO_VALUE = '—';
const MINUS = '−';

function group(intText: string): string {
  return intText.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Shortened forms of large counts, smallest first: from `min` up a value is shown in `div`s with `digits` decimals. */
const SHORT: readonly { min: number; div: number; suffix: string; digits: (abs: number) => number }[] = [
  { min: 1e5, div: 1e3, suffix: 'k', digits: () => 0 },
  { min: 1e6, div: 1e6, suffix: 'M', digits: (abs) => (abs >= 1e7 ? 0 : 1) },
  { min: 1e9, div: 1e9, suffix: 'B', digits: () => 1 },
];

/** A plain number with `decimals` decimals, thousands grouped, a real minus sign; large counts shortened. */
export function formatNumber(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return NO_VALUE;
  const sign = value < 0 ? MINUS : '';
  const abs = Math.abs(value);
  // The unit is chosen from the value as shown, not as it is: 999,950 rounds to "1000" thousands, so it is "1M", and
  // 99,999.6 rounds to 100,000, so it is "100k" like 100,000 itself. Every `min` is a multiple of the rounding step
  // of the unit below, so rounding down never takes a value out of the unit its raw value reached.
  let unit = -1; // not shortened
  let fixed = abs.toFixed(decimals);
  while (unit + 1 < SHORT.length && Number(fixed) * (SHORT[unit]?.div ?? 1) >= SHORT[unit + 1]!.min) {
    const u = SHORT[++unit]!;
    fixed = (abs / u.div).toFixed(u.digits(abs));
  }
  if (unit >= 0) return `${sign}${trim(fixed)}${SHORT[unit]!.suffix}`;
  const [int, frac] = fixed.split('.');
  // "-0" / "−0.0" after rounding is just zero
  const shownSign = Number(fixed) === 0 ? '' : sign;
  return `${shownSign}${group(int!)}${frac ? `.${frac}` : ''}`;
}

function trim(s: string): string {
  return s.replace(/\.0$/, '');
}

/** Seconds as m:ss below an hour, h:mm:ss from an hour (what contact-center people read). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return NO_VALUE;
  const sign = seconds < 0 ? MINUS : '';
  const total = Math.round(Math.abs(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${String(m).padStart(2, '0')}:${ss}` : `${sign}${m}:${ss}`;
}

/** A KPI value as shown on a tile. */
export function formatValue(value: number | null | undefined, def: Formattable): Formatted {
  if (value === null || value === undefined || !Number.isFinite(value)) return { text: NO_VALUE, unit: '' };
  switch (def.unit) {
    case 'percent':
      return { text: formatNumber(value, def.decimals), unit: '%' };
    case 'seconds':
      // under a minute "45 s" reads better than "0:45" (rounded first: 59.6 s is "1:00", not "60 s")
      return Math.abs(Math.round(value)) < 60 ? { text: formatNumber(Math.round(value), 0), unit: 's' } : { text: formatDuration(value), unit: '' };
    case 'score':
    case 'count':
      return { text: formatNumber(value, def.decimals), unit: '' };
  }
}

/** A KPI's range as the catalog gives it (null: unbounded on that side). */
export interface Bounded extends Formattable {
  min: number | null;
  max: number | null;
}

/** How wide a shown value is, in characters of the big number: the unit, at half size after a small gap, counts 0.6 a character. */
export function shownWidth(f: Formatted): number {
  return [...f.text].length + (f.unit ? [...f.unit].length * 0.6 : 0);
}

/**
 * A number is reserved room up to 9,999: the contacts waiting and the agents in a state never come near, and a day's
 * volume that passes 10,000 shrinks once and then stays (it only grows until midnight). Reserving up to 99,999 (the
 * largest shown in full: from 100,000 a count is shortened, "100k") would draw every small count a third smaller.
 */
const LARGEST_RESERVED = 10_000;
/** m:ss up to 59:59; an hour or more (h:mm:ss) is wider, and rare enough on a tile to shrink for it. */
const LARGEST_MSS = 3599;

/**
 * The widest value a KPI can reasonably show, as formatValue shows it: what a tile reserves room for, so its number
 * keeps one size as the value moves ("999" and "1,000", "9.5 %" and "10.0 %" alike). From the catalog's range and the
 * formatter's bounded forms: a percent or score within its min and max ("100.0 %", "−100"); an unbounded count up to
 * "9,999", with a sign when it can be negative; seconds up to "59:59".
 */
export function widestValue(def: Bounded): Formatted {
  const limit = def.unit === 'seconds' ? LARGEST_MSS : LARGEST_RESERVED - 10 ** -def.decimals;
  const hi = def.max === null ? limit : Math.min(def.max, limit);
  const lo = def.min === null ? -limit : Math.max(def.min, -limit);
  // within the range shown in full, the widest value is at one end (a wider magnitude never has fewer characters)
  const [low, high] = [formatValue(lo, def), formatValue(hi, def)];
  return shownWidth(low) > shownWidth(high) ? low : high;
}

/** The sample size line: "n = 1,234". */
export function formatSample(n: number | null | undefined): string {
  return n === null || n === undefined ? `n = ${NO_VALUE}` : `n = ${formatNumber(n, 0)}`;
}

/** The clock formatters made so far, by zone and seconds (the clock and every chart axis ask every second). */
const clocks = new Map<string, Intl.DateTimeFormat>();

/** hh:mm in the given time zone (24 h), e.g. for "stale since 14:05" and the clock. */
export function formatClock(at: number | Date, timeZone?: string, seconds = false): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return '--:--';
  const key = `${timeZone ?? ''}|${seconds}`;
  let f = clocks.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' as const } : {}), hourCycle: 'h23' });
    clocks.set(key, f);
  }
  return f.format(d);
}

/** The calendar day of `t` in the time zone (to tell whether two times are on the same day there). */
function localDay(t: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).format(new Date(t));
}

/** "14:05", or "3 Mar 14:05" when `since` is on another day than `now` (in the zone): when something began. */
export function formatSince(since: number, now: number, timeZone?: string): string {
  const day = localDay(since, timeZone) === localDay(now, timeZone) ? '' : `${new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' }).format(new Date(since))} `;
  return `${day}${formatClock(since, timeZone)}`;
}

/** "closed · opens 08:00", or "closed · opens Mon 08:00" when that is not today: the TV header while CENTER_HOURS says closed. */
export function formatClosed(opensAt: number | null, now: number, timeZone?: string): string {
  if (opensAt === null) return 'closed';
  const weekday = localDay(opensAt, timeZone) === localDay(now, timeZone) ? '' : `${new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short' }).format(new Date(opensAt))} `;
  return `closed · opens ${weekday}${formatClock(opensAt, timeZone)}`;
}

/** "stale since 14:05" (or with the date when it is from another day). */
export function formatStaleSince(since: number | null, now: number, timeZone?: string): string {
  if (since === null) return 'no data yet';
  return `stale since ${formatSince(since, now, timeZone)}`;
}

/**
 * "no ACD events since 14:05": the sources that have gone quiet (their latest events were stored then), in one note
 * for the header (one each pushed the clock off a 1366-wide screen): "no ACD, IVR events since 23:20", since the
 * latest of their times (none of them has sent since then).
 */
export function formatQuietSources(quiet: ReadonlyArray<{ source: string; since: string }>, now: number, timeZone?: string): string {
  const times = quiet.map((q) => Date.parse(q.since));
  const latest = times.some(Number.isNaN) ? '?' : formatSince(Math.max(...times), now, timeZone);
  return `no ${quiet.map((q) => q.source.toUpperCase()).join(', ')} events since ${latest}`;
}

/** "14:05 (25 min ago)": a time and how long ago it was, with the date when it is from another day. */
export function formatAgo(at: number, now: number, timeZone?: string): string {
  const minutes = Math.max(0, Math.floor((now - at) / 60_000));
  const ago = minutes < 1 ? 'just now' : minutes < 60 ? `${minutes} min ago` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h ago` : `${Math.floor(minutes / 1440)} days ago`;
  return `${formatSince(at, now, timeZone)} (${ago})`;
}

/** When a display was last seen, for Console → Displays: "last seen 14:05 (25 min ago)", or "never connected". */
export function formatLastSeen(at: string | null, now: number, timeZone?: string): string {
  if (at === null) return 'never connected';
  const t = Date.parse(at);
  return Number.isNaN(t) ? 'last seen ?' : `last seen ${formatAgo(t, now, timeZone)}`;
}

/** Human label of a scope: "Center", "Queue billing", "Team north". */
export function scopeLabel(scope: string): string {
  if (scope === 'center') return 'Center';
  const i = scope.indexOf(':');
  const kind = scope.slice(0, i);
  return `${kind.charAt(0).toUpperCase()}${kind.slice(1)} ${scope.slice(i + 1)}`;
}

/** The period a figure covers: its window, or "now" for a live KPI (waiting, agents, staffing), which has none. */
export function windowLabel(window: string, kind?: 'windowed' | 'live'): string {
  if (kind === 'live') return 'now';
  return window === 'today' ? 'today' : window === '1h' ? 'last hour' : window === '15m' ? 'last 15 min' : window;
}

/** An audit entry's details, as "key: value" pairs: {"role_from":"viewer","role_to":"admin"} → "role_from: viewer, role_to: admin". */
export function formatAuditDetails(details: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    return details;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return details;
  return Object.entries(parsed as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}
