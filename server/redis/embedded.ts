// Embedded Redis: Debian's redis-server as a child process on a free loopback port, AOF-persistent under
// DATA_DIR/redis, with the `noeviction` policy BullMQ requires. Used when REDIS_URL is unset.
//
// It requires a password (`requirepass`): generated on the first start and kept in `<dataDir>/password` (mode 0600,
// server/secret-file.ts). The configuration, password included, reaches redis-server on its stdin (`redis-server -`),
// never on its command line.
//
// It runs in a process group of its own (`detached`), so a terminal's Ctrl-C reaches only the process that started
// it, which stops it after its own drain; and under `setpriv --pdeathsig TERM` (util-linux), so the kernel stops it if
// that process dies without doing so (SIGKILL, a crash). The death signal fires when the *thread* that spawned it
// ends: spawn it from a process's main thread. Without setpriv, it stays in the parent's process group (a Ctrl-C then
// stops it at once, before the parent has drained) rather than risk outliving a killed parent.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { readOrCreateSecretFile } from '../secret-file.ts';

export interface EmbeddedRedis {
  /** The URL for clients, **with the password** (`redis://:…@127.0.0.1:port`): never log it (log `address`). */
  url: string;
  /** Where it listens, without credentials (`redis://127.0.0.1:port`). */
  address: string;
  password: string;
  passwordFile: string;
  port: number;
  pid: number;
  /** Asks redis-server to shut down (it flushes the AOF), waiting at most `deadlineMs` before SIGKILL. */
  stop(deadlineMs?: number): Promise<void>;
  /** Kills the process without letting it save (for fault tests). */
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

export const REDIS_INSTALL_HINT =
  'redis-server was not found on PATH. Install it with `apt-get install -y redis-server` ' +
  '(Debian/Ubuntu), or point REDIS_URL at a running Redis server.';

/**
 * Finds redis-server; when it is missing and this process runs as root on Debian/Ubuntu, installs it with apt-get
 * (saying so first), so the quick start works on a fresh machine.
 */
export function ensureRedisServer(say: (msg: string) => void): string | undefined {
  const found = findRedisServer();
  if (found || process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) return found;
  say('redis-server is not installed: installing it with `apt-get install -y redis-server` (running as root on Debian/Ubuntu)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'ignore', env }) : update;
  if (install.status !== 0) say('apt-get could not install redis-server');
  return findRedisServer();
}

function findCommand(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  return found.status === 0 && bin ? bin : undefined;
}

export function findRedisServer(): string | undefined {
  return findCommand('redis-server');
}

/** Where the embedded redis-server on `dataDir` keeps its generated password. */
export function redisPasswordFile(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'password');
}

function supportsSetProcTitle(bin: string): boolean {
  const version = /v=(\d+)\.(\d+)/.exec(spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '');
  return version !== null && Number(version[1]) * 100 + Number(version[2]) >= 602;
}

/** A redis.conf string value. */
function confString(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`redis-server: ${JSON.stringify(value)} cannot be written in its configuration`);
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** A port that was free a moment ago on loopback (redis-server cannot report a port it picked itself). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function ping(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setTimeout(500);
    sock.once('connect', () => sock.write(`AUTH ${password}\r\nPING\r\n`));
    let answer = '';
    sock.on('data', (d) => {
      answer += d.toString();
      if (!answer.includes('\r\n', answer.indexOf('\r\n') + 2)) return; // two replies: AUTH's, then PING's
      sock.destroy();
      resolve(answer.endsWith('+PONG\r\n'));
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

export async function startEmbeddedRedis(opts: {
  dataDir: string;
  port?: number;
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
  /** Install redis-server with apt-get when it is missing and we are root (the all-in-one start does). */
  install?: boolean;
}): Promise<EmbeddedRedis> {
  const bin = opts.install ? ensureRedisServer((msg) => opts.onLog?.(msg)) : findRedisServer();
  if (!bin) throw new Error(REDIS_INSTALL_HINT);
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const passwordFile = redisPasswordFile(dataDir);
  const { secret: password } = await readOrCreateSecretFile(passwordFile, 'the password of the embedded redis-server');
  const port = opts.port ?? (await freePort());
  const conf = [
    'bind 127.0.0.1',
    `port ${port}`,
    `dir ${confString(dataDir)}`,
    'appendonly yes',
    'appendfsync everysec',
    'maxmemory-policy noeviction',
    'protected-mode yes',
    'save ""',
    'daemonize no',
    'loglevel warning',
    // Keep the command line redis-server was given (`redis-server -`) instead of its title (Redis ≥ 6.2): what `ps`
    // shows is then what it was started with, and a test can hold that free of secrets.
    ...(supportsSetProcTitle(bin) ? ['set-proc-title no'] : []),
    `requirepass ${confString(password)}`,
  ].join('\n');
  const setpriv = findCommand('setpriv');
  if (!setpriv) {
    opts.onLog?.('setpriv (util-linux) not found: redis-server stays in this process group (a Ctrl-C stops it before the app has drained); install util-linux');
  }
  const [command, args] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', bin, '-']] : [bin, ['-']];
  const child: ChildProcess = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: setpriv !== undefined });
  child.stdin?.on('error', () => {}); // EPIPE if it died at once: its exit and output say why
  child.stdin?.end(`${conf}\n`);
  const tail: string[] = [];
  // whole lines: a chunk of a pipe may end mid-line
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      opts.onLog?.(line);
    });
  }
  // 'close', not 'exit': its last output lines (e.g. that it received SIGTERM) are read before it counts as exited.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  while (!(await ping(port, password))) {
    if (dead || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}:\n${tail.join('\n')}`);
    }
    await sleep(25);
  }

  return {
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    address: `redis://127.0.0.1:${port}`,
    password,
    passwordFile,
    port,
    pid: child.pid!,
    exited,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    async stop(deadlineMs = 5_000) {
      if (dead) return;
      child.kill('SIGTERM'); // redis-server treats SIGTERM as SHUTDOWN: it fsyncs the AOF and exits
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
