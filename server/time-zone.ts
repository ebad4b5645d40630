// Time zones: the offset of a zone's clock at an instant, and the instant of a reading on it (DST gaps included). The
// center's day (CENTER_TZ), its opening hours, the nightly backup and the simulator's daily curve all count on these.

const MINUTE_MS = 60_000;

/** One formatter per zone (making one costs far more than using it: the rollup asks on every pass). */
const clocks = new Map<string, Intl.DateTimeFormat>();
function clockOf(tz: string): Intl.DateTimeFormat {
  let f = clocks.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    clocks.set(tz, f);
  }
  return f;
}

/** Offset (local − UTC, ms) of `tz` at instant `t`. */
export function tzOffsetMs(tz: string, t: number): number {
  const parts = clockOf(tz).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return local - (t - (((t % 1000) + 1000) % 1000));
}

/** The longest a clock change skips (a DST gap): where an instant is looked for past a reading that does not exist. */
const MAX_GAP_MS = 3 * 3_600_000;

/**
 * The instant whose reading on `tz`'s clock is `local` (a wall-clock time in "local ms" since the epoch); for a reading
 * a DST gap skips, the first instant after the gap.
 */
export function localInstant(local: number, tz: string): number {
  // Find t with t + offset(t) = local; two passes settle the offset, a third guards DST days.
  let t = local - tzOffsetMs(tz, local);
  for (let i = 0; i < 3; i++) t = local - tzOffsetMs(tz, t);
  // In a gap (the reading does not exist) t lands before it: the answer is the transition.
  if (t + tzOffsetMs(tz, t) < local) {
    let lo = t;
    let hi = t + MAX_GAP_MS;
    while (hi - lo > MINUTE_MS) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
      if (mid + tzOffsetMs(tz, mid) >= local) hi = mid;
      else lo = mid;
    }
    t = hi;
  }
  return t;
}

/** The instant local midnight began, in `tz`, on the local day containing `now` (the day's first instant after a DST gap). */
export function startOfLocalDay(now: number, tz: string): number {
  const localNow = now + tzOffsetMs(tz, now);
  return localInstant(Math.floor(localNow / 86_400_000) * 86_400_000, tz); // midnight as a wall-clock reading
}
