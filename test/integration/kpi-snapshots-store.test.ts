// The latest snapshots in Redis (server/kpi/snapshots.ts), on a real redis-server: a recomputation writes only what
// changed and removes what is no longer active; readers see every snapshot as of the latest recomputation; a whole
// rewrite repairs a Redis that lost its data.
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { KPI_CATALOG, type KpiKey, type KpiValue } from '../../server/kpi/catalog.ts';
import type { Snapshot } from '../../server/kpi/compute.ts';
import { kpiRedisNames, readSnapshots, storeSnapshots, type SnapshotMessage } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { uniqueName } from '../support/context.ts';

const names = kpiRedisNames(uniqueName('t'));
let redis: Redis;
let sub: Redis;
const messages: SnapshotMessage[] = [];

function snap(scope: string, asOf: string, offered: number): Snapshot {
  const values = Object.fromEntries(KPI_CATALOG.map((d) => [d.key, { value: 0, n: 0 }])) as Record<KpiKey, KpiValue>;
  values.offered = { value: offered, n: offered };
  return { window: 'today', scope, asOf, values };
}

beforeAll(async () => {
  redis = createRedis(inject('redisUrl'), 'commands');
  sub = createRedis(inject('redisUrl'), 'subscriber');
  // commands are not queued while connecting: wait until it is ready (on a busy machine it may take a moment)
  if (redis.status !== 'ready') await once(redis, 'ready');
  await sub.subscribe(names.snapshotsChannel);
  sub.on('message', (_c, raw) => messages.push(JSON.parse(raw) as SnapshotMessage));
});
afterAll(async () => {
  await redis.del(names.snapshots, names.asOf);
  redis.disconnect();
  sub.disconnect();
});

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('latest snapshots in Redis', () => {
  it('writes what changed, removes what went, and reads every snapshot as of the latest recomputation', async () => {
    const previous = new Map<string, string>();
    const t1 = '2026-11-24T10:00:01.000Z';
    const t2 = '2026-11-24T10:00:02.000Z';
    expect(await storeSnapshots(redis, names, [snap('center', t1, 3), snap('queue:a', t1, 2), snap('queue:b', t1, 1)], previous)).toBe(3);
    // Second recomputation: center changed, queue:a did not, queue:b is no longer active.
    expect(await storeSnapshots(redis, names, [snap('center', t2, 4), snap('queue:a', t2, 2)], previous)).toBe(1);
    const stored = await redis.hgetall(names.snapshots);
    expect(Object.keys(stored).sort()).toEqual(['today|center', 'today|queue:a']);
    // queue:a was not rewritten (its stored asOf is the first recomputation's)…
    expect((JSON.parse(stored['today|queue:a']!) as Snapshot).asOf).toBe(t1);
    // …but readers see both as of the latest one, with their values.
    const read = await readSnapshots(redis, names, 'today');
    expect(read.map((s) => [s.scope, s.asOf, s.values.offered.value])).toEqual([['center', t2, 4], ['queue:a', t2, 2]]);
    expect((await readSnapshots(redis, names, 'today', ['queue:a']))[0]!.asOf).toBe(t2);
    await settle();
    // published: all three at first, then only the changed center
    expect(messages.map((m) => m.snapshots.map((s) => s.scope))).toEqual([['center', 'queue:a', 'queue:b'], ['center']]);
  });

  it('a whole rewrite puts back what Redis lost', async () => {
    const previous = new Map<string, string>();
    const t = '2026-11-24T10:01:00.000Z';
    await storeSnapshots(redis, names, [snap('center', t, 1), snap('queue:a', t, 1)], previous);
    await redis.del(names.snapshots); // Redis lost its data
    await storeSnapshots(redis, names, [snap('center', t, 1), snap('queue:a', t, 1)], previous);
    expect(await redis.hlen(names.snapshots)).toBe(0); // nothing changed, so nothing written…
    await storeSnapshots(redis, names, [snap('center', t, 1), snap('queue:a', t, 1)], previous, { full: true });
    expect(await redis.hlen(names.snapshots)).toBe(2); // …until the (every-minute) whole rewrite
  });
});
