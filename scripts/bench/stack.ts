// A whole Nabız stack for benchmarks: embedded ClickHouse and redis-server on a temp dir, migrations, and the API
// listening on a free loopback port. The load runs in this same process, so figures include its cost.
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../server/app.ts';
import { createClickHouse, type ClickHouseTarget } from '../../server/clickhouse/client.ts';
import { spawnEmbeddedClickHouse } from '../../server/clickhouse/embedded/spawn.ts';
import { migrate } from '../../server/clickhouse/migrate.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import type { IngestEvent } from '../../server/ingest/contract.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { generateEvents } from '../../server/simulator/index.ts';
import { freePort, startEmbeddedRedis } from '../../server/redis/embedded.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const BENCH_KEYS = { acd: 'bench-acd-key-0123456789', ivr: 'bench-ivr-key-0123456789', crm: 'bench-crm-key-0123456789' };

export interface BenchStack {
  config: Config;
  target: ClickHouseTarget;
  clickhouse: ClickHouseClient;
  redis: Redis;
  redisUrl: string;
  app: FastifyInstance;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startBenchStack(env: Record<string, string> = {}): Promise<BenchStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-bench-'));
  const [ch, rd] = await Promise.all([
    spawnEmbeddedClickHouse({ dataDir: path.join(dir, 'clickhouse') }),
    startEmbeddedRedis({ dataDir: path.join(dir, 'redis') }),
  ]);
  const port = await freePort();
  const config = loadConfig({
    CLICKHOUSE_URL: ch.url,
    REDIS_URL: rd.url,
    PORT: String(port),
    LOG_LEVEL: 'error',
    INGEST_KEYS: Object.entries(BENCH_KEYS).map(([s, k]) => `${s}:${k}`).join(','),
    INGEST_RATE_LIMIT_PER_MINUTE: '10000000',
    ...env,
  });
  const target = { url: ch.url, database: config.CLICKHOUSE_DATABASE, username: 'default', password: '' };
  await migrate(target);
  const clickhouse = createClickHouse(target);
  const redis = createRedis(rd.url, 'commands');
  const app = await buildApp({ config, log: createLogger(config), clickhouse, redis });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    config,
    target,
    clickhouse,
    redis,
    redisUrl: rd.url,
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await clickhouse.close();
      redis.disconnect();
      await Promise.all([ch.stop(), rd.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The ingest benchmarks' events: realistic traffic from the simulator (all three sources), deterministic by seed, with no duplicates. */
export function benchEvents(n: number, seed: string): IngestEvent[] {
  return generateEvents({ seed, count: n, agents: 500, duplicateRate: 0, lateRate: 0 });
}

/** Waits (at most `maxMs`) until the engine runs no merge; returns how long it waited. */
export async function mergesSettled(ch: ClickHouseClient, maxMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < maxMs) {
    const rs = await ch.query({ query: 'SELECT count() AS n FROM system.merges', format: 'JSONEachRow' });
    if (Number((await rs.json<{ n: string }>())[0]!.n) === 0) break;
    await sleep(1000);
  }
  return performance.now() - started;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** POSTs a body over a pool of keep-alive connections, enough for 1,000 requests/s open-loop at ~500 ms latency. */
export function postBody(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface PartProcess {
  /** An API process's address. */
  baseUrl?: string;
  stop(): Promise<void>;
}

/**
 * One part of the product in a process of its own, as production runs them (`npm run worker`, `npm run api`), against
 * the stack's ClickHouse and Redis: the workers (KPI and alerts; their work then does not share the API's event
 * loop), or a further API process on `port`. Resolves once it has started; the workers, once their first
 * recomputation is stored (the rollup loaded, the figures and the series written), so what follows measures them in
 * their steady state. BENCH_WORKER_LOG=1 (or debug, trace) copies its log to stderr.
 */
export async function startPartProcess(stack: BenchStack, part: { role: 'worker' } | { role: 'api'; port: number }): Promise<PartProcess> {
  const names = kpiRedisNames(stack.config.REDIS_PREFIX);
  const seriesBefore = await stack.redis.hget(names.seriesState, 'asOf');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/main.ts'), `--only=${part.role}`], {
    cwd: ROOT,
    // only what the part needs: nothing of the caller's environment leaks into the figures
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      CLICKHOUSE_URL: stack.target.url,
      CLICKHOUSE_DATABASE: stack.config.CLICKHOUSE_DATABASE,
      REDIS_URL: stack.redisUrl,
      REDIS_PREFIX: stack.config.REDIS_PREFIX,
      // info at least: the worker's "kpi worker started" line is how this function knows it is up
      LOG_LEVEL: process.env.BENCH_WORKER_LOG === 'debug' || process.env.BENCH_WORKER_LOG === 'trace' ? process.env.BENCH_WORKER_LOG : 'info',
      ...(part.role === 'api'
        ? { PORT: String(part.port), INGEST_KEYS: stack.config.INGEST_KEYS ?? '', INGEST_RATE_LIMIT_PER_MINUTE: String(stack.config.INGEST_RATE_LIMIT_PER_MINUTE) }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 100_000) out = out.slice(-10_000);
  });
  const exited = once(child, 'exit');
  const started = async (): Promise<boolean> => {
    if (part.role === 'worker') return /kpi worker started/i.test(out) && (await stack.redis.hget(names.seriesState, 'asOf')) !== seriesBefore;
    return fetch(`http://127.0.0.1:${part.port}/healthz`).then((r) => r.ok, () => false);
  };
  const deadline = Date.now() + 60_000;
  while (!(await started())) {
    if (child.exitCode !== null) throw new Error(`the ${part.role} process exited (${child.exitCode}) before it started: ${out.slice(-500)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the ${part.role} process did not start within 60 s: ${out.slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (process.env.BENCH_WORKER_LOG) child.stdout!.pipe(process.stderr);
  return {
    ...(part.role === 'api' ? { baseUrl: `http://127.0.0.1:${part.port}` } : {}),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
