// Runs the embedded ClickHouse (main.ts) as a child process — the one process that owns the data directory — and
// waits until it listens.
//
// Its `default` user has full rights and always a password: the one given (CLICKHOUSE_PASSWORD), or else one generated
// on the first start and kept in `<dataDir>/password` (mode 0600, server/secret-file.ts). The passwords reach the child
// on its stdin, never on its command line or in its environment.
//
// The child runs in a process group of its own (`detached`), so the SIGINT of a terminal's Ctrl-C reaches only the
// process that started it, which stops it when its own work is done (server/shutdown.ts). Should that process die
// without stopping it (SIGKILL, a crash), the child sees its stdin end and stops by itself.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Config } from '../../config.ts';
import { readOrCreateSecretFile } from '../../secret-file.ts';
import { DEFAULT_CONNECTIONS } from './settings.ts';

export interface SpawnEmbeddedClickHouseOptions {
  dataDir: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  connections?: number;
  /** Password of the `default` user (CLICKHOUSE_PASSWORD); unset or empty: the one in `<dataDir>/password`, created if missing. */
  password?: string;
  /** Enables the read-only `analyst` user with this password. */
  analystPassword?: string;
  /** The analyst's default database (CLICKHOUSE_DATABASE): a query naming none runs there, not in `default`. */
  analystDatabase?: string;
  /** Where BACKUP … TO File(…) may write and RESTORE read (server/clickhouse/backup.ts); unset: nowhere. */
  backupDir?: string;
  /** Each stderr line of the child (JSON log lines). */
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface EmbeddedClickHouseProcess {
  /**
   * The URL for clients, **with the `default` user's credentials** (`http://default:…@127.0.0.1:8123`): give it to a
   * client or to CLICKHOUSE_URL, never to a log (log `address`).
   */
  url: string;
  /** Where it listens, without credentials (`http://127.0.0.1:8123`). */
  address: string;
  username: 'default';
  password: string;
  /** The file holding the password; undefined when it was given (`password`). */
  passwordFile: string | undefined;
  port: number;
  pid: number;
  version: string;
  /** SIGTERM, then SIGKILL if it has not exited after `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** The exit code (null when ended by a signal). */
  exited: Promise<number | null>;
}

const MAIN_PATH = fileURLToPath(new URL('./main.ts', import.meta.url));
// Resolved from this file rather than named bare: `--import tsx` would resolve against the child's cwd.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const STDERR_TAIL_LINES = 30;

/** Where the embedded ClickHouse on `dataDir` keeps the `default` user's generated password. */
export function clickhousePasswordFile(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'password');
}

export const PASSWORD_FILE_WHAT = "the password of the embedded ClickHouse's `default` user";

/**
 * The password of the embedded ClickHouse's `default` user on `dataDir`: `given` (CLICKHOUSE_PASSWORD) when not empty,
 * else the one in its password file — generated there on the first start.
 */
export async function embeddedClickHousePassword(dataDir: string, given?: string): Promise<{ password: string; file: string | undefined }> {
  if (given) return { password: given, file: undefined };
  const file = clickhousePasswordFile(dataDir);
  return { password: (await readOrCreateSecretFile(file, PASSWORD_FILE_WHAT)).secret, file };
}

interface ReadyLine {
  ready: true;
  url: string;
  port: number;
  version: string;
}

function isReadyLine(value: unknown): value is ReadyLine {
  const v = value as Partial<ReadyLine> | null;
  return typeof v === 'object' && v !== null && v.ready === true && typeof v.url === 'string' && typeof v.port === 'number';
}

/**
 * The embedded server as the configuration says to run it: `npm start`, `npm run clickhouse`, `npm run migrate` and
 * the CLI, whichever starts it, run the same server (its data, port, passwords, analyst and backup directory).
 */
export function embeddedClickHouseOptions(
  config: Pick<Config, 'clickhouseDataDir' | 'CLICKHOUSE_HTTP_PORT' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_ANALYST_PASSWORD' | 'CLICKHOUSE_DATABASE' | 'backupDir'>,
): SpawnEmbeddedClickHouseOptions {
  return {
    dataDir: config.clickhouseDataDir,
    port: config.CLICKHOUSE_HTTP_PORT,
    password: config.CLICKHOUSE_PASSWORD || undefined,
    analystPassword: config.CLICKHOUSE_ANALYST_PASSWORD,
    analystDatabase: config.CLICKHOUSE_DATABASE,
    backupDir: config.backupDir,
  };
}

export async function spawnEmbeddedClickHouse(opts: SpawnEmbeddedClickHouseOptions): Promise<EmbeddedClickHouseProcess> {
  const connections = opts.connections ?? DEFAULT_CONNECTIONS;
  const { password, file: passwordFile } = await embeddedClickHousePassword(opts.dataDir, opts.password);
  const args = [
    '--import', TSX_LOADER, MAIN_PATH,
    '--data-dir', path.resolve(opts.dataDir),
    '--host', opts.host ?? '127.0.0.1',
    '--port', String(opts.port ?? 0),
    '--connections', String(connections),
  ];
  if (opts.backupDir !== undefined) args.push('--backup-dir', path.resolve(opts.backupDir));
  if (opts.analystDatabase !== undefined) args.push('--analyst-database', opts.analystDatabase);
  const child = spawn(process.execPath, args, {
    // stdin: the secrets, then held open as the "parent alive" signal (main.ts).
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C signals the parent only, which stops the child after its own drain.
    // Not unref'd: the parent keeps track of it.
    detached: true,
    // A deliberately small environment (nothing inherited, e.g. no NODE_OPTIONS from a test runner; and no secret).
    // Every chdb query and insert occupies a libuv worker thread for its whole duration; zlib uses the same pool, so it
    // gets more threads than queries can run at once (the default of 4 capped throughput). TZ fixes the engine's
    // server timezone.
    env: { UV_THREADPOOL_SIZE: String(connections + 4), TZ: 'UTC' },
  });
  // The child reads one line of secrets, then waits for the end of stdin (this process gone). Never ended here.
  child.stdin.on('error', () => {}); // EPIPE if the child died early: its exit says why
  child.stdin.write(`${JSON.stringify({ defaultPassword: password, analystPassword: opts.analystPassword })}\n`);

  // 'close', not 'exit': its last log lines are read before it counts as exited.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    opts.onLog?.(line);
  });

  const ready = new Promise<ReadyLine>((resolve, reject) => {
    const stdout = createInterface({ input: child.stdout });
    stdout.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return;
      }
      if (isReadyLine(parsed)) resolve(parsed);
    });
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`embedded ClickHouse exited (code ${code}) before it was ready:\n${stderrTail.join('\n')}`)));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`embedded ClickHouse not ready after ${timeoutMs} ms:\n${stderrTail.join('\n')}`)), timeoutMs);
  });

  let info: ReadyLine;
  try {
    info = await Promise.race([ready, timeout]);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    clearTimeout(timer);
  }

  const pid = child.pid;
  if (pid === undefined) throw new Error('embedded ClickHouse has no pid');
  const withCredentials = new URL(info.url);
  withCredentials.username = 'default';
  withCredentials.password = password;
  return {
    url: withCredentials.href.replace(/\/$/, ''),
    address: info.url,
    username: 'default',
    password,
    passwordFile,
    port: info.port,
    pid,
    version: info.version,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    stop: async (deadlineMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let killTimer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => (killTimer = setTimeout(() => resolve('deadline'), deadlineMs)));
      if ((await Promise.race([exited, deadline])) === 'deadline') {
        child.kill('SIGKILL');
        await exited;
      }
      clearTimeout(killTimer);
    },
  };
}
