// npm run migrate: applies the SQL migrations in sql/ to CLICKHOUSE_URL, or to the embedded ClickHouse (the
// running one if `npm start` is up, otherwise one started just for this).
import { migrate } from '../server/clickhouse/migrate.ts';
import { embeddedClickHouseOptions, embeddedClickHousePassword, spawnEmbeddedClickHouse } from '../server/clickhouse/embedded/spawn.ts';
import { ConfigError, loadConfig } from '../server/config.ts';

try {
  const config = loadConfig();
  let url = config.CLICKHOUSE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (url === undefined) {
    const running = `http://127.0.0.1:${config.CLICKHOUSE_HTTP_PORT}`;
    const up = await fetch(`${running}/ping`).then((r) => r.ok, () => false);
    if (up) {
      // with the `default` user's credentials: CLICKHOUSE_PASSWORD, or the running server's password file
      const { password } = await embeddedClickHousePassword(config.clickhouseDataDir, config.CLICKHOUSE_PASSWORD);
      url = Object.assign(new URL(running), { username: 'default', password }).href;
    } else {
      const ch = await spawnEmbeddedClickHouse(embeddedClickHouseOptions(config));
      url = ch.url;
      stop = () => ch.stop();
    }
  }
  try {
    const { applied } = await migrate(
      { url, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD },
      (msg) => console.log(msg),
    );
    console.log(applied.length ? `${applied.length} migration(s) applied` : 'schema already up to date');
  } finally {
    await stop?.();
  }
} catch (err) {
  console.error(`migrate: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
  process.exit(1);
}
