import { defineConfig } from 'vitest/config';

// One embedded ClickHouse and one redis-server serve the whole run (test/support/global-setup.ts); each test file
// isolates its data in its own database and Redis key prefix (test/support/context.ts), so files run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
