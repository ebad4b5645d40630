// npm run clickhouse: runs only the embedded ClickHouse server, configured like `npm start` would run it
// (DATA_DIR, CLICKHOUSE_HTTP_PORT, CLICKHOUSE_ANALYST_PASSWORD), until Ctrl-C.
import { spawnEmbeddedClickHouse } from '../server/clickhouse/embedded/spawn.ts';
import { ConfigError, loadConfig } from '../server/config.ts';

try {
  const config = loadConfig();
  const ch = await spawnEmbeddedClickHouse({
    dataDir: config.clickhouseDataDir,
    port: config.CLICKHOUSE_HTTP_PORT,
    analystPassword: config.CLICKHOUSE_ANALYST_PASSWORD,
    onLog: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(`embedded ClickHouse ${ch.version} on ${ch.url} (data: ${config.clickhouseDataDir})`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void ch.stop());
  process.exitCode = (await ch.exited) ?? 0;
} catch (err) {
  console.error(`clickhouse: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
  process.exit(1);
}
