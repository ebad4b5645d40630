// npm run clickhouse: runs only the embedded ClickHouse server, configured like `npm start` would run it
// (DATA_DIR, CLICKHOUSE_HTTP_PORT, CLICKHOUSE_PASSWORD, CLICKHOUSE_ANALYST_PASSWORD; allowed to write backups to
// BACKUP_DIR, where `npm run nabiz -- backup` on this machine takes them), until Ctrl-C. Says where the `default` user's
// password is, never the password itself.
import { embeddedClickHouseOptions, spawnEmbeddedClickHouse } from '../server/clickhouse/embedded/spawn.ts';
import { ConfigError, loadConfig } from '../server/config.ts';

try {
  const config = loadConfig();
  const ch = await spawnEmbeddedClickHouse({ ...embeddedClickHouseOptions(config), onLog: (line) => process.stderr.write(`${line}\n`) });
  const password = ch.passwordFile === undefined ? '$CLICKHOUSE_PASSWORD' : `$(cat ${ch.passwordFile})`;
  console.log(
    `embedded ClickHouse ${ch.version} on ${ch.address} (data: ${config.clickhouseDataDir})\n` +
      `  user ${ch.username}, password ${ch.passwordFile === undefined ? 'from CLICKHOUSE_PASSWORD' : `in ${ch.passwordFile}`}; e.g.\n` +
      `  curl -u "${ch.username}:${password}" '${ch.address}/?query=SELECT+version()'`,
  );
  // The server runs in its own process group: Ctrl-C reaches this process only, which stops it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void ch.stop());
  process.exitCode = (await ch.exited) ?? 0;
} catch (err) {
  console.error(`clickhouse: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
  process.exit(1);
}
