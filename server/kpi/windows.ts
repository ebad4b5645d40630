// Window bounds. Every window is a half-open range of whole minutes [start, end) ending with the current minute, so
// the minute rollups cover it exactly and an analyst can reproduce it in SQL:
//   today  [local midnight in CENTER_TZ, end)           toStartOfDay(now, tz) … toStartOfMinute(now) + 1 minute
//   1h     [end − 60 min, end)                          the current minute and the 59 before it
//   15m    [end − 15 min, end)
// where end = the start of the current minute + 1 minute. `now` is always passed in (tests control the clock).
import { startOfLocalDay } from '../time-zone.ts';

export const WINDOWS = ['today', '1h', '15m'] as const;
export type WindowName = (typeof WINDOWS)[number];

export const MINUTE_MS = 60_000;
export const INTERVAL_MS = 15 * MINUTE_MS;

export interface Range {
  /** Inclusive start, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
}

export interface Slice extends Range {
  label: string;
}

export function floorMinute(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

/** Bounds of a window at `now`. */
export function windowRange(window: WindowName, now: number, tz: string): Range {
  const end = floorMinute(now) + MINUTE_MS;
  switch (window) {
    case 'today':
      return { start: startOfLocalDay(now, tz), end };
    case '1h':
      return { start: end - 60 * MINUTE_MS, end };
    case '15m':
      return { start: end - 15 * MINUTE_MS, end };
  }
}

/** The last `minutes` whole minutes, including the current one (Erlang C's "last 30 minutes"). */
export function lastMinutes(minutes: number, now: number): Range {
  const end = floorMinute(now) + MINUTE_MS;
  return { start: end - minutes * MINUTE_MS, end };
}

/**
 * How long `lastMinutes(minutes, now)` has run at `now`, in seconds: its whole minutes and the part of the current one
 * (29 min 30 s of "the last 30 minutes" at hh:mm:30). Erlang C's arrival rate is its offers over this, not over the
 * full 30 minutes, which read up to 3.3 % low just after each minute began.
 */
export function elapsedSeconds(minutes: number, now: number): number {
  return (now - lastMinutes(minutes, now).start) / 1000;
}

/** Erlang C's arrivals are counted over the last 30 minutes… */
const ERLANG_MINUTES = 30;
/** …cut at the center's opening when it opened since, but never to fewer than 5 (a minute's few calls are noise). */
const ERLANG_MIN_MINUTES = 5;

/**
 * The span Erlang C's arrival rate is taken over at `now`: the last 30 minutes, or, when the center opened (CENTER_HOURS)
 * less than 30 minutes ago, from the minute it opened (at least the last 5 minutes). A trailing 30 minutes at 08:05,
 * after a closed night, held 5 busy minutes and 25 empty ones: λ six times too low, and "required agents" with it.
 * `openSince`: when the open stretch `now` is in began (-Infinity: open round the clock, or closed).
 */
export function erlangRange(now: number, openSince: number): Range {
  const last = lastMinutes(ERLANG_MINUTES, now);
  const opened = Math.floor(openSince / MINUTE_MS) * MINUTE_MS;
  return { start: Math.max(last.start, Math.min(opened, last.end - ERLANG_MIN_MINUTES * MINUTE_MS)), end: last.end };
}

/** Today's 15-minute intervals up to the current one (the last one is still open and ends at the window end). */
export function todayIntervals(now: number, tz: string): Slice[] {
  const { start, end } = windowRange('today', now, tz);
  const out: Slice[] = [];
  // Intervals are aligned to quarter hours of UTC, which are the local quarter hours in every zone whose offset is a
  // multiple of 15 minutes (all current IANA zones); the first one starts at local midnight.
  for (let s = start; s < end; s = Math.floor(s / INTERVAL_MS) * INTERVAL_MS + INTERVAL_MS) {
    const e = Math.min(Math.floor(s / INTERVAL_MS) * INTERVAL_MS + INTERVAL_MS, end);
    out.push({ label: new Date(s).toISOString(), start: s, end: e });
  }
  return out;
}
