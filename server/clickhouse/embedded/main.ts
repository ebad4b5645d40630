// Child-process entry of the embedded ClickHouse (see spawn.ts):
//   tsx server/clickhouse/embedded/main.ts --data-dir <path> --host <ip> --port <n> [--connections <n>]
//                                          [--backup-dir <absolute path>] [--analyst-database <name>]
// Secrets never travel on the command line (any local user can read it, `ps`): the first line of stdin is a JSON
// object `{"defaultPassword": "…", "analystPassword": "…"}` (analystPassword optional). stdin then stays open: its end
// means the parent is gone (even killed with SIGKILL, its end of the pipe closes), and the server stops as on SIGTERM,
// so it never outlives the process that started it.
// Prints one JSON line `{"ready":true,"url":…,"port":…,"version":…}` on stdout once listening; logs are JSON lines
// on stderr (never a secret). SIGTERM/SIGINT: stop accepting, finish in-flight queries, release the data directory,
// exit 0. Reads no environment variables: the configuration module is their only reader, and it passes flags.
import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedClickHouse, type EmbeddedUser, type LogLevel } from './server.ts';

/** Limits forced on every query of the `analyst` user, whatever settings the request carries. */
const ANALYST_LIMITS: Record<string, string> = {
  max_execution_time: '60',
  max_memory_usage: String(2 * 1024 ** 3),
  max_result_rows: '1000000',
  result_overflow_mode: 'throw',
};

const SHUTDOWN_DEADLINE_MS = 10_000;

class UsageError extends Error {}

interface Flags {
  dataDir: string;
  host: string;
  port: number;
  connections: number | undefined;
  backupDir: string | undefined;
  /** The `analyst` user's default database (Nabız's): queries naming none run there. */
  analystDatabase: string | undefined;
}

function integerFlag(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

function parseFlags(argv: string[]): Flags {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        connections: { type: 'string' },
        'backup-dir': { type: 'string' },
        'analyst-database': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const dataDir = values['data-dir'];
  if (!dataDir) throw new UsageError('--data-dir <path> is required');
  const host = values.host;
  if (!host || isIP(host) === 0) throw new UsageError(`--host must be an IP address, got '${host ?? ''}'`);
  if (values.port === undefined) throw new UsageError('--port <n> is required (0 = any free port)');
  const backupDir = values['backup-dir'];
  if (backupDir !== undefined && !path.isAbsolute(backupDir)) throw new UsageError(`--backup-dir must be an absolute path, got '${backupDir}'`);
  return {
    dataDir,
    host,
    port: integerFlag('port', values.port, 0, 65535),
    connections: values.connections === undefined ? undefined : integerFlag('connections', values.connections, 1, 64),
    backupDir,
    analystDatabase: values['analyst-database'] || undefined,
  };
}

function log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (level === 'debug') return;
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'embedded-clickhouse', msg, ...fields })}\n`);
}

interface Secrets {
  defaultPassword: string;
  analystPassword: string | undefined;
}

function parseSecrets(line: string): Secrets {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UsageError('the first line of stdin must be a JSON object of secrets (see spawn.ts)');
  }
  const v = value as { defaultPassword?: unknown; analystPassword?: unknown } | null;
  if (typeof v !== 'object' || v === null || typeof v.defaultPassword !== 'string' || v.defaultPassword === '') {
    throw new UsageError('stdin: defaultPassword must be a non-empty string');
  }
  if (v.analystPassword !== undefined && (typeof v.analystPassword !== 'string' || v.analystPassword === '')) {
    throw new UsageError('stdin: analystPassword, when given, must be a non-empty string');
  }
  return { defaultPassword: v.defaultPassword, analystPassword: v.analystPassword };
}

/**
 * Reads the secrets line from stdin, then keeps reading it: `onParentGone` runs when it ends (the parent closed its
 * end of the pipe, or died).
 */
function readStdin(onParentGone: () => void): Promise<Secrets> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let secretsRead = false;
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (secretsRead) return;
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      secretsRead = true;
      const line = buffered.slice(0, newline);
      buffered = '';
      try {
        resolve(parseSecrets(line));
      } catch (err) {
        reject(err);
      }
    });
    process.stdin.on('end', () => {
      if (!secretsRead) reject(new UsageError('stdin ended before the secrets line'));
      else onParentGone();
    });
    // stdin that is not a pipe (e.g. closed): same as ended
    process.stdin.on('error', () => (secretsRead ? onParentGone() : reject(new UsageError('stdin cannot be read'))));
  });
}

async function main(): Promise<void> {
  // Once the parent is gone, so are the readers of stdout and stderr: a write then fails (EPIPE), which must not
  // crash the process before it has released the data directory.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => {});
  let flags: Flags;
  let secrets: Secrets;
  let stop: (reason: string) => void = () => {
    // the parent went away before the server was up: nothing to drain
    log('info', 'parent process gone before start-up finished; exiting');
    process.exit(0);
  };
  try {
    flags = parseFlags(process.argv.slice(2));
    secrets = await readStdin(() => stop('parent process gone'));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`embedded-clickhouse: ${err.message}\n`);
    process.exit(2);
  }
  const users: EmbeddedUser[] = secrets.analystPassword
    ? [{ name: 'analyst', password: secrets.analystPassword, readonly: true, settings: ANALYST_LIMITS, ...(flags.analystDatabase ? { database: flags.analystDatabase } : {}) }]
    : [];
  const server = await startEmbeddedClickHouse({
    dataDir: flags.dataDir,
    host: flags.host,
    port: flags.port,
    connections: flags.connections,
    defaultPassword: secrets.defaultPassword,
    users,
    backupDir: flags.backupDir,
    log,
  });
  let stopping = false;
  stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down', { reason });
    server.close(SHUTDOWN_DEADLINE_MS).then(
      () => process.exit(0),
      (err: unknown) => {
        log('error', 'shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.stdout.write(`${JSON.stringify({ ready: true, url: server.url, port: server.port, version: server.version })}\n`);
}

main().catch((err: unknown) => {
  log('error', 'embedded ClickHouse failed to start', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
