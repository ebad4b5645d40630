// With Redis down (it holds the duplicate check's reservations and the per-key rate limit), ingest answers 503 with
// Retry-After and acknowledges nothing; once Redis is back, retried requests are stored exactly once. Runs on its own
// redis-server, which the test stops and restarts on the same port.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { Deduplicator, insertLockKey } from '../../server/ingest/dedupe.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '../../server/redis/embedded.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { waitFor } from '../support/wait.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-redis-fault-'));
let redisServer: EmbeddedRedis | undefined;
let ctx: TestContext | undefined;
afterAll(async () => {
  await redisServer?.stop();
  await ctx?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('ingest while Redis is down', () => {
  it('answers 503 with Retry-After, stores nothing, and stores retries exactly once after recovery', async () => {
    const port = await freePort();
    redisServer = await startEmbeddedRedis({ dataDir: dir, port });
    ctx = await createTestContext({ REDIS_URL: redisServer.url, INGEST_KEYS: 'acd:redis-fault-acd-key-1234' });
    const redis = createRedis(redisServer.url, 'commands');
    const app = await buildApp({ config: ctx.config, log: capturedLog('fatal').log, clickhouse: ctx.clickhouse, redis });
    try {
      const post = (events: unknown[]) =>
        app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { authorization: 'Bearer redis-fault-acd-key-1234', 'content-type': 'application/json' },
          payload: JSON.stringify(events),
        });
      const stored = async (ids: string[]) => {
        const rs = await ctx!.clickhouse.query({
          query: 'SELECT id, count() AS n FROM events WHERE id IN {ids:Array(String)} GROUP BY id ORDER BY id',
          query_params: { ids },
          format: 'JSONEachRow',
        });
        return (await rs.json<{ id: string; n: string | number }>()).map((r) => [r.id, Number(r.n)]);
      };

      const before = [sampleEvent('contact.offered')];
      expect((await post(before)).statusCode).toBe(202);

      await redisServer.stop();
      const batches = [0, 1].map(() => [sampleEvent('contact.offered'), sampleEvent('contact.abandoned')]);
      for (const batch of batches) {
        const res = await post(batch);
        expect(res.statusCode, res.body).toBe(503);
        expect(res.headers['retry-after']).toBe('5');
        expect(res.json().error.code).toBe('unavailable');
      }
      expect(await stored(batches.flat().map((e) => e.id))).toEqual([]);

      redisServer = await startEmbeddedRedis({ dataDir: dir, port });
      await waitFor('the API to reach Redis again', async () => (redis.status === 'ready' ? true : undefined));
      for (const batch of batches) expect((await post(batch)).json()).toEqual({ accepted: 2, duplicates: 0 });
      for (const batch of batches) expect((await post(batch)).json()).toEqual({ accepted: 0, duplicates: 2 });
      const ids = [...before, ...batches.flat()].map((e) => e.id).sort();
      expect(await stored(ids)).toEqual(ids.map((id) => [id, 1]));
    } finally {
      await app.close();
      redis.disconnect();
    }
  }, 60_000);

  it('answers 503 when Redis stops answering without closing its connections (frozen), then stores the retry once', async () => {
    // its own redis-server, frozen with SIGSTOP: the connections stay open and nothing is answered
    const own = await startEmbeddedRedis({ dataDir: path.join(dir, 'frozen') });
    const context = await createTestContext({ REDIS_URL: own.url, INGEST_KEYS: 'acd:redis-frozen-acd-key-1234' });
    const redis = createRedis(own.url, 'commands');
    const app = await buildApp({ config: context.config, log: capturedLog('fatal').log, clickhouse: context.clickhouse, redis });
    try {
      const post = (events: unknown[]) =>
        app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { authorization: 'Bearer redis-frozen-acd-key-1234', 'content-type': 'application/json' },
          payload: JSON.stringify(events),
        });
      expect((await post([sampleEvent('contact.offered')])).statusCode).toBe(202);
      const batch = [sampleEvent('contact.offered'), sampleEvent('contact.abandoned')];
      process.kill(own.pid, 'SIGSTOP');
      let res;
      try {
        res = await post(batch); // before: no answer, ever
      } finally {
        process.kill(own.pid, 'SIGCONT');
      }
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      const rs = await context.clickhouse.query({ query: 'SELECT count() AS n FROM events WHERE id IN {ids:Array(String)}', query_params: { ids: batch.map((e) => e.id) }, format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ n: '0' }]);
      // answering again: the retry is stored, once
      expect((await post(batch)).json()).toEqual({ accepted: 2, duplicates: 0 });
      expect((await post(batch)).json()).toEqual({ accepted: 0, duplicates: 2 });
    } finally {
      await app.close();
      redis.disconnect();
      await own.stop();
      await context.cleanup();
    }
  }, 60_000);

  it('a lock request that Redis runs only after the writer gave up on it leaves no lock behind', async () => {
    const own = await startEmbeddedRedis({ dataDir: path.join(dir, 'late-lock') });
    const redis = createRedis(own.url, 'commands');
    const context = await createTestContext({ REDIS_URL: own.url });
    const dedupe = new Deduplicator(redis, context.clickhouse, 'late', { leaseMs: 30_000, waitMs: 5_000 });
    try {
      await redis.ping();
      process.kill(own.pid, 'SIGSTOP');
      try {
        await expect(dedupe.lock()).rejects.toThrow(/Command timed out/); // the request answered 503
      } finally {
        process.kill(own.pid, 'SIGCONT');
      }
      // Redis runs what was sent while it was stopped: the lock request, then its release (before: a lock held for
      // the 30-s lease by a token nobody has, and every write 503 meanwhile)
      await redis.ping();
      expect(await redis.exists(insertLockKey('late'))).toBe(0);
      const lock = await dedupe.lock(); // taken at once
      await dedupe.unlock(lock);
    } finally {
      redis.disconnect();
      await own.stop();
      await context.cleanup();
    }
  }, 60_000);
});
