import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, parseScopes, ScopeError } from '../../server/kpi/scopes.ts';
import { lastMinutes, todayIntervals, windowRange } from '../../server/kpi/windows.ts';
import { startOfLocalDay } from '../../server/time-zone.ts';
import { nearestRank } from '../../server/kpi/compute.ts';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('KPI windows', () => {
  it('today starts at local midnight in the center\'s zone, not at UTC midnight', () => {
    // 2025-03-10 01:30 in Istanbul (UTC+3) is 2025-03-09 22:30 UTC: today began 2025-03-09 21:00 UTC.
    expect(iso(startOfLocalDay(t('2025-03-09T22:30:00Z'), 'Europe/Istanbul'))).toBe('2025-03-09T21:00:00.000Z');
    // One hour earlier it is still 2025-03-09 locally.
    expect(iso(startOfLocalDay(t('2025-03-09T20:30:00Z'), 'Europe/Istanbul'))).toBe('2025-03-08T21:00:00.000Z');
    expect(iso(startOfLocalDay(t('2025-03-09T22:30:00Z'), 'UTC'))).toBe('2025-03-09T00:00:00.000Z');
    // West of UTC: New York (UTC−5 in winter) at 03:00 UTC is still the previous local day.
    expect(iso(startOfLocalDay(t('2025-01-15T03:00:00Z'), 'America/New_York'))).toBe('2025-01-14T05:00:00.000Z');
  });

  it('follows DST: the day after a spring-forward starts at the new offset', () => {
    // Berlin switches to UTC+2 on 2025-03-30 at 02:00 local; that day began at 00:00 UTC+1 = 2025-03-29 23:00 UTC,
    // the next one at 00:00 UTC+2 = 2025-03-30 22:00 UTC.
    expect(iso(startOfLocalDay(t('2025-03-30T12:00:00Z'), 'Europe/Berlin'))).toBe('2025-03-29T23:00:00.000Z');
    expect(iso(startOfLocalDay(t('2025-03-31T12:00:00Z'), 'Europe/Berlin'))).toBe('2025-03-30T22:00:00.000Z');
  });

  it('where midnight does not exist (DST gap at 00:00) the day starts at the transition', () => {
    // America/Santiago springs forward on 2024-09-08 from 00:00 (UTC−4) to 01:00 (UTC−3): the day starts at
    // 01:00 local = 04:00 UTC.
    expect(iso(startOfLocalDay(t('2024-09-08T15:00:00Z'), 'America/Santiago'))).toBe('2024-09-08T04:00:00.000Z');
  });

  it('rolling windows are whole minutes ending with the current one', () => {
    const now = t('2025-03-10T09:37:30.500Z');
    expect(windowRange('1h', now, 'UTC')).toEqual({ start: t('2025-03-10T08:38:00Z'), end: t('2025-03-10T09:38:00Z') });
    expect(windowRange('15m', now, 'UTC')).toEqual({ start: t('2025-03-10T09:23:00Z'), end: t('2025-03-10T09:38:00Z') });
    expect(lastMinutes(30, now)).toEqual({ start: t('2025-03-10T09:08:00Z'), end: t('2025-03-10T09:38:00Z') });
    expect(windowRange('today', now, 'Asia/Kolkata').start).toBe(t('2025-03-09T18:30:00Z')); // UTC+5:30
  });

  it('splits today into quarter hours, the last one open', () => {
    const slices = todayIntervals(t('2025-03-10T00:20:00Z'), 'UTC');
    expect(slices.map((s) => [iso(s.start), iso(s.end)])).toEqual([
      ['2025-03-10T00:00:00.000Z', '2025-03-10T00:15:00.000Z'],
      ['2025-03-10T00:15:00.000Z', '2025-03-10T00:21:00.000Z'],
    ]);
  });
});

describe('KPI scopes', () => {
  it('parses center and kind:name, keeping names with colons and spaces', () => {
    expect(parseScope('center')).toEqual({ kind: 'center' });
    expect(parseScope('queue:billing')).toEqual({ kind: 'queue', name: 'billing' });
    expect(parseScope('agent:ext:42')).toEqual({ kind: 'agent', name: 'ext:42' });
    expect(formatScope(parseScope('team:Kırmızı Takım'))).toBe('team:Kırmızı Takım');
  });

  it('rejects unknown kinds, empty names and control characters', () => {
    for (const bad of ['region:emea', 'queue:', 'queue', '', 'team:a\nb', `queue:${'x'.repeat(129)}`]) {
      expect(() => parseScope(bad), bad).toThrow(ScopeError);
    }
  });

  it('de-duplicates a list and keeps its order', () => {
    expect(parseScopes(['queue:b', 'center', 'queue:b'])).toEqual(['queue:b', 'center']);
  });
});

describe('nearest-rank percentile', () => {
  it('takes the ⌈0.9·n⌉-th smallest value', () => {
    expect(nearestRank([], 90)).toBeNull();
    expect(nearestRank([7], 90)).toBe(7);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9); // ⌈9⌉ = 9th
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90)).toBe(10); // ⌈9.9⌉ = 10th
  });
});
