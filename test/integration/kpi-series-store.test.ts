// Today's series in Redis (server/kpi/series-store.ts), on a real redis-server: a writer writes only the points that
// changed since its last write and names the changed scopes in its message; it replaces the series whole when Redis
// does not hold its last write (another writer wrote since, or Redis lost its data); a write that another writer
// interleaves starts again.
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Series } from '../../server/kpi/compute.ts';
import { newSeriesWriterState, readSeries, storeSeries, type SeriesMessage } from '../../server/kpi/series-store.ts';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { uniqueName } from '../support/context.ts';

const names = kpiRedisNames(uniqueName('t'));
let redis: Redis;
let other: Redis;
let sub: Redis;
const messages: SeriesMessage[] = [];

const Q = 900_000;
const DAY = Date.parse('2026-11-24T00:00:00.000Z');

/** A scope's series: `offered[i]` in the i-th quarter hour from `from` (ms). */
function series(scope: string, asOf: string, offered: number[], from = DAY): Series {
  return {
    window: 'today',
    scope,
    asOf,
    intervalMinutes: 15,
    points: offered.map((n, i) => ({
      start: new Date(from + i * Q).toISOString(),
      end: new Date(from + (i + 1) * Q).toISOString(),
      values: { offered: { value: n, n } },
    })),
  };
}

/** What readSeries gives, as [scope, asOf, offered per point]. */
const read = async (scopes: string[] = []) =>
  (await readSeries(redis, names, scopes)).map((s) => [s.scope, s.asOf, s.points.map((p) => p.values.offered?.value)]);

/** Every key of this test's names: Redis "losing its data". */
async function wipe(): Promise<void> {
  const keys = await redis.keys(`${names.seriesPoints}*`);
  await redis.del(names.seriesScopes, names.seriesState, names.formerSeries, ...keys);
}

const settle = () => new Promise((r) => setTimeout(r, 100));

beforeAll(async () => {
  redis = createRedis(inject('redisUrl'), 'commands');
  other = createRedis(inject('redisUrl'), 'commands');
  sub = createRedis(inject('redisUrl'), 'subscriber');
  // commands are not queued while connecting: wait until they are ready (on a busy machine it may take a moment)
  for (const c of [redis, other]) if (c.status !== 'ready') await once(c, 'ready');
  await sub.subscribe(names.seriesChannel);
  sub.on('message', (_c, raw) => messages.push(JSON.parse(raw) as SeriesMessage));
});
afterAll(async () => {
  await wipe();
  redis.disconnect();
  other.disconnect();
  sub.disconnect();
});

describe("today's series in Redis", () => {
  it('writes the points that changed, names the changed scopes, and removes what went', async () => {
    await wipe();
    messages.length = 0;
    const w = newSeriesWriterState();
    const t1 = '2026-11-24T00:20:01.000Z';
    const t2 = '2026-11-24T00:20:06.000Z';
    expect(await storeSeries(redis, names, [series('center', t1, [3, 1]), series('queue:a', t1, [2]), series('queue:b', t1, [1])], w)).toBe(3);
    // A point of queue:a is changed behind the writer's back: a write that finds queue:a unchanged leaves it as it is.
    const p0 = new Date(DAY).toISOString();
    await redis.hset(names.seriesPoints + 'queue:a', p0, JSON.stringify(series('queue:a', t1, [99]).points[0]));
    // The next publication: center's open interval moved (1 → 2), queue:a did not, queue:b has no series any more.
    const departed = (gone: string[]) => gone.map((scope) => series(scope, t2, [0]));
    expect(await storeSeries(redis, names, [series('center', t2, [3, 2]), series('queue:a', t2, [2])], w, departed)).toBe(1);
    // queue:a was not rewritten (it still holds the 99), and every series reads as of the latest publication
    expect(await read()).toEqual([['center', t2, [3, 2]], ['queue:a', t2, [99]]]);
    expect(await read(['queue:b', 'center'])).toEqual([['center', t2, [3, 2]]]);
    expect((await redis.smembers(names.seriesScopes)).sort()).toEqual(['center', 'queue:a']);
    expect(await redis.exists(names.seriesPoints + 'queue:b')).toBe(0);
    // A new day: yesterday's points go, today's first quarter hour comes.
    const t3 = '2026-11-25T00:00:05.000Z';
    expect(await storeSeries(redis, names, [series('center', t3, [0], DAY + 96 * Q)], w, departed)).toBe(1);
    expect(await read()).toEqual([['center', t3, [0]]]);
    expect(await redis.hkeys(names.seriesPoints + 'center')).toEqual(['2026-11-25T00:00:00.000Z']);
    await settle();
    // the messages name the changed scopes, and carry the departed ones whole
    expect(messages.map((m) => [m.asOf, m.scopes, m.departed.map((s) => s.scope)])).toEqual([
      [t1, ['center', 'queue:a', 'queue:b'], []],
      [t2, ['center'], ['queue:b']],
      [t3, ['center'], ['queue:a']],
    ]);
    expect(messages[1]!.departed[0]!.points.map((p) => p.values.offered?.value)).toEqual([0]);
  });

  it('replaces the series whole when Redis does not hold its last write: another writer wrote since, or Redis lost it', async () => {
    await wipe();
    const w1 = newSeriesWriterState();
    const w2 = newSeriesWriterState();
    const t1 = '2026-11-24T00:20:01.000Z';
    await storeSeries(redis, names, [series('center', t1, [1]), series('queue:a', t1, [1])], w1);
    // Another worker process writes its own picture: its first write replaces the series whole (queue:a goes).
    const t2 = '2026-11-24T00:20:02.000Z';
    await storeSeries(redis, names, [series('center', t2, [2]), series('queue:c', t2, [5])], w2);
    expect(await read()).toEqual([['center', t2, [2]], ['queue:c', t2, [5]]]);
    // The first one writes again, with the same figures as its last write: Redis no longer holds that write, so
    // everything is written again (a difference from its own last write would keep the other's center and queue:c).
    const t3 = '2026-11-24T00:20:03.000Z';
    await storeSeries(redis, names, [series('center', t3, [1]), series('queue:a', t3, [1])], w1);
    expect(await read()).toEqual([['center', t3, [1]], ['queue:a', t3, [1]]]);
    // Redis loses its data (and still holds the whole series of an older version): the next write repairs it.
    await wipe();
    await redis.hset(names.formerSeries, 'center', '{}');
    const t4 = '2026-11-24T00:20:04.000Z';
    expect(await storeSeries(redis, names, [series('center', t4, [1]), series('queue:a', t4, [1])], w1)).toBe(2);
    expect(await read()).toEqual([['center', t4, [1]], ['queue:a', t4, [1]]]);
    expect(await redis.exists(names.formerSeries)).toBe(0);
  });

  it('starts again when another writer writes between its look and its write', async () => {
    await wipe();
    const w = newSeriesWriterState();
    const t1 = '2026-11-24T00:20:01.000Z';
    await storeSeries(redis, names, [series('center', t1, [1]), series('queue:a', t1, [1])], w);
    // Between this writer's look at the state and its transaction, another one writes queue:z and takes the state.
    const look = redis.smembers.bind(redis);
    let looks = 0;
    redis.smembers = (async (key: string) => {
      if (++looks === 1) {
        await other.multi().hset(names.seriesPoints + 'queue:z', 'x', '{}').sadd(names.seriesScopes, 'queue:z').hset(names.seriesState, 'writer', 'another').exec();
      }
      return look(key);
    }) as typeof redis.smembers;
    try {
      const t2 = '2026-11-24T00:20:02.000Z';
      expect(await storeSeries(redis, names, [series('center', t2, [2]), series('queue:a', t2, [1])], w)).toBe(2);
      // the first transaction was dropped; the second look found another writer's state and replaced it whole
      expect(looks).toBe(2);
      expect(await read()).toEqual([['center', t2, [2]], ['queue:a', t2, [1]]]);
      expect(await redis.exists(names.seriesPoints + 'queue:z')).toBe(0);
    } finally {
      redis.smembers = look;
    }
  });
});
