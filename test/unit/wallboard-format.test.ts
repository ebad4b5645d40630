import { describe, expect, it } from 'vitest';
import { KPI_BY_KEY } from '../../server/kpi/catalog.ts';
import { formatAgo, formatAuditDetails, formatClock, formatClosed, formatDuration, formatLastSeen, formatNumber, formatQuietSources, formatSample, formatSince, formatStaleSince, formatValue, scopeLabel, shownWidth, widestValue, windowLabel } from '../../wallboard/src/lib/format.ts';

const def = (k: string) => KPI_BY_KEY.get(k as 'offered')!;

describe('wallboard formatting', () => {
  it('shows null, undefined, NaN and infinities as an em dash without a unit', () => {
    for (const v of [null, undefined, Number.NaN, Infinity]) expect(formatValue(v, def('service_level'))).toEqual({ text: '—', unit: '' });
  });

  it('formats percentages with the catalog decimals and a % unit', () => {
    expect(formatValue(87.456, def('service_level'))).toEqual({ text: '87.5', unit: '%' });
    expect(formatValue(100, def('abandon_rate'))).toEqual({ text: '100.0', unit: '%' });
    expect(formatValue(0, def('occupancy'))).toEqual({ text: '0.0', unit: '%' });
  });

  it('formats seconds as "45 s" under a minute, m:ss under an hour and h:mm:ss above', () => {
    expect(formatValue(44.6, def('asa'))).toEqual({ text: '45', unit: 's' });
    expect(formatValue(59.4, def('asa'))).toEqual({ text: '59', unit: 's' });
    expect(formatValue(59.6, def('asa'))).toEqual({ text: '1:00', unit: '' }); // not "60 s"
    expect(formatValue(-59.6, def('asa'))).toEqual({ text: '−1:00', unit: '' });
    expect(formatValue(185, def('aht'))).toEqual({ text: '3:05', unit: '' });
    expect(formatValue(3723, def('longest_wait'))).toEqual({ text: '1:02:03', unit: '' });
    expect(formatDuration(59.6)).toBe('1:00');
  });

  it('groups thousands and shortens large counts so a tile never overflows', () => {
    expect(formatValue(1234, def('offered')).text).toBe('1,234');
    expect(formatValue(99_999, def('offered')).text).toBe('99,999');
    expect(formatValue(123_456, def('offered')).text).toBe('123k');
    expect(formatValue(1_500_000, def('offered')).text).toBe('1.5M');
    expect(formatValue(25_000_000, def('offered')).text).toBe('25M');
    expect(formatValue(3_200_000_000, def('offered')).text).toBe('3.2B');
  });

  it('reserves a tile\'s number for the widest value its KPI shows: 100.0 %, −100, 9,999, 59:59', () => {
    expect(widestValue(def('service_level'))).toEqual({ text: '100.0', unit: '%' });
    expect(widestValue(def('nps'))).toEqual({ text: '−100', unit: '' });
    expect(widestValue(def('offered'))).toEqual({ text: '9,999', unit: '' });
    expect(widestValue(def('staffing_gap'))).toEqual({ text: '−9,999', unit: '' }); // no lower bound: a sign
    expect(widestValue(def('longest_wait'))).toEqual({ text: '59:59', unit: '' });
    // every value a KPI shows fits the reservation, but for a wait of an hour or more (h:mm:ss) and a count from 10,000
    // to 99,999 (from 100,000 a count is shortened: "100k", no wider than "9,999")
    const magnitudes = [0, 0.04, 5, 9.96, 59.6, 99.95, 100, 999, 1000, 3599, 99_999, 100_000, 999_999, 9_950_000, 99_999_999];
    for (const kpi of ['offered', 'waiting', 'service_level', 'abandon_rate', 'nps', 'ces', 'asa', 'staffing_gap']) {
      const d = def(kpi);
      const room = shownWidth(widestValue(d));
      const inRange = [...magnitudes, ...magnitudes.map((v) => -v)].filter((v) => (d.min === null || v >= d.min) && (d.max === null || v <= d.max));
      for (const v of inRange) {
        const width = shownWidth(formatValue(v, d));
        if (d.unit === 'count' && Math.abs(v) >= 10_000 && Math.abs(v) < 100_000) continue; // may be wider: shrinks once
        if (d.unit === 'seconds' && Math.abs(v) >= 3599.5) expect(width, `${kpi} ${v}`).toBeGreaterThan(room);
        else expect(width, `${kpi} ${v}`).toBeLessThanOrEqual(room);
      }
    }
  });

  it('picks the unit from the rounded value, so rounding never shows "1000k" or "100,000"', () => {
    expect(formatNumber(999_950)).toBe('1M');
    expect(formatNumber(999_500)).toBe('1M');
    expect(formatNumber(999_499)).toBe('999k');
    expect(formatNumber(999_999_999)).toBe('1B');
    expect(formatNumber(999_949_999)).toBe('1B'); // 999.9…M shown without decimals above 10M: "1000M"
    expect(formatNumber(99_999.6)).toBe('100k');
    expect(formatNumber(100_000)).toBe('100k');
    expect(formatNumber(99_999.96, 1)).toBe('100k');
    expect(formatNumber(99_999.94, 1)).toBe('99,999.9');
    expect(formatNumber(9_999_999)).toBe('10M');
    expect(formatNumber(-999_950)).toBe('−1M');
    expect(formatValue(999_999_999, def('offered')).text).toBe('1B');
  });

  it('uses a real minus sign for negatives and never shows "-0"', () => {
    expect(formatValue(-3, def('staffing_gap')).text).toBe('−3');
    expect(formatValue(-42, def('nps')).text).toBe('−42');
    expect(formatNumber(-0.04, 1)).toBe('0.0');
    expect(formatDuration(-75)).toBe('−1:15');
  });

  it('prints the sample size and scopes for people', () => {
    expect(formatSample(12_345)).toBe('n = 12,345');
    expect(formatSample(null)).toBe('n = —');
    expect(scopeLabel('center')).toBe('Center');
    expect(scopeLabel('queue:billing:vip')).toBe('Queue billing:vip');
  });

  it('names the period of a figure: its window, or "now" for a live KPI', () => {
    expect(windowLabel('15m', def('service_level').kind)).toBe('last 15 min');
    expect(windowLabel('1h', def('asa').kind)).toBe('last hour');
    expect(windowLabel('today', def('offered').kind)).toBe('today');
    // waiting contacts and required agents are not windowed, whatever window the tile was set up with
    expect(windowLabel('today', def('waiting').kind)).toBe('now');
    expect(windowLabel('15m', def('required_agents').kind)).toBe('now');
  });

  it('says since when values are stale, in the center time zone', () => {
    const at = Date.UTC(2025, 2, 3, 13, 5, 30);
    expect(formatClock(at, 'UTC')).toBe('13:05');
    expect(formatClock(at, 'Europe/Istanbul')).toBe('16:05');
    expect(formatStaleSince(at, at + 60_000, 'UTC')).toBe('stale since 13:05');
    expect(formatStaleSince(at, at + 2 * 86_400_000, 'UTC')).toBe('stale since 3 Mar 13:05');
    expect(formatStaleSince(null, at, 'UTC')).toBe('no data yet');
    // an alert's "since" (and its acknowledgement's time): the date only when it is not today's
    expect(formatSince(at, at + 60_000, 'UTC')).toBe('13:05');
    expect(formatSince(at, at + 86_400_000, 'UTC')).toBe('3 Mar 13:05');
    // another day is dated however close: 23:50 seen at 01:30 is yesterday; 10:00 seen at 23:30 is today
    const late = Date.UTC(2025, 2, 3, 23, 50);
    expect(formatStaleSince(late, late + 100 * 60_000, 'UTC')).toBe('stale since 3 Mar 23:50');
    expect(formatStaleSince(Date.UTC(2025, 2, 3, 10), Date.UTC(2025, 2, 3, 23, 30), 'UTC')).toBe('stale since 10:00');
    // ... on the center's calendar: 23:50 UTC is 02:50 the next day in Istanbul, the same day as 04:00 there
    expect(formatStaleSince(late, late + 70 * 60_000, 'Europe/Istanbul')).toBe('stale since 02:50');
  });

  it('says which source went quiet and since when, in the center time zone', () => {
    const now = Date.UTC(2025, 2, 3, 13, 30);
    expect(formatQuietSources([{ source: 'acd', since: '2025-03-03T13:05:00.000Z' }], now, 'Europe/Istanbul')).toBe('no ACD events since 16:05');
    expect(formatQuietSources([{ source: 'crm', since: '2025-03-02T09:00:00.000Z' }], now, 'UTC')).toBe('no CRM events since 2 Mar 09:00');
    // several in one note, since the latest of their times (none has sent since)
    const quiet = [{ source: 'acd', since: '2025-03-03T13:05:00.000Z' }, { source: 'ivr', since: '2025-03-03T13:20:00.000Z' }];
    expect(formatQuietSources(quiet, now, 'UTC')).toBe('no ACD, IVR events since 13:20');
  });

  it('says when a display was last seen, and how long ago', () => {
    const now = Date.UTC(2025, 2, 3, 13, 30);
    expect(formatLastSeen(null, now, 'UTC')).toBe('never connected');
    expect(formatLastSeen('2025-03-03T13:29:40.000Z', now, 'UTC')).toBe('last seen 13:29 (just now)'); // 20 s
    expect(formatLastSeen('2025-03-03T13:05:00.000Z', now, 'Europe/Istanbul')).toBe('last seen 16:05 (25 min ago)'); // 13:30 − 13:05
    expect(formatLastSeen('2025-03-03T08:00:00.000Z', now, 'UTC')).toBe('last seen 08:00 (5 h ago)'); // 5 h 30 min, whole hours
    expect(formatLastSeen('2025-02-27T13:30:00.000Z', now, 'UTC')).toBe('last seen 27 Feb 13:30 (4 days ago)'); // 96 h ≥ 48 h: days
    expect(formatAgo(Date.UTC(2025, 2, 2, 14, 0), now, 'UTC')).toBe('2 Mar 14:00 (23 h ago)'); // 23 h 30 min
  });

  it('shows an audit entry\'s details as key: value pairs, and anything else as it came', () => {
    expect(formatAuditDetails('{"username":"ayse","role_from":"viewer","role_to":"admin"}')).toBe('username: ayse, role_from: viewer, role_to: admin');
    expect(formatAuditDetails('{"password_changed":true,"boards":["main","north"]}')).toBe('password_changed: true, boards: ["main","north"]');
    expect(formatAuditDetails('{}')).toBe('');
    expect(formatAuditDetails('not json')).toBe('not json');
    expect(formatAuditDetails('[1,2]')).toBe('[1,2]');
    expect(formatAuditDetails('null')).toBe('null');
  });

  it('says when a closed center opens: the time today, the weekday and time another day', () => {
    const now = Date.parse('2026-11-23T19:00:00Z'); // Monday 22:00 in Istanbul
    expect(formatClosed(Date.parse('2026-11-23T20:30:00Z'), now, 'Europe/Istanbul')).toBe('closed · opens 23:30');
    expect(formatClosed(Date.parse('2026-11-24T05:00:00Z'), now, 'Europe/Istanbul')).toBe('closed · opens Tue 08:00');
    expect(formatClosed(null, now, 'Europe/Istanbul')).toBe('closed');
  });
});
