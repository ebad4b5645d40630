// With ClickHouse down, ingest answers 503 and acknowledges nothing; once it is back, retried requests are stored
// exactly once. Runs on its own embedded ClickHouse, which the test stops and restarts on the same port.
import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { spawnEmbeddedClickHouse, type EmbeddedClickHouseProcess } from '../../server/clickhouse/embedded/spawn.ts';
import { migrate } from '../../server/clickhouse/migrate.ts';
import { loadConfig } from '../../server/config.ts';
import { freePort } from '../../server/redis/embedded.ts';
import { capturedLog, uniqueName } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-fault-'));
let ch: EmbeddedClickHouseProcess | undefined;
afterAll(async () => {
  await ch?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ingest while ClickHouse is down', () => {
  it('answers 503 with Retry-After, stores nothing, and stores retries exactly once after recovery', async () => {
    const port = await freePort();
    ch = await spawnEmbeddedClickHouse({ dataDir: dir, port });
    const config = loadConfig({
      CLICKHOUSE_URL: ch.url,
      REDIS_URL: inject('redisUrl'),
      CLICKHOUSE_DATABASE: 'fault',
      REDIS_PREFIX: uniqueName('fault'),
      INGEST_KEYS: 'acd:fault-acd-key-123456',
    });
    const target = { url: ch.url, database: 'fault', username: 'default', password: '' };
    await migrate(target);
    const clickhouse = createClickHouse(target, { requestTimeoutMs: 5_000 });
    const redis = new Redis(inject('redisUrl'));
    const app = await buildApp({ config, log: capturedLog('fatal').log, clickhouse, redis });
    const post = (events: unknown[]) =>
      app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: 'Bearer fault-acd-key-123456', 'content-type': 'application/json' },
        payload: JSON.stringify(events),
      });

    const before = [sampleEvent('contact.offered')];
    expect((await post(before)).statusCode).toBe(202);

    await ch.stop();
    const batches = [0, 1, 2].map(() => [sampleEvent('contact.offered'), sampleEvent('contact.abandoned')]);
    for (const batch of batches) {
      const res = await post(batch);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error.code).toBe('unavailable');
      // the cause (a refused connection to an internal address) is logged, not told to the integrator
      expect(res.json().error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/i);
    }
    // a partly invalid batch is not acknowledged either: its rejections cannot be kept
    const mixed = [sampleEvent('contact.offered'), { id: 'broken' }];
    const refused = await post(mixed);
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/i);

    ch = await spawnEmbeddedClickHouse({ dataDir: dir, port });
    for (const batch of batches) {
      const res = await post(batch);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ accepted: 2, duplicates: 0 });
    }
    // retried once more (say the client missed the answer): all duplicates
    for (const batch of batches) expect((await post(batch)).json()).toEqual({ accepted: 0, duplicates: 2 });

    const ids = [...before, ...batches.flat()].map((e) => e.id);
    const rs = await clickhouse.query({
      query: 'SELECT id, count() AS n FROM events WHERE id IN {ids:Array(String)} GROUP BY id',
      query_params: { ids },
      format: 'JSONEachRow',
    });
    const counts = await rs.json<{ id: string; n: string }>();
    expect(counts).toHaveLength(ids.length);
    expect(counts.every((c) => Number(c.n) === 1)).toBe(true);

    await app.close();
    await clickhouse.close();
    redis.disconnect();
  });
});
