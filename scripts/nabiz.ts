// npm run nabiz -- <command>: manage access (docs/security.md) and backups (docs/operations.md) from a shell.
//   users add <username> --role viewer|supervisor|admin     password from stdin (piped) or typed twice at a prompt
//   users list | users passwd <username> | users remove <username>
//   keys create <acd|ivr|crm> --name <name> (or --source acd) | keys list | keys revoke <id>
//   displays create --name <name> --board <board> | displays list | displays revoke <id>
//   backup create [--incremental] | backup list | backup restore <name>      (embedded ClickHouse; restore: stopped)
//   backup prune [--keep N] [--dry-run]   delete the backups the nightly run would (BACKUP_KEEP), or keep only N fulls
//   backup rebuild         after a server's own RESTORE (CLICKHOUSE_URL), with Nabız stopped: rebuild the rollups
// Add --json for machine-readable output, --demo for the demo's database. New keys and display tokens are printed once;
// they are not stored.
// Talks to CLICKHOUSE_URL / REDIS_URL, or to the embedded ClickHouse of a running `npm start` (whose API processes
// then end the affected sessions within seconds), or starts the embedded servers itself when nothing runs.
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { AuditLog, type Actor } from '../server/auth/audit.ts';
import { CredentialCache } from '../server/auth/cache.ts';
import { RevocationBus } from '../server/auth/revocation.ts';
import { AccessService } from '../server/auth/service.ts';
import { isRole } from '../server/auth/roles.ts';
import { Sessions } from '../server/auth/sessions.ts';
import { AccessStore } from '../server/auth/store.ts';
import { passwordProblem } from '../server/auth/rules.ts';
import { BACKUP_REQUEST_TIMEOUT_MS, backupBytes, createBackup, listBackups, restoreBackup } from '../server/clickhouse/backup.ts';
import { createClickHouse } from '../server/clickhouse/client.ts';
import { embeddedClickHouseOptions, embeddedClickHousePassword, spawnEmbeddedClickHouse } from '../server/clickhouse/embedded/spawn.ts';
import { migrate } from '../server/clickhouse/migrate.ts';
import { pruneBackups } from '../server/backup-schedule.ts';
import { ConfigSchema, INGEST_SOURCES, loadConfig, type Config } from '../server/config.ts';
import { demoConfig } from '../server/demo.ts';
import { rebuildDerived } from '../server/kpi/materialize.ts';
import { kpiRedisNames } from '../server/kpi/snapshots.ts';
import { createRedis } from '../server/redis/connections.ts';
import { startEmbeddedRedis } from '../server/redis/embedded.ts';

const USAGE = `usage: npm run nabiz -- <command> [--json] [--demo]
  users add <username> --role <viewer|supervisor|admin>   (password from stdin or a prompt)
  users list
  users passwd <username>
  users remove <username>
  keys create <acd|ivr|crm> --name <name>       (or --source <acd|ivr|crm>)
  keys list
  keys revoke <id>
  displays create --name <name> --board <board>
  displays list
  displays revoke <id>
  backup create [--incremental]                   (while Nabız runs, or not)
  backup list
  backup restore <name>                           (with Nabız stopped)
  backup prune [--keep <n>] [--dry-run]           (while Nabız runs, or not; default: BACKUP_KEEP full backups)
  backup rebuild                                  (with Nabız stopped, after RESTORE on a ClickHouse server)
--demo: the demo's database and Redis prefix (<CLICKHOUSE_DATABASE>_demo, <REDIS_PREFIX>_demo), e.g. to create an
        ingest key for your own events beside a running \`npm run demo\``;

class UsageError extends Error {}

async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new UsageError('no password on stdin');
  }
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      // Mute the echo of what is typed.
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      process.stderr.write(q);
      out._writeToOutput = () => {};
      rl.question('', (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  const first = await ask(prompt);
  if ((await ask('again: ')) !== first) throw new UsageError('the passwords differ');
  return first;
}

interface Connections {
  service: AccessService;
  clickhouse: ClickHouseClient;
  /** The same server, bound to no database of ours (to rename and restore it). */
  server: ClickHouseClient;
  redis: Redis | undefined;
  /** Which Redis `redis` is, in words (for what a restore says it cleared). */
  redisName: string;
  /** Re-applies the migrations (after a restore of an older backup). */
  migrate(): Promise<void>;
  close(): Promise<void>;
  warning?: string;
}

/** Whether an all-in-one Nabız (its embedded ClickHouse) answers on this machine. */
async function nabizRunning(config: Config): Promise<boolean> {
  return fetch(`http://127.0.0.1:${config.CLICKHOUSE_HTTP_PORT}/ping`).then((r) => r.ok, () => false);
}

/**
 * Refuses to create the database beside a demo's: a key or a user made there would not work on the demo, which runs
 * in <database>_demo (`npm run demo`). Stops what connect() started first.
 */
async function refuseDemoMixUp(server: ClickHouseClient, database: string, closers: Array<() => Promise<void>>): Promise<void> {
  const rs = await server.query({ query: 'SELECT name FROM system.databases WHERE name IN {names:Array(String)}', query_params: { names: [database, `${database}_demo`] }, format: 'JSONEachRow' });
  const found = new Set((await rs.json<{ name: string }>()).map((r) => r.name));
  if (!found.has(database) && found.has(`${database}_demo`)) {
    for (const close of closers) await close();
    throw new UsageError(`there is no database ${database} here, but a demo's (${database}_demo): add --demo to work on the demo, or start Nabız once to create ${database}`);
  }
}

async function connect(config: Config, opts: { demoCheck?: boolean } = {}): Promise<Connections> {
  const closers: Array<() => Promise<void>> = [];
  let clickhouseUrl = config.CLICKHOUSE_URL;
  let redisUrl = config.REDIS_URL;
  let warning: string | undefined;
  if (clickhouseUrl === undefined) {
    if (await nabizRunning(config)) {
      // with the `default` user's credentials: CLICKHOUSE_PASSWORD, or the running server's password file
      const { password } = await embeddedClickHousePassword(config.clickhouseDataDir, config.CLICKHOUSE_PASSWORD);
      clickhouseUrl = Object.assign(new URL(`http://127.0.0.1:${config.CLICKHOUSE_HTTP_PORT}`), { username: 'default', password }).href;
      if (redisUrl === undefined) {
        warning = 'note: the running Nabız ends affected sessions and open streams within a few seconds';
      }
    } else {
      const ch = await spawnEmbeddedClickHouse(embeddedClickHouseOptions(config));
      closers.unshift(() => ch.stop());
      clickhouseUrl = ch.url;
      if (redisUrl === undefined) {
        const r = await startEmbeddedRedis({ dataDir: config.redisDataDir });
        closers.unshift(() => r.stop());
        redisUrl = r.url;
      }
    }
  }
  const target = { url: clickhouseUrl, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD };
  // (not for backups: a restore may well create the database)
  // a backup, a restore or a rebuild answers only when it is done
  const server = createClickHouse({ ...target, database: 'system' }, { requestTimeoutMs: BACKUP_REQUEST_TIMEOUT_MS });
  closers.unshift(() => server.close());
  if (opts.demoCheck) await refuseDemoMixUp(server, target.database, closers);
  await migrate(target);
  const clickhouse = createClickHouse(target, { requestTimeoutMs: BACKUP_REQUEST_TIMEOUT_MS });
  closers.unshift(() => clickhouse.close());
  let redis: Redis | undefined;
  if (redisUrl !== undefined) {
    redis = createRedis(redisUrl, 'publisher');
    const r = redis;
    closers.unshift(async () => void (await r.quit()));
  }
  const store = new AccessStore(clickhouse);
  const service = new AccessService({
    store,
    audit: new AuditLog(clickhouse),
    sessions: redis && new Sessions(redis, config.REDIS_PREFIX, config.SESSION_TTL_SECONDS),
    cache: redis && new CredentialCache(redis, config.REDIS_PREFIX),
    bus: redis && new RevocationBus(redis, config.REDIS_PREFIX),
  });
  return {
    service,
    clickhouse,
    server,
    redis,
    redisName: config.REDIS_URL !== undefined ? 'REDIS_URL' : `the embedded Redis of ${config.redisDataDir}`,
    migrate: async () => void (await migrate(target)),
    warning,
    async close() {
      for (const c of closers) await c().catch(() => {});
    },
  };
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

const megabytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MB`;

/** Deletes every Redis key of this installation (sessions, caches, queues, live state): all of it derives from ClickHouse. */
async function clearRedis(redis: Redis, prefix: string): Promise<number> {
  let cleared = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) cleared += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return cleared;
}

/** What `backup` takes besides its command and name. */
interface BackupFlags {
  incremental: boolean;
  /** --keep, as typed. */
  keep: string | undefined;
  dryRun: boolean;
}

/** --keep: how many full backups (with their chains) a prune keeps, within BACKUP_KEEP's bounds; BACKUP_KEEP by default. */
function keepOf(text: string | undefined, config: Config): number {
  if (text === undefined) return config.BACKUP_KEEP;
  const { minimum = 1, maximum = Infinity } = ConfigSchema.properties.BACKUP_KEEP;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < minimum || n > maximum) throw new UsageError(`--keep must be a whole number from ${minimum} to ${maximum}, not ${JSON.stringify(text)}`);
  return n;
}

/** backup create | list | restore | rebuild | prune (server/clickhouse/backup.ts, docs/operations.md). */
async function backup(config: Config, command: string, name: string | undefined, flags: BackupFlags, print: (human: string, json: unknown) => void): Promise<number> {
  if (command === 'list') {
    const backups = await Promise.all((await listBackups(config.backupDir)).map(async (b) => ({ ...b, bytes: await backupBytes(config.backupDir, b.name) })));
    const rows = backups.map((b) => ({ ...b, size: megabytes(b.bytes), base: b.base ?? '(full)' }));
    print(backups.length ? table(rows, ['name', 'takenAt', 'size', 'base']) : `(no backups in ${config.backupDir})`, backups);
    return 0;
  }
  if (!config.embeddedClickHouse && command !== 'rebuild') {
    throw new UsageError("with CLICKHOUSE_URL, back up and restore with your ClickHouse server's own BACKUP and RESTORE, then backup rebuild (docs/operations.md)");
  }
  if (command === 'restore' && !name) throw new UsageError('missing <name> (see backup list)');
  const keep = command === 'prune' ? keepOf(flags.keep, config) : 0;
  if (command !== 'create' && command !== 'prune' && config.embeddedClickHouse && (await nabizRunning(config))) {
    throw new UsageError(`stop Nabız first: a ${command} replaces the database under it`);
  }
  // (a restore may create the database: no other command should, beside a demo's)
  const conn = await connect(config, { demoCheck: command !== 'restore' });
  try {
    // With servers of their own (CLICKHOUSE_URL, REDIS_URL) no port tells whether Nabız runs: a KPI worker holds its
    // lease in Redis. A rebuild under it would empty the tables it writes, and clear its queues and lease.
    if ((command === 'restore' || command === 'rebuild') && conn.redis && (await conn.redis.exists(kpiRedisNames(config.REDIS_PREFIX).leader))) {
      throw new UsageError(`stop Nabız first (every worker): a KPI worker is running against this Redis (it holds ${kpiRedisNames(config.REDIS_PREFIX).leader})`);
    }
    if (command === 'create') {
      const made = await createBackup(conn.clickhouse, { dir: config.backupDir, database: config.CLICKHOUSE_DATABASE, incremental: flags.incremental });
      const b = { ...made, bytes: await backupBytes(config.backupDir, made.name) };
      print(`backed up ${config.CLICKHOUSE_DATABASE} to ${path.join(config.backupDir, b.name)} (${megabytes(b.bytes)}${b.base ? `, adding to ${b.base}` : ''})`, b);
      return 0;
    }
    if (command === 'prune') {
      const { pruned, writing } = await pruneBackups(conn.clickhouse, config, { keep, now: Date.now(), dryRun: flags.dryRun });
      if (writing.length > 0) throw new UsageError(`a backup is being written (${writing.join(', ')}): prune once it is done`);
      const verb = flags.dryRun ? 'would delete' : 'deleted';
      print(pruned.length ? `${verb} ${pruned.length} backup(s), keeping the newest ${keep} full one(s) and what adds to them:\n${pruned.join('\n')}` : `nothing to delete: at most ${keep} full backup(s), each with what adds to it`, { keep, dryRun: flags.dryRun, pruned });
      return 0;
    }
    let keptAs: string | null = null;
    let detachedViews: string[] = [];
    if (command === 'restore') {
      ({ keptAs, detachedViews } = await restoreBackup(conn.server, { dir: config.backupDir, name: name!, database: config.CLICKHOUSE_DATABASE }));
      await conn.migrate(); // a backup of an older version
    }
    const rebuilt = await rebuildDerived(conn.clickhouse, { lookbackDays: config.FCR_LOOKBACK_DAYS });
    const db = config.CLICKHOUSE_DATABASE;
    const redisKeysCleared = conn.redis ? await clearRedis(conn.redis, config.REDIS_PREFIX) : 0;
    print(
      [
        `${command === 'restore' ? `restored ${name}: ` : ''}${rebuilt.events} events; the KPIs rebuilt from them (${rebuilt.contacts} contacts); ${redisKeysCleared} Redis keys cleared in ${conn.redisName} (people sign in again; TVs reconnect by themselves).`,
        // a split deployment: the API and workers of `npm run clickhouse` keep their state in a Redis of their own
        config.REDIS_URL === undefined && command === 'restore' ? 'An API or workers with a Redis of their own (npm run clickhouse apart): before starting them, run backup rebuild with their settings.' : '',
        keptAs ? `The database as it was is kept as ${keptAs}, its materialized views detached: drop it once you are sure (DROP DATABASE ${keptAs}).` : '',
        keptAs ? `To undo, Nabız stopped: DROP DATABASE ${db} SYNC; RENAME DATABASE ${keptAs} TO ${db}; then ${detachedViews.map((v) => `ATTACH TABLE ${db}.${v}`).join('; ')}.` : '',
      ].filter(Boolean).join('\n'),
      { restored: name ?? null, keptAs, detachedViews, events: rebuilt.events, contacts: rebuilt.contacts, redisKeysCleared },
    );
    return 0;
  } finally {
    await conn.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      role: { type: 'string' },
      name: { type: 'string' },
      board: { type: 'string' },
      source: { type: 'string' },
      json: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      incremental: { type: 'boolean', default: false },
      keep: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command, arg] = positionals;
  if (values.help || !group) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const loaded = loadConfig();
  // the demo's database and Redis prefix, as `npm run demo` sets them (its other settings are for its own process)
  const config = values.demo ? { ...loaded, CLICKHOUSE_DATABASE: demoConfig(loaded).CLICKHOUSE_DATABASE, REDIS_PREFIX: demoConfig(loaded).REDIS_PREFIX } : loaded;
  const who = os.userInfo().username;
  const actor: Actor = { actor_kind: 'cli', actor_id: who, actor_name: `cli:${who}`, ip: '', user_agent: 'nabiz-cli' };
  const print = (human: string, json: unknown) => process.stdout.write(`${values.json ? JSON.stringify(json) : human}\n`);
  const need = (v: string | undefined, what: string): string => {
    if (!v) throw new UsageError(`missing ${what}`);
    return v;
  };

  const known: Record<string, string[]> = {
    users: ['add', 'list', 'passwd', 'remove'],
    keys: ['create', 'list', 'revoke'],
    displays: ['create', 'list', 'revoke'],
    backup: ['create', 'list', 'restore', 'rebuild', 'prune'],
  };
  if (!known[group]?.includes(command ?? '')) throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  if (group === 'backup') return backup(config, command!, arg, { incremental: values.incremental, keep: values.keep, dryRun: values['dry-run'] }, print);
  // Check what can be checked before starting or reaching any server.
  if (group === 'keys' && command === 'create') {
    const source = need(values.source ?? arg, '<source>');
    if (!(INGEST_SOURCES as readonly string[]).includes(source)) throw new UsageError(`source must be one of ${INGEST_SOURCES.join(', ')}`);
    need(values.name, '--name');
  }
  if (group === 'displays' && command === 'create') {
    need(values.name, '--name');
    need(values.board, '--board');
  }
  if (command === 'revoke' || (group === 'users' && command === 'remove')) need(arg, command === 'revoke' ? '<id>' : '<username>');

  // Read a password before connecting, so a prompt is not mixed with start-up output.
  let password: string | undefined;
  if (group === 'users' && (command === 'add' || command === 'passwd')) {
    need(arg, '<username>');
    if (command === 'add') need(values.role, '--role');
    if (command === 'add' && !isRole(values.role)) throw new UsageError('--role must be viewer, supervisor or admin');
    password = await readPassword(`password for ${arg}: `);
    const weak = passwordProblem(password);
    if (weak) throw new UsageError(weak);
  }
  const conn = await connect(config, { demoCheck: true });
  try {
    const s = conn.service;
    switch (`${group} ${command}`) {
      case 'users add': {
        const u = await s.createUser(actor, { username: arg!, password: password!, role: values.role! });
        print(`created ${u.username} (${u.role})`, u);
        break;
      }
      case 'users list': {
        const users = await s.listUsers();
        print(table(users, ['username', 'role', 'id', 'createdAt', 'updatedAt', 'lastSignInAt']), users);
        break;
      }
      case 'users passwd': {
        const u = await s.updateUser(actor, arg!, { password: password! });
        print(`changed the password of ${u.username}; their sessions ended`, u);
        break;
      }
      case 'users remove':
        await s.removeUser(actor, need(arg, '<username>'));
        print(`removed ${arg}`, { removed: arg });
        break;
      case 'keys create': {
        const { key, token } = await s.createIngestKey(actor, { source: need(values.source ?? arg, '<source>'), name: need(values.name, '--name') });
        print(`created ingest key ${key.id} for ${key.source} (${key.name}). The key, shown only now:\n${token}`, { ...key, token });
        break;
      }
      case 'keys list': {
        const keys = await s.listIngestKeys();
        print(table(keys, ['id', 'source', 'name', 'createdAt', 'createdBy', 'lastUsedAt', 'revokedAt']), keys);
        break;
      }
      case 'keys revoke': {
        const k = await s.revokeIngestKey(actor, need(arg, '<id>'));
        print(`revoked ingest key ${k.id} (${k.name})`, k);
        break;
      }
      case 'displays create': {
        const { display, token } = await s.createDisplay(actor, { name: need(values.name, '--name'), board: need(values.board, '--board') });
        print(
          `created display ${display.id} (${display.name}, board ${display.board}). Open this once on the TV (shown only now):\n/?display=${token}`,
          { ...display, token },
        );
        break;
      }
      case 'displays list': {
        const ds = await s.listDisplays();
        print(table(ds, ['id', 'name', 'board', 'createdAt', 'createdBy', 'lastUsedAt', 'revokedAt']), ds);
        break;
      }
      case 'displays revoke': {
        const d = await s.revokeDisplay(actor, need(arg, '<id>'));
        print(`revoked display ${d.id} (${d.name})`, d);
        break;
      }
    }
    if (conn.warning && ['passwd', 'remove', 'revoke'].includes(command!)) process.stderr.write(`${conn.warning}\n`);
    return 0;
  } finally {
    await conn.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`nabiz: ${(err as Error).message}\n`);
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`${USAGE}\n`);
  process.exitCode = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
}
