import { describe, expect, it } from 'vitest';
import { ALWAYS_OPEN, centerOpen, nextOpening, parseCenterHours, parseClosedDates, type CenterHours } from '../../server/center-hours.ts';
import { quietSources } from '../../server/ingest/activity.ts';

const at = (iso: string) => Date.parse(iso);
const weekly = (text: string, closed = ''): CenterHours => ({ periods: parseCenterHours(text), closedDates: closed ? parseClosedDates(closed) : new Set() });

describe('CENTER_HOURS', () => {
  it('reads days, ranges of days, daily, several entries, and a period past midnight as two', () => {
    expect(parseCenterHours('mon-fri 08:00-20:00, sat 09:00-14:00')).toEqual([
      ...[0, 1, 2, 3, 4].map((day) => ({ day, from: 480, to: 1200 })),
      { day: 5, from: 540, to: 840 },
    ]);
    expect(parseCenterHours('daily 07:00-23:30')).toHaveLength(7);
    expect(parseCenterHours('SAT-MON 10:00-24:00')).toEqual([5, 6, 0].map((day) => ({ day, from: 600, to: 1440 })));
    // Sunday 22:00 to Monday 06:00
    expect(parseCenterHours('sun 22:00-06:00')).toEqual([{ day: 6, from: 1320, to: 1440 }, { day: 0, from: 0, to: 360 }]);
    expect(parseCenterHours('fri 20:00-00:00')).toEqual([{ day: 4, from: 1200, to: 1440 }]);
  });

  it('refuses what it cannot read, saying which entry and why', () => {
    expect(() => parseCenterHours('mon 8-20')).toThrow('"mon 8-20": 8 is not a time (00:00 to 24:00)');
    expect(() => parseCenterHours('weekdays 08:00-20:00')).toThrow('"weekdays 08:00-20:00": weekdays is not a day');
    expect(() => parseCenterHours('mon 08:00-25:00')).toThrow('25:00 is not a time');
    expect(() => parseCenterHours('mon 08:60-10:00')).toThrow('08:60 is not a time');
    expect(() => parseCenterHours('mon 10:00-10:00')).toThrow('the period is empty');
    expect(() => parseCenterHours('mon 08:00-20:00,')).toThrow('an entry is empty');
    expect(() => parseCenterHours('08:00-20:00')).toThrow('is not "<days> <HH:MM>-<HH:MM>"');
  });

  it('says whether the center is open, and since when, on its own clock', () => {
    const hours = weekly('mon-fri 08:00-20:00, sat 09:00-14:00');
    const tz = 'Europe/Istanbul'; // UTC+3 all year
    // Monday 2026-11-23: 07:59 local (04:59Z) closed; 08:00 local opens (05:00Z)
    expect(centerOpen(hours, at('2026-11-23T04:59:59.999Z'), tz).open).toBe(false);
    expect(centerOpen(hours, at('2026-11-23T05:00:00Z'), tz)).toEqual({ open: true, since: at('2026-11-23T05:00:00Z') });
    expect(centerOpen(hours, at('2026-11-23T16:59:59Z'), tz)).toEqual({ open: true, since: at('2026-11-23T05:00:00Z') });
    expect(centerOpen(hours, at('2026-11-23T17:00:00Z'), tz).open).toBe(false); // 20:00 local
    // Saturday 2026-11-28 10:00 local: open since 09:00 local; Sunday closed all day
    expect(centerOpen(hours, at('2026-11-28T07:00:00Z'), tz)).toEqual({ open: true, since: at('2026-11-28T06:00:00Z') });
    expect(centerOpen(hours, at('2026-11-29T09:00:00Z'), tz).open).toBe(false);
    expect(centerOpen(null, at('2026-11-29T09:00:00Z'), tz)).toBe(ALWAYS_OPEN);
  });

  it('follows an open stretch back across midnight, and through a change of daylight saving time', () => {
    const night = weekly('mon-fri 22:00-06:00');
    // Tuesday 2026-11-24 03:00 UTC: open since Monday 22:00
    expect(centerOpen(night, at('2026-11-24T03:00:00Z'), 'UTC')).toEqual({ open: true, since: at('2026-11-23T22:00:00Z') });
    expect(centerOpen(night, at('2026-11-24T06:00:00Z'), 'UTC').open).toBe(false);
    expect(centerOpen(weekly('daily 00:00-24:00'), at('2026-11-24T03:00:00Z'), 'UTC')).toBe(ALWAYS_OPEN);
    // Berlin moves its clocks from 02:00 to 03:00 on Sunday 2026-03-29: 08:00 local is 06:00Z (UTC+2), not 07:00Z
    const daily = weekly('daily 08:00-20:00');
    expect(centerOpen(daily, at('2026-03-29T07:00:00Z'), 'Europe/Berlin')).toEqual({ open: true, since: at('2026-03-29T06:00:00Z') });
    expect(centerOpen(daily, at('2026-03-28T07:30:00Z'), 'Europe/Berlin')).toEqual({ open: true, since: at('2026-03-28T07:00:00Z') }); // the day before: UTC+1
  });

  it('a source is never quiet while the center is closed, and its quiet time counts from the opening', () => {
    const quiet15 = { acd: 15 * 60_000 };
    const last = new Map([['acd', at('2026-11-23T19:50:00Z')]]); // the ACD's last event, 10 min before closing at 20:00
    const hours = weekly('daily 08:00-20:00');
    const check = (now: string) => quietSources(last, at(now), quiet15, centerOpen(hours, at(now), 'UTC')).map((q) => q.source);
    expect(check('2026-11-23T19:59:00Z')).toEqual([]); // 9 min: not yet
    expect(check('2026-11-23T20:10:00Z')).toEqual([]); // 20 min, but closed
    expect(check('2026-11-24T08:14:59Z')).toEqual([]); // open for 14:59 only
    expect(check('2026-11-24T08:15:00Z')).toEqual(['acd']); // 15 min after opening
    // without hours, the same source is quiet 15 minutes after its last event, day or night
    expect(quietSources(last, at('2026-11-23T20:05:00Z'), quiet15).map((q) => q.source)).toEqual(['acd']);
  });

  it('says when the center next opens: later today, another day, never past the end of a stretch', () => {
    const hours = weekly('mon-fri 08:00-20:00, sat 09:00-14:00');
    const tz = 'Europe/Istanbul';
    expect(nextOpening(hours, at('2026-11-23T04:00:00Z'), tz)).toBe(at('2026-11-23T05:00:00Z')); // Mon 07:00 → 08:00
    expect(nextOpening(hours, at('2026-11-23T18:00:00Z'), tz)).toBe(at('2026-11-24T05:00:00Z')); // Mon 21:00 → Tue 08:00
    expect(nextOpening(hours, at('2026-11-28T12:00:00Z'), tz)).toBe(at('2026-11-30T05:00:00Z')); // Sat 15:00 → Mon 08:00
    // a week ahead when the only period of the week has just begun
    expect(nextOpening(weekly('wed 10:00-11:00'), at('2026-11-25T10:30:00Z'), 'UTC')).toBe(at('2026-12-02T10:00:00Z'));
    // Monday 00:00 continues Sunday's 22:00 stretch: not an opening
    expect(nextOpening(weekly('sun 22:00-06:00'), at('2026-11-29T12:00:00Z'), 'UTC')).toBe(at('2026-11-29T22:00:00Z'));
    expect(nextOpening(null, at('2026-11-29T12:00:00Z'), 'UTC')).toBeNull();
  });

  it('is closed all day on CENTER_CLOSED_DATES, and opens again the day after', () => {
    const hours = weekly('mon-fri 08:00-20:00', '2026-12-25, 2026-12-24');
    // Thursday 2026-12-24 and Friday 12-25 closed: at Wednesday 21:00 it next opens Monday 12-28 08:00
    expect(centerOpen(hours, at('2026-12-24T10:00:00Z'), 'UTC').open).toBe(false);
    expect(nextOpening(hours, at('2026-12-23T21:00:00Z'), 'UTC')).toBe(at('2026-12-28T08:00:00Z'));
    expect(centerOpen(hours, at('2026-12-28T09:00:00Z'), 'UTC')).toEqual({ open: true, since: at('2026-12-28T08:00:00Z') });
    // round the clock but for a holiday: open again from its end, not "always"
    const always = weekly('daily 00:00-24:00', '2026-12-25');
    expect(centerOpen(always, at('2026-12-25T12:00:00Z'), 'UTC').open).toBe(false);
    expect(centerOpen(always, at('2026-12-27T12:00:00Z'), 'UTC')).toEqual({ open: true, since: at('2026-12-26T00:00:00Z') });
    expect(() => parseClosedDates('2026-02-30')).toThrow('"2026-02-30" is not a date (YYYY-MM-DD)');
    expect(() => parseClosedDates('25.12.2026')).toThrow('is not a date');
  });
});
