// Child-process entry of the embedded ClickHouse (see spawn.ts):
//   tsx server/clickhouse/embedded/main.ts --data-dir <path> --host <ip> --port <n> [--connections <n>] [--analyst-password <pw>]
//                                          [--backup-dir <absolute path>]
// Prints one JSON line `{"ready":true,"url":…,"port":…,"version":…}` on stdout once listening; logs are JSON lines
// on stderr. SIGTERM/SIGINT: stop accepting, finish in-flight queries, release the data directory, exit 0.
// Reads no environment variables: the configuration module is their only reader, and it passes flags.
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
  analystPassword: string | undefined;
  backupDir: string | undefined;
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
        'analyst-password': { type: 'string' },
        'backup-dir': { type: 'string' },
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
  const analystPassword = values['analyst-password'];
  if (analystPassword === '') throw new UsageError('--analyst-password must not be empty');
  const backupDir = values['backup-dir'];
  if (backupDir !== undefined && !path.isAbsolute(backupDir)) throw new UsageError(`--backup-dir must be an absolute path, got '${backupDir}'`);
  return {
    dataDir,
    host,
    port: integerFlag('port', values.port, 0, 65535),
    connections: values.connections === undefined ? undefined : integerFlag('connections', values.connections, 1, 64),
    analystPassword,
    backupDir,
  };
}

function log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (level === 'debug') return;
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'embedded-clickhouse', msg, ...fields })}\n`);
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`embedded-clickhouse: ${err.message}\n`);
    process.exit(2);
  }
  const users: EmbeddedUser[] = flags.analystPassword
    ? [{ name: 'analyst', password: flags.analystPassword, readonly: true, settings: ANALYST_LIMITS }]
    : [];
  const server = await startEmbeddedClickHouse({
    dataDir: flags.dataDir,
    host: flags.host,
    port: flags.port,
    connections: flags.connections,
    users,
    backupDir: flags.backupDir,
    log,
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down', { signal });
    server.close(SHUTDOWN_DEADLINE_MS).then(
      () => process.exit(0),
      (err: unknown) => {
        log('error', 'shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ ready: true, url: server.url, port: server.port, version: server.version })}\n`);
}

main().catch((err: unknown) => {
  log('error', 'embedded ClickHouse failed to start', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
