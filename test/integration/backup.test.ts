// Backups and restores of the database (server/clickhouse/backup.ts, `npm run nabiz -- backup`, docs/operations.md) on an embedded
// ClickHouse of their own, started as the all-in-one starts it (allowed to write BACKUP_DIR): a full and an
// incremental backup taken by the nightly backup (server/backup-schedule.ts) while events arrive; each restored gives
// back exactly the events of its moment and the KPIs computed from them, with the database it replaced kept aside;
// refusals leave the database as it was; and the CLI, from a shell, as an operator runs it.
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runNightlyBackup } from '../../server/backup-schedule.ts';
import { BackupError, backupBytes, createBackup, listBackups, restoreBackup } from '../../server/clickhouse/backup.ts';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { spawnEmbeddedClickHouse, type EmbeddedClickHouseProcess } from '../../server/clickhouse/embedded/spawn.ts';
import { migrate } from '../../server/clickhouse/migrate.ts';
import { loadConfig } from '../../server/config.ts';
import { validateEvent } from '../../server/ingest/contract.ts';
import { insertEventRows, toEventRow } from '../../server/ingest/rows.ts';
import { catchUp, rebuildDerived } from '../../server/kpi/materialize.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { freePort } from '../../server/redis/embedded.ts';
import { capturedLog, uniqueName } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { ROOT } from '../support/process.ts';

const LOOKBACK = { lookbackDays: 7 };
const DB = 'bk';
let dir: string;
let backupDir: string;
let engine: EmbeddedClickHouseProcess;
let ch: ClickHouseClient;
let server: ClickHouseClient;
/** Where the nightly backup notes a failure. */
let nightlyRedis: Redis;
const target = () => ({ url: engine.url, database: DB, username: 'default', password: '' });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-backup-'));
  backupDir = path.join(dir, 'backups');
  engine = await spawnEmbeddedClickHouse({ dataDir: path.join(dir, 'clickhouse'), backupDir });
  await migrate(target());
  ch = createClickHouse(target());
  server = createClickHouse({ ...target(), database: 'system' });
  nightlyRedis = createRedis(inject('redisUrl'), 'commands');
}, 60_000);

afterAll(async () => {
  nightlyRedis?.disconnect();
  await ch?.close();
  await server?.close();
  await engine?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `offers` contacts offered on queue `bk`, the first of them abandoned, stored as the ingest path stores them. */
async function store(offers: number, table = 'events'): Promise<void> {
  const now = Date.now();
  const events = Array.from({ length: offers }, () => sampleEvent('contact.offered', { queue: 'bk' }, 120_000));
  events.push(sampleEvent('contact.abandoned', { contactId: events[0]!.contactId, queue: 'bk' }, 60_000));
  const rows = events.map((e) => {
    const v = validateEvent(e, { now, retentionDays: 400 });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return toEventRow(v.event, now);
  });
  await insertEventRows(ch, table, rows);
}

/** What a restore must give back: the stored events, their ids, and the queue's figures (from the analysts' view). */
async function state(client = ch) {
  const one = async (query: string) => (await (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, string | number>>())[0]!;
  const kpi = await one(`SELECT sum(offered) AS offered, sum(abandoned) AS abandoned FROM kpi_daily(tz = 'UTC') WHERE scope = 'queue:bk'`);
  return {
    events: Number((await one('SELECT count() AS n FROM events')).n),
    ids: Number((await one('SELECT count() AS n FROM event_ids FINAL')).n),
    offered: Number(kpi.offered),
    abandoned: Number(kpi.abandoned),
  };
}

/** As `backup restore` does it: restore, upgrade, rebuild what derives from events. */
async function restore(name: string): Promise<{ keptAs: string | null; detachedViews: string[] }> {
  const restored = await restoreBackup(server, { dir: backupDir, name, database: DB });
  await migrate(target());
  await rebuildDerived(ch, LOOKBACK);
  return restored;
}

describe('backup and restore', () => {
  let full: string;
  let incremental: string;

  it('takes a full backup, then an incremental one holding only what is new, nightly, while events keep arriving', async () => {
    await store(4); // 4 offered, 1 abandoned: 5 events
    await catchUp(ch, LOOKBACK);
    expect(await state()).toEqual({ events: 5, ids: 5, offered: 4, abandoned: 1 });
    // two nights of the nightly backup (a Tuesday, a Wednesday): a full one, then an incremental one
    const config = loadConfig({ BACKUP_DIR: backupDir, CLICKHOUSE_DATABASE: DB, REDIS_PREFIX: uniqueName('bk') });
    const nightly = async (at: string) => (await runNightlyBackup({ clickhouse: ch, redis: nightlyRedis, config, log: capturedLog('warn').log, now: Date.parse(at) })).made;
    full = (await nightly('2026-11-24T02:00:00Z')).name;

    // 2 more offered and 1 abandoned, stored but not yet fanned out when the incremental backup is taken: its copy of
    // `events` is ahead of its copy of the derived tables, as happens when a backup runs under load
    await store(2);
    const inc = await nightly('2026-11-25T02:00:00Z');
    incremental = inc.name;
    expect(inc.base).toBe(full);
    const [a, b] = await listBackups(backupDir);
    expect([a!.name, b!.name]).toEqual([full, incremental]);
    expect(await backupBytes(backupDir, b!.name)).toBeLessThan(await backupBytes(backupDir, a!.name)); // only the new parts, the rest by reference to the base

    await store(1); // after both backups: 1 offered, 1 abandoned
    await catchUp(ch, LOOKBACK);
    expect(await state()).toEqual({ events: 5 + 3 + 2, ids: 10, offered: 4 + 2 + 1, abandoned: 3 });
  });

  it('restores the full backup: its events and their figures exactly, the replaced database kept aside', async () => {
    const { keptAs, detachedViews } = await restore(full);
    expect(await state()).toEqual({ events: 5, ids: 5, offered: 4, abandoned: 1 });
    expect(keptAs).toMatch(/^bk_before_restore_\d{8}_\d{6}_\d{3}$/);
    expect(detachedViews).toContain('events_ingest_mv');
    // its tables as they were (its views name the database they were made in, so they read the restored one)
    const count = async (table: string) =>
      Number((await (await server.query({ query: `SELECT count() AS n FROM \`${keptAs}\`.${table}`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    expect([await count('events'), await count('event_ids FINAL')]).toEqual([10, 10]);
    // undone as the command says: the restored one dropped, the kept one renamed back, its views attached again
    await server.command({ query: `DROP DATABASE \`${DB}\` SYNC` });
    await server.command({ query: `RENAME DATABASE \`${keptAs}\` TO \`${DB}\`` });
    for (const v of detachedViews) await server.command({ query: `ATTACH TABLE \`${DB}\`.\`${v}\`` });
    expect(await state()).toEqual({ events: 10, ids: 10, offered: 7, abandoned: 3 });
  });

  it('restores the incremental backup with its base; the figures are rebuilt from the events it holds', async () => {
    await restore(incremental);
    // 5 + 3 events, although its derived tables held only the first 5: rebuilt from events
    expect(await state()).toEqual({ events: 8, ids: 8, offered: 6, abandoned: 2 });
    // and it goes on, also once ClickHouse restarted (the replaced database's views, read again from their text, name
    // the restored database's tables: kept live, they stored every event a second time): new events are stored once
    // through the ingest table, and fanned out as usual
    const port = engine.port;
    await engine.stop();
    engine = await spawnEmbeddedClickHouse({ dataDir: path.join(dir, 'clickhouse'), backupDir, port });
    await store(1, 'events_ingest');
    await catchUp(ch, LOOKBACK);
    expect(await state()).toEqual({ events: 10, ids: 10, offered: 7, abandoned: 3 });
  });

  it('refuses an unknown name, a name with a path, and an incremental backup whose base is gone, changing nothing', async () => {
    const before = await state();
    await expect(restoreBackup(server, { dir: backupDir, name: 'nope', database: DB })).rejects.toThrow(/no backup nope/);
    await expect(restoreBackup(server, { dir: backupDir, name: '../clickhouse', database: DB })).rejects.toThrow(BackupError);
    await rename(path.join(backupDir, full), path.join(dir, 'moved-away'));
    try {
      await expect(restoreBackup(server, { dir: backupDir, name: incremental, database: DB })).rejects.toThrow(`${incremental} adds to ${full}, which is not in`);
      await expect(createBackup(ch, { dir: path.join(dir, 'empty'), database: DB, incremental: true })).rejects.toThrow(/take a full one first/);
    } finally {
      await rename(path.join(dir, 'moved-away'), path.join(backupDir, full));
    }
    // the backups copied to another directory: the incremental one names its base by the path it was taken in
    const elsewhere = path.join(dir, 'copied');
    await rename(backupDir, elsewhere);
    try {
      await expect(restoreBackup(server, { dir: elsewhere, name: incremental, database: DB })).rejects.toThrow(
        `${incremental} adds to ${full} as it was in ${backupDir}, where it is not any more: restore with BACKUP_DIR=${backupDir}`,
      );
    } finally {
      await rename(elsewhere, backupDir);
    }
    expect(await state()).toEqual(before);
    const dbs = await (await server.query({ query: "SELECT name FROM system.databases WHERE name LIKE 'bk%' ORDER BY name", format: 'JSONEachRow' })).json<{ name: string }>();
    expect(dbs.map((d) => d.name).filter((n) => n !== DB)).toHaveLength(1); // the one kept by the last restore
  });
});

describe('npm run nabiz -- backup', () => {
  it('backs up beside nothing running, lists, restores (clearing the Redis state), and refuses what it must', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-backup-cli-'));
    const prefix = uniqueName('bkcli');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATA_DIR: dataDir,
      CLICKHOUSE_HTTP_PORT: String(await freePort()),
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    const run = (args: string[], extra: Record<string, string> = {}) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/nabiz.ts', ...args], { cwd: ROOT, env: { ...env, ...extra }, stdio: ['pipe', 'pipe', 'pipe'] });
        child.stdin.end('backup-user-password\n');
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const redis = new Redis(inject('redisUrl'));
    try {
      expect((await run(['users', 'add', 'kept', '--role', 'viewer'])).code).toBe(0);
      const made = await run(['backup', 'create', '--json']);
      expect(made.code, made.out).toBe(0);
      const backup = JSON.parse(made.out) as { name: string; base: string | null };
      expect(backup.base).toBeNull();
      expect((await run(['users', 'add', 'after', '--role', 'viewer'])).code).toBe(0);
      const listed = await run(['backup', 'list']);
      expect(listed.out).toContain(backup.name);
      expect(listed.out).toContain('(full)');

      await redis.set(`${prefix}:session:someone`, '{}'); // a session of the database being replaced
      const restored = await run(['backup', 'restore', backup.name, '--json']);
      expect(restored.code, restored.out).toBe(0);
      const r = JSON.parse(restored.out) as { restored: string; keptAs: string; redisKeysCleared: number };
      expect(r.restored).toBe(backup.name);
      expect(r.keptAs).toMatch(/^nabiz_before_restore_/);
      expect(r.redisKeysCleared).toBeGreaterThanOrEqual(1);
      expect(await redis.exists(`${prefix}:session:someone`)).toBe(0);
      const users = JSON.parse((await run(['users', 'list', '--json'])).out) as Array<{ username: string }>;
      expect(users.map((u) => u.username)).toEqual(['kept']);

      const missing = await run(['backup', 'restore']);
      expect(missing.code).toBe(2);
      expect(missing.out).toContain('missing <name>');
      const external = await run(['backup', 'create'], { CLICKHOUSE_URL: engine.url });
      expect(external.code).toBe(2);
      expect(external.out).toContain("your ClickHouse server's own BACKUP");
      // on a ClickHouse server, after its own RESTORE: the rollups rebuilt from its events (the 10 stored above); not
      // while a KPI worker runs against that Redis (it holds its lease): the rebuild would empty its tables under it
      await redis.set(`${prefix}:kpi:leader`, 'a-running-worker', 'PX', 60_000);
      const underWorker = await run(['backup', 'rebuild'], { CLICKHOUSE_URL: engine.url, CLICKHOUSE_DATABASE: DB });
      expect([underWorker.code, underWorker.out]).toEqual([2, expect.stringContaining('a KPI worker is running against this Redis')]);
      await redis.del(`${prefix}:kpi:leader`);
      await redis.set(`${prefix}:session:someone`, '{}');
      const rebuilt = await run(['backup', 'rebuild', '--json'], { CLICKHOUSE_URL: engine.url, CLICKHOUSE_DATABASE: DB });
      expect(rebuilt.code, rebuilt.out).toBe(0);
      expect(JSON.parse(rebuilt.out)).toMatchObject({ restored: null, keptAs: null, events: 10, redisKeysCleared: 1 });
      expect(await state()).toEqual({ events: 10, ids: 10, offered: 7, abandoned: 3 });
      // with an all-in-one running (its embedded ClickHouse answering on the port), a restore is refused
      const running = await run(['backup', 'restore', backup.name], { CLICKHOUSE_HTTP_PORT: String(engine.port) });
      expect(running.code).toBe(2);
      expect(running.out).toContain('stop Nabız first');

      // prune by hand: a second full backup and one adding to it; keeping 1 full backup deletes the first (and would
      // delete whatever added to it), --dry-run only says so
      const second = JSON.parse((await run(['backup', 'create', '--json'])).out) as { name: string };
      const adding = JSON.parse((await run(['backup', 'create', '--incremental', '--json'])).out) as { name: string; base: string };
      expect(adding.base).toBe(second.name);
      const names = async () => (JSON.parse((await run(['backup', 'list', '--json'])).out) as Array<{ name: string }>).map((b) => b.name);
      expect(await names()).toEqual([backup.name, second.name, adding.name]);
      const dry = await run(['backup', 'prune', '--keep', '1', '--dry-run', '--json']);
      expect(dry.code, dry.out).toBe(0);
      expect(JSON.parse(dry.out)).toEqual({ keep: 1, dryRun: true, pruned: [backup.name] });
      expect(await names()).toEqual([backup.name, second.name, adding.name]);
      const pruned = await run(['backup', 'prune', '--keep', '1']);
      expect(pruned.code, pruned.out).toBe(0);
      expect(pruned.out).toContain(`deleted 1 backup(s), keeping the newest 1 full one(s)`);
      expect(await names()).toEqual([second.name, adding.name]);
      // BACKUP_KEEP (4) by default: nothing more to delete
      expect(JSON.parse((await run(['backup', 'prune', '--json'])).out)).toEqual({ keep: 4, dryRun: false, pruned: [] });
      const bad = await run(['backup', 'prune', '--keep', '0']);
      expect(bad.code).toBe(2);
      expect(bad.out).toContain('--keep must be a whole number from 1 to 100, not "0"');
    } finally {
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
