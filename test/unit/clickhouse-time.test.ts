// Times to and from ClickHouse's DateTime64(3, 'UTC') text (server/clickhouse/time.ts).
import { describe, expect, it } from 'vitest';
import { chIso, chMs, chTime, nextVersion } from '../../server/clickhouse/time.ts';

describe('ClickHouse times', () => {
  const t = Date.UTC(2026, 10, 23, 9, 15, 2, 250);

  it('writes a time as UTC text to the millisecond, and reads it back, whether ClickHouse gives text or ISO', () => {
    expect(chTime(t)).toBe('2026-11-23 09:15:02.250');
    expect(chTime(Date.UTC(2026, 0, 1))).toBe('2026-01-01 00:00:00.000');
    expect(chMs('2026-11-23 09:15:02.250')).toBe(t);
    expect(chMs('2026-11-23T09:15:02.250Z')).toBe(t);
    expect(chMs('2026-11-23T12:15:02.250+03:00')).toBe(t);
    expect(chIso('2026-11-23 09:15:02.250')).toBe('2026-11-23T09:15:02.250Z');
  });

  it('gives a version after the previous one even within its millisecond, or a clock behind it', () => {
    const later = chTime(Date.now() + 60_000); // a row written by a clock a minute ahead
    expect(nextVersion(later)).toBe(chMs(later) + 1);
    const before = Date.now();
    expect(nextVersion()).toBeGreaterThanOrEqual(before);
  });
});
