// The nightly backup of the embedded ClickHouse (BACKUP_AT, BACKUP_KEEP; docs/operations.md, "Backups").
//
// A BullMQ job scheduler, like the KPI worker's nightly `retention` (server/kpi/pipeline.ts): one run across every worker
// process, at BACKUP_AT on the center's clock. On a queue and a worker of its own: a backup may take minutes (to another
// disk), and the KPI worker runs one job at a time, so the live figures would wait for it.
//
// Each run (what to take and to delete: server/clickhouse/backup-policy.ts):
//   1. backs CLICKHOUSE_DATABASE up into BACKUP_DIR (createBackup, server/clickhouse/backup.ts): full on the first run of
//      an ISO week or when there is no chain to add to, otherwise incremental on the newest backup;
//   2. then prunes: the chains older than the newest BACKUP_KEEP full backups, and the unfinished backups (a directory
//      without ClickHouse's description) started over a day ago. Not while ClickHouse writes any backup: one started by
//      hand may add to a backup the prune would take, or be writing into the unfinished directory. The next run prunes.
// A failure (disk full, BACKUP_DIR not writable) is logged at error with its reason and noted in Redis for the metrics
// (`<prefix>:backup:last-failure`); nothing is pruned, so the earlier backups stay as they were. It is not retried within
// the night: what fails a backup (a full disk, permissions, a missing mount) needs a person, and each retry would fill
// again a disk that ingest may share. The next night's run tries again, and the metrics show the failure at once.
//
// A start that finds no backup since the last BACKUP_AT (the machine was off then, or restarted across it) takes one
// CATCH_UP_DELAY_MS later.
//
// The embedded ClickHouse only: the worker of `npm start` runs beside it, and BACKUP … TO File() writes to BACKUP_DIR on
// this machine, which the prune reads. With CLICKHOUSE_URL there is no schedule (config.ts refuses a BACKUP_AT), and the
// scheduler is removed at start, as it is with BACKUP_AT=off.
import type { ClickHouseClient } from '@clickhouse/client';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { backupsToPrune, missedNight, nextBackupKind, unfinishedToDelete } from './clickhouse/backup-policy.ts';
import {
  BACKUP_REQUEST_TIMEOUT_MS,
  backupsInProgress,
  createBackup,
  deleteBackup,
  isBackupOf,
  listBackups,
  listUnfinished,
  newestBackupTime,
  type Backup,
} from './clickhouse/backup.ts';
import { createClickHouse, type ClickHouseTarget } from './clickhouse/client.ts';
import type { Config } from './config.ts';
import type { Log } from './log.ts';
import { createRedis } from './redis/connections.ts';

export const BACKUP_QUEUE_NAME = 'backups';
export const BACKUP_SCHEDULER_ID = 'backup-nightly';
/** The id of the backup taken after a start that finds none from the last night (one across the workers). */
export const CATCH_UP_JOB_ID = 'backup-catch-up';
/** How long after the start the catch-up backup waits: start-up and the first passes of the workers go first. */
export const CATCH_UP_DELAY_MS = 5 * 60_000;
/** How often the scheduler is looked for in Redis, to install it again if Redis lost it. */
const SCHEDULER_CHECK_MS = 5 * 60_000;

type BackupConfig = Pick<Config, 'backupDir' | 'backupAt' | 'CLICKHOUSE_DATABASE' | 'BACKUP_KEEP' | 'CENTER_TZ' | 'REDIS_PREFIX'>;

const lastFailureKey = (prefix: string) => `${prefix}:backup:last-failure`;

export interface NightlyBackup {
  made: Backup;
  /** Deleted after it: older chains and unfinished backups. */
  pruned: string[];
}

/** One run: a backup, then the prune. Throws (after logging it) when the backup failed. */
export async function runNightlyBackup(deps: { clickhouse: ClickHouseClient; redis: Redis; config: BackupConfig; log: Log; now: number }): Promise<NightlyBackup> {
  const { config, log } = deps;
  const dir = config.backupDir;
  const database = config.CLICKHOUSE_DATABASE;
  let made: Backup;
  try {
    const incremental = nextBackupKind(await backupsOf(config), deps.now, config.CENTER_TZ) === 'incremental';
    made = await createBackup(deps.clickhouse, { dir, database, incremental, now: new Date(deps.now) });
  } catch (err) {
    log.error({ err, backupDir: dir }, `backup failed: ${firstLine(err)} (earlier backups untouched; next try at the next BACKUP_AT)`);
    await deps.redis.set(lastFailureKey(config.REDIS_PREFIX), String(deps.now)).catch((e: unknown) => log.warn({ err: e }, 'backup: the failure was not noted in Redis'));
    throw err;
  }
  let pruned: string[] = [];
  try {
    pruned = await prune(deps.clickhouse, config, deps.now, log);
  } catch (err) {
    // the backup is there: only the housekeeping failed, and the next run does it again
    log.error({ err, backupDir: dir }, `backup: pruning old backups failed: ${firstLine(err)}`);
  }
  log.info({ backup: made.name, base: made.base, pruned }, made.base ? `backup taken (incremental, adding to ${made.base})` : 'backup taken (full)');
  return { made, pruned };
}

async function prune(ch: ClickHouseClient, config: BackupConfig, now: number, log: Log): Promise<string[]> {
  const { writing, pruned } = await pruneBackups(ch, config, { keep: config.BACKUP_KEEP, now });
  if (writing.length > 0) log.info({ writing }, 'backup: not pruning while a backup is being written (the next run prunes)');
  return pruned;
}

/**
 * Deletes the backups of CLICKHOUSE_DATABASE in BACKUP_DIR older than the newest `keep` full ones and their chains, and
 * the unfinished ones started over a day ago (`dryRun`: only says which). Nothing while ClickHouse writes a backup
 * (`writing` names them). The nightly run's prune, and `npm run nabiz -- backup prune`.
 */
export async function pruneBackups(
  ch: ClickHouseClient,
  config: Pick<Config, 'backupDir' | 'CLICKHOUSE_DATABASE'>,
  opts: { keep: number; now: number; dryRun?: boolean },
): Promise<{ pruned: string[]; writing: string[] }> {
  const dir = config.backupDir;
  const writing = await backupsInProgress(ch);
  if (writing.length > 0) return { pruned: [], writing };
  const names = [...backupsToPrune(await backupsOf(config), opts.keep), ...unfinishedToDelete(await listUnfinished(dir, config.CLICKHOUSE_DATABASE), opts.now)];
  if (!opts.dryRun) for (const name of names) await deleteBackup(dir, name);
  return { pruned: names, writing };
}

/** The backups of CLICKHOUSE_DATABASE in BACKUP_DIR, oldest first (another database's may share it: the demo's). */
async function backupsOf(config: Pick<Config, 'backupDir' | 'CLICKHOUSE_DATABASE'>): Promise<Backup[]> {
  return (await listBackups(config.backupDir)).filter((b) => isBackupOf(config.CLICKHOUSE_DATABASE, b.name));
}

/** An error's message up to its first line break (ClickHouse appends its stack trace). */
const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!.trim();

/** The cron pattern (seconds first, as BullMQ reads it) of BACKUP_AT. */
const backupCron = (at: NonNullable<Config['backupAt']>) => `0 ${at.minute} ${at.hour} * * *`;

export interface BackupOutcomes {
  /** When the newest backup of the database in BACKUP_DIR was taken, nightly or by hand (ms); null: there is none. */
  lastSuccess(): Promise<number | null>;
  /** When the nightly backup last failed (ms); null: never, as far as Redis remembers. */
  lastFailure(): Promise<number | null>;
}

/** What the metrics report (server/metrics.ts): from BACKUP_DIR and from Redis. */
export function backupOutcomes(redis: Redis, config: BackupConfig): BackupOutcomes {
  return {
    lastSuccess: () => newestBackupTime(config.backupDir, config.CLICKHOUSE_DATABASE),
    async lastFailure() {
      const at = await redis.get(lastFailureKey(config.REDIS_PREFIX));
      return at === null ? null : Number(at);
    },
  };
}

/**
 * Installs the nightly backup's scheduler and its worker (BACKUP_AT), or removes the scheduler (no BACKUP_AT). `target`:
 * the ClickHouse to back up (given a client of its own, which waits as long as a backup takes).
 */
export async function startBackupSchedule(deps: {
  config: BackupConfig;
  log: Log;
  target: ClickHouseTarget;
  redisUrl: string;
  /** The clock (tests pass their own). */
  now?: () => number;
  /** How often the scheduler is looked for in Redis (tests). */
  checkMs?: number;
}): Promise<{ close(): Promise<void> }> {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const queueConn = createRedis(deps.redisUrl, 'publisher', (m) => log.warn(m));
  const queue = new Queue(BACKUP_QUEUE_NAME, { connection: queueConn, prefix: config.REDIS_PREFIX });
  queue.on('error', (err) => log.warn({ err }, 'backup queue error'));
  const at = config.backupAt;
  if (at === null) {
    await queue.removeJobScheduler(BACKUP_SCHEDULER_ID);
    await queue.close();
    queueConn.disconnect();
    return { close: async () => {} };
  }
  const install = () =>
    queue.upsertJobScheduler(BACKUP_SCHEDULER_ID, { pattern: backupCron(at), tz: config.CENTER_TZ }, {
      name: 'backup',
      data: {},
      opts: { removeOnComplete: true, removeOnFail: 100 },
    });
  await install();
  // Redis emptied (restarted without its data, failed over to an empty replica) takes the scheduler with it, and no
  // backup would run again until a restart: it is looked for every few minutes, and installed again when missing.
  const check = setInterval(() => {
    queue
      .getJobScheduler(BACKUP_SCHEDULER_ID)
      .then(async (found) => {
        if (found) return;
        await install();
        log.warn('the nightly backup\'s scheduler was missing from Redis (emptied?): installed again');
      })
      .catch((err: unknown) => log.warn({ err }, 'could not look for the nightly backup\'s scheduler in Redis'));
  }, deps.checkMs ?? SCHEDULER_CHECK_MS);
  check.unref();
  // A machine switched off at BACKUP_AT every night (a floor PC shut down after the last shift) would never be backed
  // up, and a restart across BACKUP_AT skips that night: a start that finds no backup since the last BACKUP_AT takes
  // one a few minutes later.
  const newest = await newestBackupTime(config.backupDir, config.CLICKHOUSE_DATABASE);
  if (missedNight(newest, now(), at, config.CENTER_TZ)) {
    await queue.add('backup', {}, { jobId: CATCH_UP_JOB_ID, delay: CATCH_UP_DELAY_MS, removeOnComplete: true, removeOnFail: true });
    log.info({ newest: newest === null ? null : new Date(newest).toISOString() }, `no backup since the last nightly time: one in ${CATCH_UP_DELAY_MS / 60_000} minutes`);
  }
  const clickhouse = createClickHouse(deps.target, { requestTimeoutMs: BACKUP_REQUEST_TIMEOUT_MS, maxConnections: 2, log });
  const workerConn = createRedis(deps.redisUrl, 'worker', (m) => log.warn(m));
  const worker = new Worker(BACKUP_QUEUE_NAME, () => runNightlyBackup({ clickhouse, redis: queueConn, config, log, now: now() }), {
    connection: workerConn,
    prefix: config.REDIS_PREFIX,
    concurrency: 1,
  });
  worker.on('error', (err) => log.warn({ err }, 'backup worker error'));
  const hhmm = `${String(at.hour).padStart(2, '0')}:${String(at.minute).padStart(2, '0')}`;
  log.info({ at: hhmm, tz: config.CENTER_TZ, keep: config.BACKUP_KEEP, backupDir: config.backupDir }, `nightly backup at ${hhmm} (${config.CENTER_TZ})`);
  return {
    async close() {
      clearInterval(check);
      await worker.close();
      await queue.close();
      await clickhouse.close();
      workerConn.disconnect();
      queueConn.disconnect();
    },
  };
}
