// What the nightly backup (server/backup-schedule.ts) takes and what it deletes, decided from the backups of one database
// (server/clickhouse/backup.ts, oldest first). Pure: the times are the backups' names' and the clock the job is given.
//
// - A chain is a full backup and the incremental ones that add to it, directly or through one another. Restoring any
//   of them needs every backup between it and its full one.
// - The first backup of each ISO week (Monday to Sunday on the center's clock) is full, and so is any backup when the
//   newest one's chain is broken (a base of it is gone): the others add to the newest. A chain thus spans a week.
// - After a backup, the chains older than the newest `keep` full backups go; never a backup that a kept one adds to.
import { localInstant, tzOffsetMs } from '../time-zone.ts';
import type { Backup } from './backup.ts';

const DAY_MS = 86_400_000;

/**
 * Whether the nightly backup's last time (`at` on `tz`'s clock, the latest one at or before `now`) passed with no
 * backup taken since: the machine was off then, or Nabız restarted across it (BullMQ then moves the run to the next
 * night). `newest`: when the newest backup was taken (null: none).
 */
export function missedNight(newest: number | null, now: number, at: { hour: number; minute: number }, tz: string): boolean {
  const localDay = Math.floor((now + tzOffsetMs(tz, now)) / DAY_MS) * DAY_MS;
  const slotOf = (day: number) => localInstant(day + (at.hour * 60 + at.minute) * 60_000, tz);
  const today = slotOf(localDay);
  const last = today <= now ? today : slotOf(localDay - DAY_MS);
  return newest === null || newest < last;
}

/** An unfinished backup (no description) older than this never finishes: its process is gone. */
export const UNFINISHED_AFTER_MS = DAY_MS;

/** The ISO week holding `t` on `tz`'s clock, as the number of its Monday (local days since 1970-01-01, a Thursday). */
function isoWeek(t: number, tz: string): number {
  const day = Math.floor((t + tzOffsetMs(tz, t)) / DAY_MS);
  return day - (((day + 3) % 7) + 7) % 7;
}

/** The full backup `b` adds to (itself for a full one), or null when a backup of its chain is missing. */
function chainRoot(byName: ReadonlyMap<string, Backup>, b: Backup): Backup | null {
  let at: Backup | undefined = b;
  for (let hops = 0; at && hops <= byName.size; hops++) {
    if (at.base === null) return at;
    at = byName.get(at.base);
  }
  return null;
}

/** Whether the next backup at `now` is full or incremental (adding to the newest). */
export function nextBackupKind(backups: readonly Backup[], now: number, tz: string): 'full' | 'incremental' {
  const newest = backups.at(-1);
  const root = newest ? chainRoot(new Map(backups.map((b) => [b.name, b])), newest) : null;
  if (!root) return 'full';
  return isoWeek(Date.parse(root.takenAt), tz) === isoWeek(now, tz) ? 'incremental' : 'full';
}

/**
 * The backups to delete so that the newest `keep` full backups remain with their chains: every backup taken before the
 * oldest of them, unless a remaining one adds to it (directly or through others). Newest first, so that an incremental
 * backup goes before its base.
 */
export function backupsToPrune(backups: readonly Backup[], keep: number): string[] {
  const fulls = backups.filter((b) => b.base === null);
  if (fulls.length <= keep) return [];
  const oldestKept = fulls.at(-keep)!.takenAt;
  const byName = new Map(backups.map((b) => [b.name, b]));
  const needed = new Set<string>();
  for (const kept of backups.filter((b) => b.takenAt >= oldestKept)) {
    for (let b: Backup | undefined = kept; b && !needed.has(b.name); b = b.base === null ? undefined : byName.get(b.base)) needed.add(b.name);
  }
  return backups.filter((b) => !needed.has(b.name)).map((b) => b.name).reverse();
}

/** The unfinished backups to delete at `now`: those started over UNFINISHED_AFTER_MS before it. */
export function unfinishedToDelete(unfinished: ReadonlyArray<{ name: string; startedAt: string }>, now: number): string[] {
  return unfinished.filter((u) => Date.parse(u.startedAt) < now - UNFINISHED_AFTER_MS).map((u) => u.name);
}
