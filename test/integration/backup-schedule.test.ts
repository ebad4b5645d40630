// The nightly backup (server/backup-schedule.ts) on an embedded ClickHouse of its own, started as the all-in-one starts
// it (allowed to write under BACKUP_DIR), and the shared redis-server, with a clock the test moves night by night: which
// backup each night takes, what the prune deletes and keeps, what a failure leaves, what the metrics say, and the job
// scheduler as BullMQ holds it. The restore of a nightly incremental backup is in backup.test.ts.
import type { ClickHouseClient } from '@clickhouse/client';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { BACKUP_QUEUE_NAME, BACKUP_SCHEDULER_ID, CATCH_UP_DELAY_MS, CATCH_UP_JOB_ID, runNightlyBackup, startBackupSchedule } from '../../server/backup-schedule.ts';
import { backupName, backupsInProgress, listBackups } from '../../server/clickhouse/backup.ts';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { spawnEmbeddedClickHouse, type EmbeddedClickHouseProcess } from '../../server/clickhouse/embedded/spawn.ts';
import { migrate } from '../../server/clickhouse/migrate.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, uniqueName } from '../support/context.ts';
import { waitFor } from '../support/wait.ts';

const DB = 'bs';
const TZ = 'Europe/Istanbul'; // UTC+3: 02:00 there is 23:00 UTC the day before
const HOUR = 3_600_000;
let root: string;
let engine: EmbeddedClickHouseProcess;
let ch: ClickHouseClient;
let redis: Redis;
const target = () => ({ url: engine.url, database: DB, username: 'default', password: '' });

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nabiz-backup-schedule-'));
  // each test backs up into a directory of its own under the one the engine may write to
  engine = await spawnEmbeddedClickHouse({ dataDir: path.join(root, 'clickhouse'), backupDir: path.join(root, 'backups') });
  await migrate(target());
  ch = createClickHouse(target(), { log: capturedLog('warn').log }); // the failures below are expected
  redis = createRedis(inject('redisUrl'), 'commands');
  await ch.insert({ table: 'rejected_events', values: [{ received_at: '2026-11-09 12:00:00.000', request_id: 'r', source: 'acd', key_name: 'k', item_index: 0, event_id: '', reasons: ['/x: bad'], raw: '{}' }], format: 'JSONEachRow' });
}, 60_000);

afterAll(async () => {
  await ch?.close();
  redis?.disconnect();
  await engine?.stop();
  await rm(root, { recursive: true, force: true });
});

/** The configuration of an all-in-one (embedded ClickHouse) backing up into backups/<name>. */
function configFor(name: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    BACKUP_DIR: path.join(root, 'backups', name),
    CLICKHOUSE_DATABASE: DB,
    CENTER_TZ: TZ,
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: uniqueName('bs'),
    LOG_LEVEL: 'info',
    ...env,
  });
}

/** 02:00 on the center's clock on a (local) date. */
const night = (date: string) => Date.parse(`${date}T02:00:00+03:00`);

/** The backups in the directory: name → the backup it adds to ('full' for none). */
async function onDisk(config: Config): Promise<Record<string, string>> {
  return Object.fromEntries((await listBackups(config.backupDir)).map((b) => [b.name, b.base ?? 'full']));
}

const nameAt = (date: string) => backupName(DB, new Date(night(date)));

describe('the nightly backup', () => {
  it('is full first, then incremental each night, full again on the first night of an ISO week (center time); BACKUP_KEEP chains stay', async () => {
    const config = configFor('weeks', { BACKUP_KEEP: '2' });
    const { log } = capturedLog();
    const run = (date: string) => runNightlyBackup({ clickhouse: ch, redis, config, log, now: night(date) });
    const tue = await run('2026-11-10');
    // another database's backup in the same directory (the demo's, say), newer: never added to, never pruned
    const other = backupName('other', new Date(night('2026-11-10') + HOUR));
    await ch.command({ query: `BACKUP DATABASE ${DB} TO File({to:String})`, query_params: { to: path.join(config.backupDir, other) } });
    const [wed, thu] = [await run('2026-11-11'), await run('2026-11-12')];
    expect([tue.made.base, wed.made.base, thu.made.base]).toEqual([null, tue.made.name, wed.made.name]);
    // Monday 02:00 in Istanbul is still Sunday in UTC: a new ISO week on the center's clock only
    const mon = await run('2026-11-16');
    expect(mon.made.base).toBeNull();
    const tue2 = await run('2026-11-17');
    expect(tue2.made.base).toBe(mon.made.name);
    expect([tue.pruned, wed.pruned, thu.pruned, mon.pruned, tue2.pruned]).toEqual([[], [], [], [], []]); // two chains: both kept
    expect(await onDisk(config)).toEqual({
      [nameAt('2026-11-10')]: 'full',
      [other]: 'full',
      [nameAt('2026-11-11')]: nameAt('2026-11-10'),
      [nameAt('2026-11-12')]: nameAt('2026-11-11'),
      [nameAt('2026-11-16')]: 'full',
      [nameAt('2026-11-17')]: nameAt('2026-11-16'),
    });

    // a third full backup: the oldest chain goes whole, incremental ones first; the second stays with every base
    const mon2 = await run('2026-11-23');
    expect(mon2.made.base).toBeNull();
    expect(mon2.pruned).toEqual([nameAt('2026-11-12'), nameAt('2026-11-11'), nameAt('2026-11-10')]);
    expect(await onDisk(config)).toEqual({
      [other]: 'full',
      [nameAt('2026-11-16')]: 'full',
      [nameAt('2026-11-17')]: nameAt('2026-11-16'),
      [nameAt('2026-11-23')]: 'full',
    });
    expect(await readdir(config.backupDir)).toHaveLength(4); // nothing of the pruned ones left behind
  });

  it('deletes an unfinished backup once it is over a day old, and leaves a recent one and other names alone', async () => {
    const config = configFor('unfinished');
    const now = night('2026-11-24');
    const leftover = async (name: string) => {
      await mkdir(path.join(config.backupDir, name, 'data'), { recursive: true });
      await writeFile(path.join(config.backupDir, name, 'data', 'part.bin'), 'x');
    };
    const old = backupName(DB, new Date(now - 25 * HOUR)); // a backup cut short the night before
    const recent = backupName(DB, new Date(now - 23 * HOUR));
    const other = backupName('other', new Date(now - 48 * HOUR)); // another database's
    for (const name of [old, recent, other, 'copied-by-hand']) await leftover(name);
    const { log } = capturedLog();
    const done = await runNightlyBackup({ clickhouse: ch, redis, config, log, now });
    expect(done.pruned).toEqual([old]);
    expect((await readdir(config.backupDir)).sort()).toEqual(['copied-by-hand', done.made.name, other, recent].sort());
  });

  it('prunes nothing while a backup is being written (its directory looks unfinished), and catches up the next night', async () => {
    const config = configFor('writing', { BACKUP_KEEP: '2' });
    const { log, lines } = capturedLog();
    const run = (date: string, c: Config = config) => runNightlyBackup({ clickhouse: ch, redis, config: c, log, now: night(date) });
    await run('2026-11-02');
    await run('2026-11-09');
    // a backup taken by hand two days ago is still being written: ClickHouse blocks on a file of it (a FIFO) until the
    // test reads it
    const manual = path.join(config.backupDir, nameAt('2026-11-14'));
    const blocker = path.join(manual, 'metadata', `${DB}.sql`);
    await mkdir(path.dirname(blocker), { recursive: true });
    execFileSync('mkfifo', [blocker]);
    let settled = false;
    const writing = ch.command({ query: `BACKUP DATABASE ${DB} TO File({to:String})`, query_params: { to: manual } }).finally(() => (settled = true));
    const release = async () => {
      if (!settled) await readFile(blocker); // lets ClickHouse write it (a FIFO with no writer would block forever)
      await writing;
    };
    try {
      await waitFor('the backup by hand under way', async () => ((await backupsInProgress(ch)).length > 0 ? true : undefined));
      const keepOne = { ...config, BACKUP_KEEP: 1 };
      const mon = await run('2026-11-16', keepOne);
      expect(mon.pruned).toEqual([]);
      expect(Object.keys(await onDisk(config))).toEqual([nameAt('2026-11-02'), nameAt('2026-11-09'), nameAt('2026-11-16')]);
      expect((await readdir(config.backupDir)).includes(nameAt('2026-11-14'))).toBe(true);
      expect(lines.some((l) => l.includes('not pruning while a backup is being written'))).toBe(true);
      await release();
      // the next night, BACKUP_KEEP=1 applies: everything before the newest full backup goes, the one by hand too
      const tue = await run('2026-11-17', keepOne);
      expect(tue.made.base).toBe(nameAt('2026-11-16'));
      expect(tue.pruned).toEqual([nameAt('2026-11-14'), nameAt('2026-11-09'), nameAt('2026-11-02')]);
    } finally {
      await release();
    }
  });

  it('fails without touching the earlier backups or pruning, logs why at error, and the metrics show it', async () => {
    const config = configFor('failure', { BACKUP_KEEP: '2', METRICS_TOKEN: 'backup-metrics-token-0123' });
    const { log, lines } = capturedLog();
    const run = (date: string, c: Config = config) => runNightlyBackup({ clickhouse: ch, redis, config: c, log, now: night(date) });
    for (const date of ['2026-11-02', '2026-11-09', '2026-11-16']) await run(date); // three chains of one full backup
    const before = await onDisk(config);
    expect(Object.keys(before)).toEqual([nameAt('2026-11-09'), nameAt('2026-11-16')]);

    // the night's backup cannot be written (a file where its directory goes), and BACKUP_KEEP is now 1
    await writeFile(path.join(config.backupDir, nameAt('2026-11-23')), 'in the way');
    const keepOne = { ...config, BACKUP_KEEP: 1 };
    await expect(run('2026-11-23', keepOne)).rejects.toThrow(/File exists/);
    expect(await onDisk(config)).toEqual(before);
    const failed = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 50);
    expect(failed).toEqual([expect.objectContaining({ msg: expect.stringMatching(/^backup failed: .*File exists/) })]);

    // the same when BACKUP_DIR itself is a file
    const asFile = path.join(root, 'backups', 'a-file');
    await writeFile(asFile, '');
    await expect(run('2026-11-23', { ...config, backupDir: asFile })).rejects.toThrow(/ENOTDIR/);
    expect(lines.filter((l) => l.includes('"level":50') && l.includes('not a directory'))).toHaveLength(1);

    // the metrics: the newest backup on disk, the failure from Redis
    const app = await buildApp({ config, log: capturedLog('warn').log, clickhouse: ch, redis });
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer backup-metrics-token-0123' } });
      expect(res.body).toContain(`nabiz_backup_last_success_timestamp_seconds ${night('2026-11-16') / 1000}`);
      expect(res.body).toContain(`nabiz_backup_last_failure_timestamp_seconds ${night('2026-11-23') / 1000}`);
      // no backup yet, and no failure: 0 for both (so "no backup for a day" holds from the start)
      const fresh = await buildApp({ config: configFor('none', { METRICS_TOKEN: 'backup-metrics-token-0123' }), log: capturedLog('warn').log, clickhouse: ch, redis });
      const none = await fresh.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer backup-metrics-token-0123' } });
      await fresh.close();
      expect(none.body).toMatch(/^nabiz_backup_last_success_timestamp_seconds 0$/m);
      expect(none.body).toMatch(/^nabiz_backup_last_failure_timestamp_seconds 0$/m);
    } finally {
      await app.close();
    }
  });
});

describe('the nightly backup job scheduler', () => {
  it('runs at BACKUP_AT on the center\'s clock, one job across the workers, and is removed with BACKUP_AT=off', async () => {
    const config = configFor('scheduler', { BACKUP_AT: '01:45' });
    const queue = new Queue(BACKUP_QUEUE_NAME, { connection: createRedis(inject('redisUrl'), 'publisher'), prefix: config.REDIS_PREFIX });
    const now = night('2026-11-25');
    const schedule = await startBackupSchedule({ config, log: capturedLog().log, target: target(), redisUrl: inject('redisUrl'), now: () => now });
    try {
      expect((await queue.getJobSchedulers()).map((s) => ({ key: s.key, name: s.name, pattern: s.pattern, tz: s.tz }))).toEqual([
        { key: BACKUP_SCHEDULER_ID, name: 'backup', pattern: '0 45 1 * * *', tz: TZ },
      ]);
      // the worker takes the job (here one added by hand rather than waiting for the night)
      await queue.add('backup', {});
      const made = await waitFor('the backup', async () => (await listBackups(config.backupDir))[0]);
      expect(made).toMatchObject({ name: backupName(DB, new Date(now)), base: null });
    } finally {
      await schedule.close();
    }
    const off = await startBackupSchedule({ config: { ...config, backupAt: null }, log: capturedLog().log, target: target(), redisUrl: inject('redisUrl') });
    await off.close();
    expect(await queue.getJobSchedulers()).toEqual([]);
    await queue.close();
  });

  it('is installed again when Redis loses it (emptied, restarted without its data)', async () => {
    const config = configFor('scheduler-lost', { BACKUP_AT: '02:10' });
    const conn = createRedis(inject('redisUrl'), 'publisher');
    const queue = new Queue(BACKUP_QUEUE_NAME, { connection: conn, prefix: config.REDIS_PREFIX });
    const { log, lines } = capturedLog('warn');
    const schedule = await startBackupSchedule({ config, log, target: target(), redisUrl: inject('redisUrl'), now: () => night('2026-11-25'), checkMs: 200 });
    try {
      expect(await queue.getJobScheduler(BACKUP_SCHEDULER_ID)).toMatchObject({ pattern: '0 10 2 * * *' });
      // what an emptied Redis does to this queue's keys (the shared test Redis holds other tests' keys too)
      await queue.obliterate({ force: true });
      expect(await queue.getJobScheduler(BACKUP_SCHEDULER_ID)).toBeUndefined();
      expect(await waitFor('the scheduler again', async () => (await queue.getJobScheduler(BACKUP_SCHEDULER_ID)) ?? undefined)).toMatchObject({ pattern: '0 10 2 * * *', tz: TZ });
      expect(lines.some((l) => /scheduler was missing from Redis/.test(l))).toBe(true);
    } finally {
      await schedule.close();
      await queue.close();
      conn.disconnect();
    }
  });

  it('takes a backup a few minutes after a start that finds none from the last day (the machine was off at BACKUP_AT), and none after a night that had one', async () => {
    const config = configFor('catch-up');
    const queue = new Queue(BACKUP_QUEUE_NAME, { connection: createRedis(inject('redisUrl'), 'publisher'), prefix: config.REDIS_PREFIX });
    // backed up on Tuesday night; off on Wednesday night; started on Thursday at 10:00
    await runNightlyBackup({ clickhouse: ch, redis, config, log: capturedLog().log, now: night('2026-11-24') });
    const now = night('2026-11-26') + 8 * HOUR;
    const first = capturedLog();
    const schedule = await startBackupSchedule({ config, log: first.log, target: target(), redisUrl: inject('redisUrl'), now: () => now });
    try {
      const job = await queue.getJob(CATCH_UP_JOB_ID);
      expect(job?.opts.delay).toBe(CATCH_UP_DELAY_MS);
      expect(first.lines.join('\n')).toContain('no backup since the last nightly time: one in 5 minutes');
      await job!.promote(); // rather than wait the 5 minutes
      const made = await waitFor('the catch-up backup', async () => (await listBackups(config.backupDir)).find((b) => b.name === backupName(DB, new Date(now))));
      expect(made.base).toBe(nameAt('2026-11-24')); // the same ISO week: it adds to Tuesday's
    } finally {
      await schedule.close();
    }
    // started again an hour later: the newest backup is an hour old, so nothing is added
    const second = capturedLog();
    const again = await startBackupSchedule({ config, log: second.log, target: target(), redisUrl: inject('redisUrl'), now: () => now + HOUR });
    await again.close();
    expect(second.lines.join('\n')).not.toContain('no backup since the last nightly time');
    expect((await queue.getDelayed()).map((j) => j.id)).not.toContain(CATCH_UP_JOB_ID); // (the scheduler's next night is there)
    await queue.close();
  });
});
