// A KPI worker in its own process, so tests can SIGKILL it (a crash) or SIGTERM it (a graceful stop: the worker
// closes, giving its lease back). Not a test file: kpi-pipeline.test.ts and kpi-lease.test.ts spawn it.
// The clock is fixed by KPI_TEST_NOW (epoch ms) so the figures can be compared; KPI_TEST_LEASE_MS sets the lease.
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
const leaseMs = process.env.KPI_TEST_LEASE_MS ? Number(process.env.KPI_TEST_LEASE_MS) : undefined;
const worker = await startKpiWorker({ config, log, clickhouse, redisUrl: config.REDIS_URL!, now: () => now, ...(leaseMs ? { leaseMs } : {}) });
process.once('SIGTERM', () => {
  void worker.close().then(async () => {
    await clickhouse.close();
    process.stdout.write('kpi worker closed\n');
    process.exit(0);
  });
});
process.stdout.write(`kpi worker ready, ${worker.leading ? 'leading' : 'standing by'}\n`);
