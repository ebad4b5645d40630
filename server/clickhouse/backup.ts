// Backups of the Nabız database with ClickHouse's own BACKUP and RESTORE, as directories under BACKUP_DIR (the
// embedded ClickHouse is started allowed to write there: spawn.ts). `npm run nabiz -- backup …` (scripts/nabiz.ts)
// drives these; docs/operations.md says when and how.
//
// - A backup is taken while Nabız runs: ClickHouse copies each table as of the moment it reaches it, copying
//   the parts: a full one is as large as the database on disk. An incremental one stores only the parts its base does
//   not have, and needs that base (and its bases) to be restored, where they were when it was taken (ClickHouse
//   records the path).
// - A restore happens with Nabız stopped. The current database is renamed aside, not dropped, so a restore that was
//   a mistake can be undone (restoreBackup). (Its views keep naming the database they were created in: while it is
//   aside, they read the restored one. Query its tables.) The tables derived from `events` (the fan-out and the measures) are
//   then emptied and rebuilt from the restored events: the tables of a backup are not copied in one instant, so the
//   copies of `events` and of its derivations can disagree by what was ingested while the backup ran.
// - A backup is named after its database and the time it was taken (backupName): the name, not the files' times (which a
//   copy changes), says when it was taken, to `backup list` and to the nightly schedule (server/backup-schedule.ts).
import type { ClickHouseClient } from '@clickhouse/client';
import { access, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export interface Backup {
  name: string;
  /** When it was taken (ISO): the time in its name (backupName); for a directory named otherwise, when it was written. */
  takenAt: string;
  /** The backup this one adds to, for an incremental one (by name); null for a full one. */
  base: string | null;
  /** Where the base was when this one was taken (ClickHouse records the path, and reads the base there to restore). */
  basePath: string | null;
}

/** A backup's directory name, as given on the command line: no path, nothing the shell or SQL would read. */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * A BACKUP or RESTORE answers only when it is done, and sends nothing meanwhile: a client for them waits this long
 * before it gives up (the engine goes on regardless).
 */
export const BACKUP_REQUEST_TIMEOUT_MS = 6 * 3_600_000;

/** ClickHouse writes a backup's description last: a directory without one is a backup being written, or one that never finished. */
const DESCRIPTION = '.backup';

export class BackupError extends Error {}

/** Bytes of a backup's own directory (an incremental one also needs its bases): every file's size, so only on demand. */
export async function backupBytes(dir: string, name: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path.join(dir, name), { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** The directories in `dir` (none when it does not exist). */
async function directories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every backup in `dir` (a directory with ClickHouse's `.backup` description), oldest first. */
export async function listBackups(dir: string): Promise<Backup[]> {
  const out: Backup[] = [];
  for (const name of await directories(dir)) {
    if (!NAME_RE.test(name)) continue;
    const description = path.join(dir, name, DESCRIPTION);
    let text: string;
    try {
      text = await readFile(description, 'utf8');
    } catch {
      continue; // not a backup, or one still being written
    }
    const base = /<base_backup>File\('(.*?)'\)<\/base_backup>/.exec(text)?.[1];
    out.push({
      name,
      takenAt: (nameTime(name) ?? (await stat(description)).mtime).toISOString(),
      base: base === undefined ? null : path.basename(base),
      basePath: base ?? null,
    });
  }
  return out.sort((a, b) => a.takenAt.localeCompare(b.takenAt) || a.name.localeCompare(b.name));
}

/**
 * The directories in `dir` named as backups of `database` (backupName) that hold no description: being written, or
 * left by a backup that never finished (the process or the machine died). Oldest first, with the time in the name.
 */
export async function listUnfinished(dir: string, database: string): Promise<Array<{ name: string; startedAt: string }>> {
  const out: Array<{ name: string; startedAt: string }> = [];
  for (const name of await directories(dir)) {
    const at = isBackupOf(database, name) ? nameTime(name) : null;
    if (at === null || (await exists(path.join(dir, name, DESCRIPTION)))) continue;
    out.push({ name, startedAt: at.toISOString() });
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** When the newest backup of `database` in `dir` was taken (ms), from the names alone (cheap enough for every scrape); null: none. */
export async function newestBackupTime(dir: string, database: string): Promise<number | null> {
  const names = (await directories(dir)).filter((n) => isBackupOf(database, n)).sort().reverse(); // same prefix: by time
  for (const name of names) {
    if (await exists(path.join(dir, name, DESCRIPTION))) return nameTime(name)!.getTime();
  }
  return null;
}

/**
 * Deletes a backup (or an unfinished one) from `dir`: its description first, so that a deletion cut short leaves an
 * unfinished backup (never listed, never a base), not a listed one with files missing.
 */
export async function deleteBackup(dir: string, name: string): Promise<void> {
  if (!NAME_RE.test(name)) throw new BackupError(`'${name}' is not a backup name`);
  await rm(path.join(dir, name, DESCRIPTION), { force: true });
  await rm(path.join(dir, name), { recursive: true, force: true });
}

/** The backups ClickHouse is writing right now, as it names them (`File('<dir>/<name>')`). */
export async function backupsInProgress(ch: ClickHouseClient): Promise<string[]> {
  const rs = await ch.query({ query: "SELECT name FROM system.backups WHERE status = 'CREATING_BACKUP'", format: 'JSONEachRow' });
  return (await rs.json<{ name: string }>()).map((r) => r.name);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/** `20261124-163000`: a time (UTC) in names, sortable. */
const stamp = (at: Date) => at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');

/** `nabiz-20261124-163000`: the database and the time. */
export const backupName = (database: string, at: Date) => `${database}-${stamp(at)}`;

/** Whether `name` is backupName's for `database` (a database name has no `-`, so no other database's matches). */
export const isBackupOf = (database: string, name: string) =>
  name.startsWith(`${database}-`) && /^-\d{8}-\d{6}$/.test(name.slice(database.length)) && nameTime(name) !== null;

/** The time in a name backupName made (`…-20261124-163000`), or null. */
function nameTime(name: string): Date | null {
  const m = /-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return stamp(at) === m[0].slice(1) ? at : null; // not 20261399-…
}

/**
 * Backs the database up into `dir`/<name>; `incremental`: only what the database's newest backup there does not hold. `database`
 * is the validated CLICKHOUSE_DATABASE (an identifier cannot be a query parameter).
 */
export async function createBackup(
  ch: ClickHouseClient,
  opts: { dir: string; database: string; incremental?: boolean; now?: Date },
): Promise<Backup> {
  const existing = await listBackups(opts.dir);
  // another database's backups may share the directory (the demo's): an incremental adds to its own database's newest
  const base = opts.incremental ? existing.filter((b) => isBackupOf(opts.database, b.name)).at(-1) : undefined;
  if (opts.incremental && !base) throw new BackupError(`no backup of ${opts.database} in ${opts.dir} to add to: take a full one first`);
  const name = backupName(opts.database, opts.now ?? new Date());
  if (existing.some((b) => b.name === name)) throw new BackupError(`a backup named ${name} exists already: wait a second`);
  await ch.command({
    query: `BACKUP DATABASE \`${opts.database}\` TO File({to:String})${base ? ' SETTINGS base_backup = File({base:String})' : ''}`,
    query_params: { to: path.join(opts.dir, name), ...(base ? { base: path.join(opts.dir, base.name) } : {}) },
  });
  const made = (await listBackups(opts.dir)).find((b) => b.name === name);
  if (!made) throw new BackupError(`ClickHouse reported the backup done, but ${path.join(opts.dir, name)} holds none`);
  return made;
}

/**
 * Restores `name` from `dir` as the database; the current one, if any, is renamed `<database>_before_restore_<time>`
 * (`keptAs`), its materialized views detached (`detachedViews`): a view's text names the tables of the database it
 * was made in, so once ClickHouse restarts a renamed database's views feed the restored one's (every event stored
 * twice). `ch` must not be bound to that database (it is renamed under it): e.g. a client of `system`. The caller then
 * upgrades the schema (migrations) and rebuilds what derives from events.
 */
export async function restoreBackup(
  ch: ClickHouseClient,
  opts: { dir: string; name: string; database: string; now?: Date },
): Promise<{ keptAs: string | null; detachedViews: string[] }> {
  if (!NAME_RE.test(opts.name)) throw new BackupError(`'${opts.name}' is not a backup name (see backup list)`);
  const byName = new Map((await listBackups(opts.dir)).map((b) => [b.name, b]));
  let b = byName.get(opts.name);
  if (!b) throw new BackupError(`no backup ${opts.name} in ${opts.dir} (see backup list)`);
  while (b.base !== null) {
    const base = byName.get(b.base);
    if (!base) throw new BackupError(`${b.name} adds to ${b.base}, which is not in ${opts.dir} any more`);
    // ClickHouse reads a base where it was when the backup was taken: backups copied to another directory restore
    // from the path they were taken in
    if (b.basePath !== path.join(opts.dir, b.base) && !(await exists(path.join(b.basePath!, DESCRIPTION)))) {
      throw new BackupError(
        `${b.name} adds to ${b.base} as it was in ${path.dirname(b.basePath!)}, where it is not any more: restore with BACKUP_DIR=${path.dirname(b.basePath!)} (move the backups there, or link that path to them)`,
      );
    }
    b = base;
  }
  const rs = await ch.query({ query: 'SELECT count() AS n FROM system.databases WHERE name = {db:String}', query_params: { db: opts.database }, format: 'JSONEachRow' });
  const present = Number((await rs.json<{ n: string | number }>())[0]?.n ?? 0) > 0;
  const at = opts.now ?? new Date();
  const keptAs = present ? `${opts.database}_before_restore_${stamp(at).replace('-', '_')}_${String(at.getUTCMilliseconds()).padStart(3, '0')}` : null;
  let detachedViews: string[] = [];
  if (keptAs) {
    await ch.command({ query: `RENAME DATABASE \`${opts.database}\` TO \`${keptAs}\`` });
    const views = await ch.query({
      query: "SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name",
      query_params: { db: keptAs },
      format: 'JSONEachRow',
    });
    detachedViews = (await views.json<{ name: string }>()).map((v) => v.name);
    for (const v of detachedViews) await ch.command({ query: `DETACH TABLE \`${keptAs}\`.\`${v}\` PERMANENTLY` });
  }
  try {
    await ch.command({ query: `RESTORE DATABASE \`${opts.database}\` FROM File({from:String})`, query_params: { from: path.join(opts.dir, opts.name) } });
  } catch (err) {
    // put things back as they were
    await ch.command({ query: `DROP DATABASE IF EXISTS \`${opts.database}\` SYNC` });
    if (keptAs) {
      await ch.command({ query: `RENAME DATABASE \`${keptAs}\` TO \`${opts.database}\`` });
      for (const v of detachedViews) await ch.command({ query: `ATTACH TABLE \`${opts.database}\`.\`${v}\`` });
    }
    throw err;
  }
  return { keptAs, detachedViews };
}
