// Starts the shared embedded ClickHouse and redis-server for the whole test run, and stops them at the end. Both
// require a password (generated into their data directories); the URLs provided carry it, as CLICKHOUSE_URL and
// REDIS_URL may (`http://default:…@127.0.0.1:port`, `redis://:…@127.0.0.1:port`), so every client built from them,
// in a test or in a child process given them as its environment, authenticates.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { spawnEmbeddedClickHouse } from '../../server/clickhouse/embedded/spawn.ts';
import { startEmbeddedRedis } from '../../server/redis/embedded.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** With the `default` user's credentials. */
    clickhouseUrl: string;
    /** With the password. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-test-'));
  const [clickhouse, redis] = await Promise.all([
    spawnEmbeddedClickHouse({ dataDir: path.join(dir, 'clickhouse'), port: 0 }),
    startEmbeddedRedis({ dataDir: path.join(dir, 'redis') }),
  ]);
  project.provide('clickhouseUrl', clickhouse.url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await Promise.all([clickhouse.stop(), redis.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
