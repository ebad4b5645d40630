// The nightly backup's policy (server/clickhouse/backup-policy.ts): which backup comes next, and which old ones go.
// The disk and ClickHouse side, with a running schedule, is test/integration/backup-schedule.test.ts.
import { describe, expect, it } from 'vitest';
import { backupsToPrune, missedNight, nextBackupKind, unfinishedToDelete } from '../../server/clickhouse/backup-policy.ts';
import type { Backup } from '../../server/clickhouse/backup.ts';

const DAY = 86_400_000;
/** A backup taken at `at` (ISO), adding to `base`. */
const b = (name: string, at: string, base: string | null = null): Backup => ({ name, takenAt: new Date(at).toISOString(), base, basePath: base && `/backups/${base}` });

describe('a missed night (the catch-up at start)', () => {
  const at = { hour: 2, minute: 0 };
  const t = (iso: string) => Date.parse(iso);
  it('is one whose BACKUP_AT passed with no backup since: off that night, or restarted across it', () => {
    // last night's 02:00 ran; started at 10:00 (8 h later) or at 01:59 the next night (23:59 later): nothing missed
    expect(missedNight(t('2026-11-25T02:00:03Z'), t('2026-11-25T10:00:00Z'), at, 'UTC')).toBe(false);
    expect(missedNight(t('2026-11-25T02:00:03Z'), t('2026-11-26T01:59:00Z'), at, 'UTC')).toBe(false);
    // restarted at 02:01 across the 02:00 run: the newest is 24 h 1 min old (under the old 25 h rule): missed
    expect(missedNight(t('2026-11-24T02:00:03Z'), t('2026-11-25T02:01:00Z'), at, 'UTC')).toBe(true);
    // off last night: missed; none at all: missed
    expect(missedNight(t('2026-11-23T02:00:03Z'), t('2026-11-25T09:00:00Z'), at, 'UTC')).toBe(true);
    expect(missedNight(null, t('2026-11-25T09:00:00Z'), at, 'UTC')).toBe(true);
  });
  it('reads BACKUP_AT on the center\'s clock', () => {
    // Istanbul is UTC+3: its 02:00 is 23:00 UTC the day before. Started 2026-11-25 00:30 UTC (03:30 there): the 02:00
    // there was 23:00 UTC on the 24th; a backup at 22:00 UTC on the 24th (01:00 there) is from before it
    expect(missedNight(t('2026-11-24T23:00:05Z'), t('2026-11-25T00:30:00Z'), at, 'Europe/Istanbul')).toBe(false);
    expect(missedNight(t('2026-11-24T22:00:00Z'), t('2026-11-25T00:30:00Z'), at, 'Europe/Istanbul')).toBe(true);
  });
});

describe('the next backup', () => {
  // 2026-11-23 is a Monday
  const week = [b('f', '2026-11-23T02:00:00Z'), b('i1', '2026-11-24T02:00:00Z', 'f'), b('i2', '2026-11-25T02:00:00Z', 'i1')];

  it('is full when there is none, and incremental within the week of the newest full one', () => {
    expect(nextBackupKind([], Date.parse('2026-11-25T02:00:00Z'), 'UTC')).toBe('full');
    expect(nextBackupKind(week, Date.parse('2026-11-26T02:00:00Z'), 'UTC')).toBe('incremental');
    expect(nextBackupKind(week, Date.parse('2026-11-29T23:59:59Z'), 'UTC')).toBe('incremental'); // Sunday night
  });

  it('is full on the first backup of a new ISO week, on the center\'s clock', () => {
    expect(nextBackupKind(week, Date.parse('2026-11-30T02:00:00Z'), 'UTC')).toBe('full'); // Monday
    // Sunday 22:30 UTC is already Monday 01:30 in Istanbul (UTC+3)
    expect(nextBackupKind(week, Date.parse('2026-11-29T22:30:00Z'), 'Europe/Istanbul')).toBe('full');
    expect(nextBackupKind(week, Date.parse('2026-11-29T22:30:00Z'), 'UTC')).toBe('incremental');
    // and the same ISO week across a new year: Monday 2026-12-28 to Sunday 2027-01-03
    const yearEnd = [b('f', '2026-12-28T02:00:00Z')];
    expect(nextBackupKind(yearEnd, Date.parse('2027-01-02T02:00:00Z'), 'UTC')).toBe('incremental');
    expect(nextBackupKind(yearEnd, Date.parse('2027-01-04T02:00:00Z'), 'UTC')).toBe('full');
  });

  it('is full when the newest backup has no full one to add to (a base of its chain is gone)', () => {
    const broken = [b('f', '2026-11-23T02:00:00Z'), b('i2', '2026-11-25T02:00:00Z', 'i1')];
    expect(nextBackupKind(broken, Date.parse('2026-11-26T02:00:00Z'), 'UTC')).toBe('full');
  });
});

describe('pruning', () => {
  // three weekly chains: a full backup on Monday, incremental ones after it
  const chains = [
    b('f1', '2026-11-09T02:00:00Z'), b('f1i1', '2026-11-10T02:00:00Z', 'f1'), b('f1i2', '2026-11-11T02:00:00Z', 'f1i1'),
    b('f2', '2026-11-16T02:00:00Z'), b('f2i1', '2026-11-17T02:00:00Z', 'f2'),
    b('f3', '2026-11-23T02:00:00Z'), b('f3i1', '2026-11-24T02:00:00Z', 'f3'),
  ];

  it('deletes whole chains older than the newest BACKUP_KEEP full backups, incremental ones before their bases', () => {
    expect(backupsToPrune(chains, 2)).toEqual(['f1i2', 'f1i1', 'f1']);
    expect(backupsToPrune(chains, 1)).toEqual(['f2i1', 'f2', 'f1i2', 'f1i1', 'f1']);
    expect(backupsToPrune(chains, 3)).toEqual([]);
    expect(backupsToPrune(chains, 4)).toEqual([]);
  });

  it('never deletes a backup that a kept one adds to, directly or through others', () => {
    // taken after f2 (by hand), yet adding to the first chain: that chain stays whole up to it
    const late = [...chains, b('late', '2026-11-18T12:00:00Z', 'f1i1')].sort((x, y) => x.takenAt.localeCompare(y.takenAt));
    expect(backupsToPrune(late, 2)).toEqual(['f1i2']);
  });

  it('deletes unfinished backups only once they are over a day old', () => {
    const now = Date.parse('2026-11-25T02:00:00Z');
    const unfinished = [
      { name: 'old', startedAt: new Date(now - DAY - 1000).toISOString() },
      { name: 'recent', startedAt: new Date(now - DAY + 60_000).toISOString() },
    ];
    expect(unfinishedToDelete(unfinished, now)).toEqual(['old']);
  });
});
