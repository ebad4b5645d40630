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
    // A poll without its own timeout waits up to 10 s (vitest's default is 1 s): on a loaded 2-core machine a state
    // behind a few ClickHouse round trips (a console's re-read, an audit insert) can take longer than a second.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
