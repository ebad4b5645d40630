// Embedded Redis: Debian's redis-server as a child process on a free loopback port, AOF-persistent under
// DATA_DIR/redis, with the `noeviction` policy BullMQ requires. Used when REDIS_URL is unset.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface EmbeddedRedis {
  url: string;
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

export function findRedisServer(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  return found.status === 0 && bin ? bin : undefined;
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

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setTimeout(500);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
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
  await mkdir(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = [
    '--bind', '127.0.0.1',
    '--port', String(port),
    '--dir', opts.dataDir,
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--protected-mode', 'yes',
    '--save', '',
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      opts.onLog?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  while (!(await ping(port))) {
    if (dead || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}:\n${tail.join('\n')}`);
    }
    await sleep(25);
  }

  return {
    url: `redis://127.0.0.1:${port}`,
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
