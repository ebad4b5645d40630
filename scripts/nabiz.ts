// npm run nabiz -- <command>: manage access from a shell (docs/security.md).
//   users add <username> --role viewer|supervisor|admin     password from stdin (piped) or typed twice at a prompt
//   users list | users passwd <username> | users remove <username>
//   keys create <acd|ivr|crm> --name <name> (or --source acd) | keys list | keys revoke <id>
//   displays create --name <name> --board <board> | displays list | displays revoke <id>
// Add --json for machine-readable output. New keys and display tokens are printed once; they are not stored.
// Talks to CLICKHOUSE_URL / REDIS_URL, or to the embedded ClickHouse of a running `npm start` (whose API processes
// then end the affected sessions within seconds), or starts the embedded servers itself when nothing runs.
import os from 'node:os';
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
import { createClickHouse } from '../server/clickhouse/client.ts';
import { spawnEmbeddedClickHouse } from '../server/clickhouse/embedded/spawn.ts';
import { migrate } from '../server/clickhouse/migrate.ts';
import { ConfigError, INGEST_SOURCES, loadConfig, type Config } from '../server/config.ts';
import { ApiError } from '../server/errors.ts';
import { createRedis } from '../server/redis/connections.ts';
import { startEmbeddedRedis } from '../server/redis/embedded.ts';

const USAGE = `usage: npm run nabiz -- <command> [--json]
  users add <username> --role <viewer|supervisor|admin>   (password from stdin or a prompt)
  users list
  users passwd <username>
  users remove <username>
  keys create <acd|ivr|crm> --name <name>       (or --source <acd|ivr|crm>)
  keys list
  keys revoke <id>
  displays create --name <name> --board <board>
  displays list
  displays revoke <id>`;

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
  close(): Promise<void>;
  warning?: string;
}

async function connect(config: Config): Promise<Connections> {
  const closers: Array<() => Promise<void>> = [];
  let clickhouseUrl = config.CLICKHOUSE_URL;
  let redisUrl = config.REDIS_URL;
  let warning: string | undefined;
  if (clickhouseUrl === undefined) {
    const running = `http://127.0.0.1:${config.CLICKHOUSE_HTTP_PORT}`;
    if (await fetch(`${running}/ping`).then((r) => r.ok, () => false)) {
      clickhouseUrl = running;
      if (redisUrl === undefined) {
        warning = 'note: the running Nabız ends affected sessions and open streams within a few seconds';
      }
    } else {
      const ch = await spawnEmbeddedClickHouse({ dataDir: config.clickhouseDataDir, port: config.CLICKHOUSE_HTTP_PORT });
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
  await migrate(target);
  const clickhouse = createClickHouse(target);
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command, arg] = positionals;
  if (values.help || !group) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const who = os.userInfo().username;
  const actor: Actor = { actor_kind: 'cli', actor_id: who, actor_name: `cli:${who}`, ip: '', user_agent: 'nabiz-cli' };
  const print = (human: string, json: unknown) => process.stdout.write(`${values.json ? JSON.stringify(json) : human}\n`);
  const need = (v: string | undefined, what: string): string => {
    if (!v) throw new UsageError(`missing ${what}`);
    return v;
  };

  const known: Record<string, string[]> = { users: ['add', 'list', 'passwd', 'remove'], keys: ['create', 'list', 'revoke'], displays: ['create', 'list', 'revoke'] };
  if (!known[group]?.includes(command ?? '')) throw new UsageError(`unknown command: ${positionals.join(' ')}`);
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
  const conn = await connect(config);
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
  const message = err instanceof ConfigError || err instanceof UsageError || err instanceof ApiError ? err.message : (err as Error).message;
  process.stderr.write(`nabiz: ${message}\n`);
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`${USAGE}\n`);
  process.exitCode = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
}
