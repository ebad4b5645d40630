// Health checks: /healthz says the process is up; /readyz says its dependencies answer (503 names the failing one).
// Both are open (load balancers, orchestrators): the reason a dependency failed, which can name internal addresses,
// goes to the log only.
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { within } from './within.ts';

const CHECK_TIMEOUT_MS = 2_000;

export interface HealthDeps {
  clickhouse: ClickHouseClient;
  redis: Redis;
}

export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  const checks: Record<string, () => Promise<void>> = {
    // a query, not /ping: /ping answers anyone, so a rejected password or a database gone would still read "ok"
    clickhouse: async () => {
      const r = await deps.clickhouse.ping({ select: true });
      if (!r.success) throw r.error;
    },
    redis: async () => {
      const pong = await deps.redis.ping();
      if (pong !== 'PONG') throw new Error(`unexpected reply ${pong}`);
    },
  };

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await within(CHECK_TIMEOUT_MS, check());
          return [name, 'ok'] as const;
        } catch (err) {
          app.log.warn({ dependency: name, err: (err as Error).message }, 'readiness check failed');
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const failing = results.filter(([, s]) => s !== 'ok').map(([n]) => n);
    return reply
      .code(failing.length ? 503 : 200)
      .send({ status: failing.length ? 'unavailable' : 'ok', failing, checks: Object.fromEntries(results) });
  });
}
