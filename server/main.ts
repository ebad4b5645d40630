// The process entry point: read the config, start what this process runs, listen, and shut down in order.
//   npm start            everything on one machine: embedded ClickHouse and Redis (unless their URLs are set),
//                        migrations, the API with the wallboard, and the workers
//   npm run api          the API alone (production: CLICKHOUSE_URL and REDIS_URL must be set)
//   npm run worker       the workers alone (same; so never the nightly backup, which is for the embedded ClickHouse)
//   npm run demo         `npm start -- --demo`: everything, plus a demo board, thresholds, a TV link and simulated
//                        traffic, in a database of its own (<CLICKHOUSE_DATABASE>_demo)
import { parseArgs } from 'node:util';
import { buildApp } from './app.ts';
import { startBackupSchedule } from './backup-schedule.ts';
import { createClickHouse } from './clickhouse/client.ts';
import { migrate } from './clickhouse/migrate.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startInfrastructure } from './infrastructure.ts';
import { startAlertEngine } from './alerts/runner.ts';
import { startKpiWorker } from './kpi/pipeline.ts';
import { createLogger } from './log.ts';
import { isLoopbackHost } from './loopback.ts';
import { DEMO_ANALYST_PASSWORD, DEMO_USER, demoConfig, startDemo } from './demo.ts';
import { createRedis } from './redis/connections.ts';
import { clearStaleInsertLock } from './ingest/dedupe.ts';
import { within } from './within.ts';
import { once } from 'node:events';
import { Shutdown } from './shutdown.ts';

const ROLES = ['all', 'api', 'worker'] as const;
type Role = (typeof ROLES)[number];

function fail(message: string): never {
  process.stderr.write(`nabiz: ${message}\n`);
  process.exit(2);
}

function readArgs(): { role: Role; demo: boolean } {
  let values: { only?: string; demo?: boolean } = {};
  try {
    ({ values } = parseArgs({ options: { only: { type: 'string' }, demo: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    fail((err as Error).message);
  }
  const role = values.only ?? 'all';
  if (!(ROLES as readonly string[]).includes(role)) fail(`--only=${role} is invalid: expected one of ${ROLES.join(', ')}`);
  if (values.demo && role !== 'all') fail('--demo runs the whole product: it cannot be combined with --only');
  return { role: role as Role, demo: values.demo ?? false };
}

function readConfig(role: Role): Config {
  try {
    const config = loadConfig();
    if (role !== 'all' && (config.embeddedClickHouse || config.embeddedRedis)) {
      fail(`--only=${role} runs one part of a multi-process deployment: set CLICKHOUSE_URL and REDIS_URL (use \`npm start\` for the all-in-one)`);
    }
    return config;
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

async function main(): Promise<void> {
  const { role, demo } = readArgs();
  const config = demo ? demoConfig(readConfig(role)) : readConfig(role);
  const log = createLogger(config);
  for (const warning of config.unknownSettings) log.warn(warning);
  const shutdown = new Shutdown(log, config.SHUTDOWN_TIMEOUT_MS);
  shutdown.onSignals();
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  try {
    const infra = await startInfrastructure(config, log, (what, exitCode) => {
      log.fatal({ exitCode }, `${what} exited unexpectedly: stopping Nabız, for its supervisor to start it again`);
      void shutdown.run(`${what} exited`, 1);
    });
    // (stopped even when an earlier step hangs past the deadline, e.g. on a Redis that died)
    shutdown.add('embedded services', () => infra.stopEmbedded(), { last: true });

    // Every role, so a worker started first on a fresh database finds its tables. Idempotent: concurrent processes may
    // both run it (every statement is IF NOT EXISTS).
    const { applied } = await migrate(infra.clickhouse, (msg) => log.info(msg));
    log.info({ applied: applied.length }, 'schema up to date');

    const clickhouse = createClickHouse(infra.clickhouse, { log });
    const redis = createRedis(infra.redisUrl, 'commands', (msg) => log.warn(msg));
    if (config.CLICKHOUSE_URL === undefined) {
      // (a failure is no reason not to start: ingest then waits out the old lock's lease)
      const cleared = await within(5_000, (redis.status === 'ready' ? Promise.resolve() : once(redis, 'ready')).then(() => clearStaleInsertLock(redis, config.REDIS_PREFIX))).catch((err: unknown) => {
        log.warn({ err }, 'could not look for an ingest insert lock a previous process left');
        return false;
      });
      if (cleared) log.warn('cleared the ingest insert lock a previous process left (it died holding it; its ClickHouse is gone, so none of its inserts can land)');
    }
    shutdown.add('clickhouse and redis clients', async () => {
      await clickhouse.close();
      redis.disconnect();
    });

    if (role === 'all' || role === 'worker') {
      const kpiWorker = await startKpiWorker({ config, log, clickhouse, redisUrl: infra.redisUrl });
      const alertEngine = await startAlertEngine({ config, log, clickhouse, redisUrl: infra.redisUrl });
      // the nightly backup, or its scheduler removed (BACKUP_AT=off, CLICKHOUSE_URL)
      const backups = await startBackupSchedule({ config, log, target: infra.clickhouse, redisUrl: infra.redisUrl });
      shutdown.add('workers', async () => {
        await alertEngine.close();
        await kpiWorker.close();
        await backups.close(); // last: a backup under way is waited for, up to the shutdown's deadline
      });
    }

    if (role === 'all' || role === 'api') {
      // the demo on loopback (its password is published) answers to loopback names only: see loopback.ts
      const app = await buildApp({ config, log, clickhouse, redis, loopbackHostOnly: demo && isLoopbackHost(config.HOST) });
      shutdown.add('http server', () => app.close());
      await app.listen({ port: config.PORT, host: config.HOST });
      const baseUrl = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;
      log.info(`Nabız is up: ${baseUrl}/`);
      if (demo) {
        const running = await startDemo({ app, config, baseUrl, log });
        shutdown.add('demo traffic', () => running.stop());
        // The TV link carries a credential: it goes to the terminal, never to the log.
        log.info('demo running: the wallboard link is printed on the terminal');
        process.stderr.write(
          `\n  Nabız demo is running (simulated data, database ${config.CLICKHOUSE_DATABASE}).\n` +
            `  Wallboard (TV):  ${running.displayUrl}\n` +
            `  Console:         ${baseUrl}/#/console  (user ${DEMO_USER}, password ${running.password})\n` +
            (config.CLICKHOUSE_URL === undefined && config.CLICKHOUSE_ANALYST_PASSWORD === DEMO_ANALYST_PASSWORD
              ? `  SQL (analysts):  http://127.0.0.1:${config.CLICKHOUSE_HTTP_PORT}/?database=${config.CLICKHOUSE_DATABASE}  (user analyst, password ${DEMO_ANALYST_PASSWORD}; docs/analysts.md)\n`
              : '') +
            `  Your own events: npm run nabiz -- keys create acd --name mine --demo  (an ingest key of the demo's; docs/events.md)\n` +
            '\n',
        );
      }
    }
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    await shutdown.run('start-up failed', 1);
  }
}

await main();
