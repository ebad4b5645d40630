// The center's opening hours (CENTER_HOURS, on CENTER_TZ's clock) and the days it is closed (CENTER_CLOSED_DATES:
// holidays). While the center is closed no alert is raised and the open ones clear (nobody is there to act), and no
// source counts as quiet (an ACD silent overnight is normal); once it opens, a source's quiet time counts from the
// opening. Both unset: always open.
//
//   CENTER_HOURS="mon-fri 08:00-20:00, sat 09:00-14:00"      several entries, comma-separated
//   CENTER_HOURS="daily 07:00-23:00"                          every day
//   CENTER_HOURS="mon-fri 22:00-06:00"                        past midnight: each night until 06:00 the next morning
import { localInstant, tzOffsetMs } from './time-zone.ts';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** One open period of a weekday (0 = Monday), in minutes of the local day: from ≤ t < to (to up to 1440). */
export interface OpenPeriod {
  day: number;
  from: number;
  to: number;
}

/** The opening hours: the weekly periods, and local dates (YYYY-MM-DD) closed all day whatever the periods say. */
export interface CenterHours {
  periods: readonly OpenPeriod[];
  closedDates: ReadonlySet<string>;
}

/** Whether the center is open at an instant and, if so, since when (epoch ms; -Infinity when it never closes). */
export interface OpenState {
  open: boolean;
  since: number;
}

export const ALWAYS_OPEN: OpenState = { open: true, since: Number.NEGATIVE_INFINITY };

function minutes(text: string, entry: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  const value = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || Number(m[2]) > 59 || value > 1440) throw new Error(`"${entry}": ${text} is not a time (00:00 to 24:00)`);
  return value;
}

function day(name: string, entry: string): number {
  const i = DAYS.indexOf(name as (typeof DAYS)[number]);
  if (i < 0) throw new Error(`"${entry}": ${name} is not a day (mon, tue, wed, thu, fri, sat, sun, or daily)`);
  return i;
}

/** Parses CENTER_HOURS (see the header) into open periods, a period past midnight split in two. */
export function parseCenterHours(text: string): OpenPeriod[] {
  const periods: OpenPeriod[] = [];
  for (const entry of text.split(',').map((e) => e.trim().toLowerCase())) {
    if (entry === '') throw new Error('an entry is empty (two commas, or one at an end)');
    const m = /^([a-z]+)(?:-([a-z]+))?\s+(\S+)-(\S+)$/.exec(entry);
    if (!m) throw new Error(`"${entry}" is not "<days> <HH:MM>-<HH:MM>", e.g. "mon-fri 08:00-20:00"`);
    const [, first, last, fromText, toText] = m;
    const days: number[] = [];
    if (first === 'daily' && last === undefined) days.push(0, 1, 2, 3, 4, 5, 6);
    else {
      const a = day(first!, entry);
      const b = last === undefined ? a : day(last, entry);
      for (let d = a; ; d = (d + 1) % 7) {
        days.push(d);
        if (d === b) break;
      }
    }
    const from = minutes(fromText!, entry);
    const to = minutes(toText!, entry);
    if (from === to || from === 1440) throw new Error(`"${entry}": the period is empty`);
    for (const d of days) {
      if (from < to) periods.push({ day: d, from, to });
      else {
        periods.push({ day: d, from, to: 1440 });
        if (to > 0) periods.push({ day: (d + 1) % 7, from: 0, to });
      }
    }
  }
  return periods;
}

/** Parses CENTER_CLOSED_DATES: `2026-12-25, 2027-01-01` (local dates, each a real day). */
export function parseClosedDates(text: string): Set<string> {
  const dates = new Set<string>();
  for (const entry of text.split(',').map((e) => e.trim())) {
    const t = Date.parse(`${entry}T00:00:00Z`);
    const valid = /^\d{4}-\d{2}-\d{2}$/.test(entry) && !Number.isNaN(t) && new Date(t).toISOString().startsWith(entry);
    if (!valid) throw new Error(`"${entry}" is not a date (YYYY-MM-DD)`);
    dates.add(entry);
  }
  return dates;
}

/** The date (YYYY-MM-DD) of a local day, numbered in days since 1970-01-01. */
const dateOf = (localDay: number) => new Date(localDay * DAY_MS).toISOString().slice(0, 10);

/**
 * Whether the center is open at `now`, and since when: the start of the open stretch `now` is in, across midnight
 * when one day's last period runs to 24:00 and the next day's first starts at 00:00. `null` hours: always open.
 */
export function centerOpen(hours: CenterHours | null, now: number, tz: string): OpenState {
  if (hours === null) return ALWAYS_OPEN;
  const { periods, closedDates } = hours;
  const local = now + tzOffsetMs(tz, now);
  let dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  let weekday = (Math.floor(local / DAY_MS) + 3) % 7; // 1970-01-01 was a Thursday
  const minute = Math.floor((local - dayStart) / MINUTE_MS);
  let period = closedDates.has(dateOf(dayStart / DAY_MS)) ? undefined : periods.find((p) => p.day === weekday && p.from <= minute && minute < p.to);
  if (!period) return { open: false, since: Number.NaN };
  for (let back = 0; back < 7 && period.from === 0; back++) {
    const previous = (weekday + 6) % 7;
    const before = closedDates.has(dateOf(dayStart / DAY_MS - 1)) ? undefined : periods.find((p) => p.day === previous && p.to === 1440);
    if (!before) break;
    period = before;
    weekday = previous;
    dayStart -= DAY_MS;
    if (back === 6) return ALWAYS_OPEN; // open round the clock every day
  }
  return { open: true, since: localInstant(dayStart + period.from * MINUTE_MS, tz) };
}

/**
 * When the center next opens after `now` (epoch ms): the next period start that does not continue an open stretch
 * (a 00:00 after a 24:00). Null without hours.
 */
export function nextOpening(hours: CenterHours | null, now: number, tz: string): number | null {
  if (hours === null || hours.periods.length === 0) return null;
  const local = now + tzOffsetMs(tz, now);
  const today = Math.floor(local / DAY_MS);
  const minute = Math.floor((local - today * DAY_MS) / MINUTE_MS);
  for (let d = 0; d <= 7 + hours.closedDates.size; d++) {
    if (hours.closedDates.has(dateOf(today + d))) continue;
    const weekday = (today + d + 3) % 7;
    const starts = hours.periods.filter((p) => p.day === weekday && (d > 0 || p.from > minute)).map((p) => p.from).sort((a, b) => a - b);
    for (const from of starts) {
      const t = localInstant((today + d) * DAY_MS + from * MINUTE_MS, tz);
      if (!centerOpen(hours, t - 1, tz).open) return t;
    }
  }
  return null;
}
