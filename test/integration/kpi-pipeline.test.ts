// The KPI pipeline end to end: signals → debounced BullMQ recomputations → snapshots in Redis and on the channel;
// and recovery: the worker and Redis are killed mid-stream, restarted, and the snapshots converge.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log.ts';
import { computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { createKpiSignaller, startKpiWorker } from '../../server/kpi/pipeline.ts';
import { setQueueSettings } from '../../server/kpi/settings.ts';
import { readSeries } from '../../server/kpi/series-store.ts';
import { kpiRedisNames, readSnapshots } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../server/redis/embedded.ts';
import { createTestContext, type TestContext } from '../support/context.ts';
import { ROOT } from '../support/process.ts';
import { waitFor } from '../support/wait.ts';
import { insertEvents, LATE_EVENTS, MAIN_EVENTS, NOW, SUPPORT_SETTINGS, TZ, type ScenarioEvent } from './kpi-scenario.ts';

function startWorkerProcess(ctx: TestContext, redisUrl: string): { child: ChildProcess; output: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/kpi-worker-child.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      CLICKHOUSE_URL: ctx.config.CLICKHOUSE_URL!,
      CLICKHOUSE_DATABASE: ctx.config.CLICKHOUSE_DATABASE,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: ctx.config.REDIS_PREFIX,
      CENTER_TZ: TZ,
      LOG_LEVEL: 'warn',
      KPI_TEST_NOW: String(NOW),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  return { child, output };
}

const sameFigures = (a: Snapshot[], b: Snapshot[]) =>
  JSON.stringify(a.map((s) => [s.window, s.scope, s.values])) === JSON.stringify(b.map((s) => [s.window, s.scope, s.values]));

describe('KPI pipeline', () => {
  let ctx: TestContext;
  let dir: string;
  const redises: EmbeddedRedis[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({ CENTER_TZ: TZ });
    await setQueueSettings(ctx.clickhouse, 'support', SUPPORT_SETTINGS);
    dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-kpi-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const r of redises) await r.stop().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
    await ctx?.cleanup();
  });

  it('converges to the same figures after the worker and Redis are killed mid-stream', async () => {
    const redisDir = path.join(dir, 'redis');
    const r1 = await startEmbeddedRedis({ dataDir: redisDir });
    redises.push(r1);
    const names = kpiRedisNames(ctx.config.REDIS_PREFIX);
    const w1 = startWorkerProcess(ctx, r1.url);
    children.push(w1.child);
    const signaller = createKpiSignaller({ redisUrl: r1.url, config: ctx.config });
    const reader1 = createRedis(r1.url, 'commands');

    // First part of the stream: the worker publishes snapshots for it.
    const firstPart = MAIN_EVENTS.slice(0, 30);
    await insertEvents(ctx.clickhouse, firstPart);
    expect(await signaller.signalRecompute()).toBe(true);
    const offeredSoFar = firstPart.filter((e) => e.type === 'contact.offered' && e.occurred_at >= '2025-03-09 21:00').length;
    await waitFor('the first snapshots', async () => {
      const [center] = await readSnapshots(reader1, names, 'today', ['center']);
      return center?.values.offered.value === offeredSoFar ? center : undefined;
    });

    // Mid-stream: more events and a signal, then both the worker and Redis die without warning.
    await insertEvents(ctx.clickhouse, MAIN_EVENTS.slice(30, 50));
    await signaller.signalRecompute();
    w1.child.kill('SIGKILL');
    r1.kill('SIGKILL');
    await Promise.all([r1.exited, new Promise((res) => w1.child.once('exit', res))]);
    reader1.disconnect();

    // While both are down, ingest keeps storing events (its signals are lost: the worker catches up at start).
    const rest: ScenarioEvent[] = [...MAIN_EVENTS.slice(50), ...LATE_EVENTS];
    await insertEvents(ctx.clickhouse, rest);
    await signaller.close();

    // Restart both on the same data: the worker's first pass rebuilds every snapshot from ClickHouse.
    const r2 = await startEmbeddedRedis({ dataDir: redisDir, port: r1.port });
    redises.push(r2);
    const w2 = startWorkerProcess(ctx, r2.url);
    children.push(w2.child);
    const reader2 = createRedis(r2.url, 'commands');
    try {
      // The truth: the same computation straight from ClickHouse, once the worker has caught up with the events.
      let truth: Snapshot[] = [];
      const byWindow = (w: string) => truth.filter((s) => s.window === w);
      const stored = await waitFor('converged snapshots', async () => {
        truth = await computeSnapshots(ctx.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24 });
        const today = await readSnapshots(reader2, names, 'today');
        return sameFigures(today, byWindow('today')) && today.find((s) => s.scope === 'center')?.values.offered.value === 14
          ? today
          : undefined;
      }, 30_000).catch((err: Error) => {
        throw new Error(`${err.message}\nworker output:\n${w2.output.join('')}`);
      });
      for (const w of ['1h', '15m'] as const) expect(sameFigures(await readSnapshots(reader2, names, w), byWindow(w))).toBe(true);
      // …and they are the golden figures (kpi-golden.test.ts): 14 offered today, FCR 4 of 8, a2 busy despite its
      // late older state, 2 waiting with the longest for 90 s.
      const center = stored.find((s) => s.scope === 'center')!.values;
      expect(center.offered).toEqual({ value: 14, n: 14 });
      expect(center.fcr).toEqual({ value: 50, n: 8 });
      expect(center.waiting).toEqual({ value: 2, n: 2 });
      expect(center.longest_wait).toEqual({ value: 90, n: 2 });
      expect(stored.find((s) => s.scope === 'agent:a2')!.values.agents_busy).toEqual({ value: 1, n: 1 });
      // The series was refreshed too.
      // (Redis came back with the series of before the crash from its AOF; the worker replaces it.)
      const offeredIn = (s: Awaited<ReturnType<typeof readSeries>>) =>
        s[0]?.points.reduce((acc, p) => acc + (p.values.offered?.value ?? 0), 0);
      await waitFor('the series of every event', async () => {
        const s = await readSeries(reader2, names, ['center']);
        return offeredIn(s) === 14 ? s : undefined;
      });
    } finally {
      reader2.disconnect();
      w2.child.kill('SIGTERM');
    }
  }, 90_000);

  it('a storm of signals yields a few recomputations a second, and the last one sees every event', async () => {
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-storm') });
    redises.push(redis);
    const config = { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_storm`, KPI_RECOMPUTE_DEBOUNCE_MS: 200 };
    const names = kpiRedisNames(config.REDIS_PREFIX);
    const log = createLogger({ LOG_LEVEL: 'warn' });
    const before = (await computeSnapshots(ctx.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24, scopes: ['queue:storm'] }))[0]!;
    expect(before.values.offered.value).toBe(0);

    let recomputations = 0;
    const sub = createRedis(redis.url, 'subscriber');
    await sub.subscribe(names.snapshotsChannel);
    sub.on('message', () => recomputations++);
    const worker = await startKpiWorker({ config, log, clickhouse: ctx.clickhouse, redisUrl: redis.url, now: () => NOW, schedulers: false });
    const signaller = createKpiSignaller({ redisUrl: redis.url, config });
    const reader = createRedis(redis.url, 'commands');
    try {
      await waitFor('the start-up recomputation', async () => (recomputations > 0 ? true : undefined));
      recomputations = 0;
      // 60 single-event writes over ~1.2 s, each followed by its signal, as ingest does.
      const started = Date.now();
      for (let i = 0; i < 60; i++) {
        await insertEvents(ctx.clickhouse, [
          { ...MAIN_EVENTS[0]!, id: `storm-${i}`, contact_id: `S${i}`, customer_id: '', queue: 'storm', occurred_at: '2025-03-10 09:37:00.000' },
        ]);
        void signaller.signalRecompute();
        await sleep(20);
      }
      const stormMs = Date.now() - started;
      const [snap] = await waitFor('all 60 storm events in the snapshot', async () => {
        const s = await readSnapshots(reader, names, 'today', ['queue:storm']);
        return s[0]?.values.offered.value === 60 ? s : undefined;
      });
      expect(snap!.values.waiting.value).toBe(60);
      // One recomputation per debounce period at most (plus the one in flight at the end), never one per event.
      expect(recomputations).toBeGreaterThanOrEqual(1);
      expect(recomputations).toBeLessThanOrEqual(Math.ceil(stormMs / 200) + 2);
      expect(recomputations).toBeLessThan(60);
    } finally {
      await signaller.close();
      await worker.close();
      reader.disconnect();
      sub.disconnect();
    }
  }, 60_000);
});
