// Per-file isolation on the shared test servers: a fresh database (migrated) and a fresh Redis key prefix.
import type { ClickHouseClient } from '@clickhouse/client';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { createClickHouse, type ClickHouseTarget } from '../../server/clickhouse/client.ts';
import { migrate } from '../../server/clickhouse/migrate.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { createLogger, type Log } from '../../server/log.ts';
import { middayZone } from './process.ts';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface TestContext {
  config: Config;
  target: ClickHouseTarget;
  clickhouse: ClickHouseClient;
  /** Drops the test database and closes the client. */
  cleanup(): Promise<void>;
}

/**
 * A config for tests: the shared servers, a unique database and Redis prefix, the center's clock in the middle of its
 * day (middayZone: an event sent "a second ago" is in today's figures even when the suite runs at midnight UTC), and
 * any overrides given.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    CLICKHOUSE_URL: inject('clickhouseUrl'),
    REDIS_URL: inject('redisUrl'),
    CLICKHOUSE_DATABASE: uniqueName('t'),
    REDIS_PREFIX: uniqueName('t'),
    LOG_LEVEL: 'warn',
    CENTER_TZ: middayZone(),
    ...overrides,
  });
}

export async function createTestContext(overrides: Record<string, string> = {}): Promise<TestContext> {
  const config = testConfig(overrides);
  const target: ClickHouseTarget = {
    url: config.CLICKHOUSE_URL!,
    database: config.CLICKHOUSE_DATABASE,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
  };
  await migrate(target);
  const clickhouse = createClickHouse(target, { log: capturedLog('warn').log });
  return {
    config,
    target,
    clickhouse,
    async cleanup() {
      await clickhouse.command({ query: 'DROP DATABASE IF EXISTS {db:Identifier}', query_params: { db: target.database } });
      await clickhouse.close();
    },
  };
}

/** A logger whose every line is kept in memory, so a test can search what was logged. */
export function capturedLog(level: Config['LOG_LEVEL'] = 'info'): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ LOG_LEVEL: level }, sink), lines };
}
