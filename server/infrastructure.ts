// Where ClickHouse and Redis come from: real servers when CLICKHOUSE_URL / REDIS_URL are set, otherwise the
// embedded ClickHouse (our chdb-backed HTTP server, a child process) and a redis-server child process.
import type { ClickHouseTarget } from './clickhouse/client.ts';
import { spawnEmbeddedClickHouse } from './clickhouse/embedded/spawn.ts';
import type { Config } from './config.ts';
import type { Log } from './log.ts';
import { startEmbeddedRedis } from './redis/embedded.ts';

export interface Infrastructure {
  clickhouse: ClickHouseTarget;
  redisUrl: string;
  /** Stops what was started here: the embedded ClickHouse, then the embedded Redis. */
  stopEmbedded(): Promise<void>;
}

export async function startInfrastructure(config: Config, log: Log): Promise<Infrastructure> {
  const stops: Array<() => Promise<void>> = [];
  try {
    let redisUrl = config.REDIS_URL;
    if (redisUrl === undefined) {
      const redis = await startEmbeddedRedis({
        dataDir: config.redisDataDir,
        install: true,
        onLog: (line) => log.info({ component: 'redis-server' }, line),
      });
      stops.unshift(() => redis.stop());
      redisUrl = redis.url;
      log.info({ url: redis.url, dataDir: config.redisDataDir }, 'embedded redis-server started');
    }

    let clickhouseUrl = config.CLICKHOUSE_URL;
    if (clickhouseUrl === undefined) {
      const ch = await spawnEmbeddedClickHouse({
        dataDir: config.clickhouseDataDir,
        port: config.CLICKHOUSE_HTTP_PORT,
        analystPassword: config.CLICKHOUSE_ANALYST_PASSWORD,
        backupDir: config.backupDir,
        onLog: (line) => log.info({ component: 'clickhouse' }, line),
      });
      stops.unshift(() => ch.stop());
      clickhouseUrl = ch.url;
      log.info({ url: ch.url, version: ch.version, dataDir: config.clickhouseDataDir }, 'embedded ClickHouse started');
    }

    return {
      clickhouse: {
        url: clickhouseUrl,
        database: config.CLICKHOUSE_DATABASE,
        username: config.CLICKHOUSE_USER,
        password: config.CLICKHOUSE_PASSWORD,
      },
      redisUrl,
      stopEmbedded: async () => {
        for (const stop of stops) await stop();
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => {});
    throw err;
  }
}
