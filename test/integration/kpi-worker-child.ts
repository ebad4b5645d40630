// A KPI worker in its own process, so the restart test can SIGKILL it. Not a test file: kpi-pipeline.test.ts spawns it.
// The clock is fixed by KPI_TEST_NOW (epoch ms) so the figures can be compared.
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { startKpiWorker } from '../../server/kpi/pipeline.ts';

const config = loadConfig();
const log = createLogger(config);
const clickhouse = createClickHouse({
  url: config.CLICKHOUSE_URL!,
  database: config.CLICKHOUSE_DATABASE,
  username: config.CLICKHOUSE_USER,
  password: config.CLICKHOUSE_PASSWORD,
});
const now = Number(process.env.KPI_TEST_NOW);
await startKpiWorker({ config, log, clickhouse, redisUrl: config.REDIS_URL!, now: () => now });
process.stdout.write('kpi worker ready\n');
