// Where ClickHouse and Redis come from: real servers when CLICKHOUSE_URL / REDIS_URL are set, otherwise the
// embedded ClickHouse (our chdb-backed HTTP server, a child process) and a redis-server child process. Both embedded
// servers require a password (kept in DATA_DIR, mode 0600; see spawn.ts and redis/embedded.ts), run in process
// groups of their own so that a terminal's Ctrl-C reaches only this process (which stops them last, after its drain:
// server/main.ts), and stop by themselves should this process die without stopping them. One that exits while this
// process runs (the OOM killer's pick, a crash) is reported (`onExit`): nothing works without it, and the process stops
// so that its supervisor (systemd, the container runtime) starts everything again.
import type { ClickHouseTarget } from './clickhouse/client.ts';
import { embeddedClickHouseOptions, spawnEmbeddedClickHouse } from './clickhouse/embedded/spawn.ts';
import type { Config } from './config.ts';
import type { Log } from './log.ts';
import { startEmbeddedRedis } from './redis/embedded.ts';

export interface Infrastructure {
  clickhouse: ClickHouseTarget;
  /** May carry credentials: never log it. */
  redisUrl: string;
  /** Stops what was started here: the embedded ClickHouse, then the embedded Redis. */
  stopEmbedded(): Promise<void>;
}

export async function startInfrastructure(
  config: Config,
  log: Log,
  /** An embedded server exited before stopEmbedded() asked it to. */
  onExit: (what: string, exitCode: number | null) => void,
): Promise<Infrastructure> {
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const watch = (what: string, exited: Promise<number | null>) => void exited.then((code) => stopping || onExit(what, code));
  try {
    let redisUrl = config.REDIS_URL;
    if (redisUrl === undefined) {
      const redis = await startEmbeddedRedis({
        dataDir: config.redisDataDir,
        install: true,
        onLog: (line) => log.info({ component: 'redis-server' }, line),
      });
      stops.unshift(async () => {
        log.info({ pid: redis.pid }, 'stopping embedded redis-server');
        await redis.stop();
        log.info({ exitCode: await redis.exited }, 'embedded redis-server stopped');
      });
      watch('embedded redis-server', redis.exited);
      redisUrl = redis.url;
      log.info(
        { address: redis.address, port: redis.port, pid: redis.pid, passwordFile: redis.passwordFile, dataDir: config.redisDataDir },
        `embedded redis-server started (password in ${redis.passwordFile})`,
      );
    }

    let clickhouse: ClickHouseTarget;
    if (config.CLICKHOUSE_URL === undefined) {
      const ch = await spawnEmbeddedClickHouse({ ...embeddedClickHouseOptions(config), onLog: (line) => log.info({ component: 'clickhouse' }, line) });
      stops.unshift(async () => {
        log.info({ pid: ch.pid }, 'stopping embedded ClickHouse');
        await ch.stop();
        log.info({ exitCode: await ch.exited }, 'embedded ClickHouse stopped');
      });
      watch('embedded ClickHouse', ch.exited);
      clickhouse = { url: ch.address, database: config.CLICKHOUSE_DATABASE, username: ch.username, password: ch.password };
      const where = ch.passwordFile === undefined ? 'its password is CLICKHOUSE_PASSWORD' : `password in ${ch.passwordFile}`;
      log.info(
        { address: ch.address, pid: ch.pid, version: ch.version, dataDir: config.clickhouseDataDir, user: ch.username, passwordFile: ch.passwordFile },
        `embedded ClickHouse started (user ${ch.username}, ${where}; ` +
          `${config.CLICKHOUSE_ANALYST_PASSWORD ? `read-only user analyst, database ${config.CLICKHOUSE_DATABASE}` : 'no analyst user: set CLICKHOUSE_ANALYST_PASSWORD'})`,
      );
    } else {
      clickhouse = {
        url: config.CLICKHOUSE_URL,
        database: config.CLICKHOUSE_DATABASE,
        username: config.CLICKHOUSE_USER,
        password: config.CLICKHOUSE_PASSWORD,
      };
    }

    return {
      clickhouse,
      redisUrl,
      stopEmbedded: async () => {
        stopping = true;
        for (const stop of stops) await stop();
      },
    };
  } catch (err) {
    stopping = true;
    for (const stop of stops) await stop().catch(() => {});
    throw err;
  }
}
