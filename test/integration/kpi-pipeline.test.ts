// The KPI pipeline end to end: signals → debounced BullMQ recomputations → snapshots in Redis and on the channel;
// recovery: the worker and Redis are killed mid-stream, restarted, and the snapshots converge; and the lease: of
// several worker processes one runs the jobs, and another takes over when it crashes or stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log.ts';
import { computeSnapshots, type Snapshot } from '../../server/kpi/compute.ts';
import { createKpiQueue, createKpiSignaller, signalRecompute, startKpiWorker } from '../../server/kpi/pipeline.ts';
import { readCenterTimeZone, setQueueSettings, syncCenterTimeZone } from '../../server/kpi/settings.ts';
import { readSeries } from '../../server/kpi/series-store.ts';
import { kpiRedisNames, readSnapshots } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../server/redis/embedded.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { ROOT } from '../support/process.ts';
import { waitFor } from '../support/wait.ts';
import { insertEvents, LATE_EVENTS, MAIN_EVENTS, NOW, SUPPORT_SETTINGS, TZ, type ScenarioEvent } from './kpi-scenario.ts';

function startWorkerProcess(ctx: TestContext, redisUrl: string, env: Record<string, string> = {}): { child: ChildProcess; output: string[] } {
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
      ...env,
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
    // a short lease: Redis comes back from its AOF with the killed worker's lease, which the new one waits out
    const w1 = startWorkerProcess(ctx, r1.url, { KPI_TEST_LEASE_MS: '2000' });
    children.push(w1.child);
    const signalling = createRedis(r1.url, 'publisher');
    const signaller = createKpiSignaller({ connection: signalling, config: ctx.config });
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
    signalling.disconnect();

    // Restart both on the same data: the worker's first pass rebuilds every snapshot from ClickHouse.
    const r2 = await startEmbeddedRedis({ dataDir: redisDir, port: r1.port });
    redises.push(r2);
    const w2 = startWorkerProcess(ctx, r2.url, { KPI_TEST_LEASE_MS: '2000' });
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
    const signalling = createRedis(redis.url, 'publisher');
    const signaller = createKpiSignaller({ connection: signalling, config });
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
      signalling.disconnect();
      await worker.close();
      reader.disconnect();
      sub.disconnect();
    }
  }, 60_000);

  it('runs the jobs in one worker process at a time: another stands by, and takes over when the first freezes or crashes (once its lease runs out) or stops (at once)', async () => {
    const own = await createTestContext({ CENTER_TZ: TZ });
    await setQueueSettings(own.clickhouse, 'support', SUPPORT_SETTINGS);
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-lease') });
    redises.push(redis);
    const names = kpiRedisNames(own.config.REDIS_PREFIX);
    const reader = createRedis(redis.url, 'commands');
    const signalling = createRedis(redis.url, 'publisher');
    const signaller = createKpiSignaller({ connection: signalling, config: own.config });
    const start = async (leaseMs: number) => {
      const w = startWorkerProcess(own, redis.url, { KPI_TEST_LEASE_MS: String(leaseMs), LOG_LEVEL: 'debug' });
      children.push(w.child);
      const ready = await waitFor('a worker process ready', async () => /kpi worker ready, (leading|standing by)/.exec(w.output.join(''))?.[1]);
      const count = (re: RegExp) => (w.output.join('').match(re) ?? []).length;
      return { ...w, ready, recomputed: () => count(/kpi recomputed/g), leads: () => count(/kpi worker: leading/g) };
    };
    /**
     * The stored figures of today are those computed from ClickHouse (from what the worker materialised), with `offered`
     * offers at the center and agent lz available or not: the worker has taken the latest events in.
     */
    const converged = (what: string, offered: number, lzAvailable: 0 | 1) =>
      waitFor(what, async () => {
        const truth = (await computeSnapshots(own.clickhouse, { now: NOW, tz: TZ, waitingLookbackHours: 24 })).filter((s) => s.window === 'today');
        const stored = await readSnapshots(reader, names, 'today');
        const center = stored.find((s) => s.scope === 'center')?.values.offered.value;
        const lz = stored.find((s) => s.scope === 'agent:lz')?.values.agents_available.value;
        return center === offered && lz === lzAvailable && sameFigures(stored, truth) ? true : undefined;
      }, 30_000);
    const offeredToday = (events: ScenarioEvent[]) => events.filter((e) => e.type === 'contact.offered' && e.occurred_at >= '2025-03-09 21:00').length;
    try {
      // A leads with a 4-s lease (renewed every 1.3 s: a busy machine's stall of a second must not cost it the lease);
      // B, started after it, stands by (with a 60-s lease, looked at every 5 s).
      const a = await start(4_000);
      expect(a.ready).toBe('leading');
      const b = await start(60_000);
      expect(b.ready).toBe('standing by');

      // Agent lz of team lease: available under A, busy under B, available again under A: its figures come back to
      // what A last wrote, while Redis holds B's.
      const lz = (id: string, state: string, time: string): ScenarioEvent => ({
        ...LATE_EVENTS[2]!, id, agent_id: 'lz', team: 'lease', state, occurred_at: `2025-03-10 ${time}.000`, received_at: `2025-03-10 ${time}.000`,
      });
      await insertEvents(own.clickhouse, [...MAIN_EVENTS.slice(0, 30), lz('lz1', 'available', '09:00:00')]);
      await signaller.signalRecompute();
      await converged('the figures of the first events', offeredToday(MAIN_EVENTS.slice(0, 30)), 1);
      // its log line comes through the child's stdout, a moment after the figures it wrote to Redis
      await waitFor('A recomputed', async () => (a.recomputed() > 0 ? true : undefined));
      expect(b.recomputed()).toBe(0); // the jobs went to A only

      // A freezes (as under a long pause) past its lease: B takes over, loads the rollup and catches up.
      a.child.kill('SIGSTOP');
      await insertEvents(own.clickhouse, [...MAIN_EVENTS.slice(30, 50), lz('lz2', 'busy', '09:10:00')]);
      await signaller.signalRecompute();
      await waitFor('B leading', async () => (b.leads() === 1 ? true : undefined));
      await converged('the figures of 50 events, from B', offeredToday(MAIN_EVENTS.slice(0, 50)), 0);
      await waitFor('B recomputed', async () => (b.recomputed() > 0 ? true : undefined));
      // A wakes up, finds the lease gone, and stands by.
      a.child.kill('SIGCONT');
      await waitFor('A standing by', async () => (/kpi worker: lost the lease/.test(a.output.join('')) ? true : undefined));

      // B stops gracefully and gives the lease back: A takes over again at once (B's own lease would last 60 s), and
      // trusts nothing it kept from before: lz's figures are rewritten though they are again what A last wrote.
      b.child.kill('SIGTERM');
      await waitFor('B closed', async () => (/kpi worker closed/.test(b.output.join('')) ? true : undefined));
      await waitFor('A leading again', async () => (a.leads() === 2 ? true : undefined), 30_000);
      await insertEvents(own.clickhouse, [...MAIN_EVENTS.slice(50), lz('lz3', 'available', '09:20:00')]);
      await signaller.signalRecompute();
      await converged('the figures of every main event, from A', offeredToday(MAIN_EVENTS), 1);

      // A crashes holding the lease: C, standing by, takes over once it runs out.
      const c = await start(2_000);
      expect(c.ready).toBe('standing by');
      a.child.kill('SIGKILL');
      await new Promise((res) => a.child.once('exit', res));
      await insertEvents(own.clickhouse, LATE_EVENTS);
      await signaller.signalRecompute();
      await waitFor('C leading', async () => (c.leads() === 1 ? true : undefined));
      await converged('the figures with the late events, from C', 14, 1);
      const series = await waitFor('the series of every event, from C', async () => {
        const [center] = await readSeries(reader, names, ['center']);
        const offered = center?.points.reduce((acc, p) => acc + (p.values.offered?.value ?? 0), 0);
        return offered === 14 ? center : undefined;
      });
      expect(series.scope).toBe('center');
      c.child.kill('SIGTERM');
      await waitFor('C closed', async () => (/kpi worker closed/.test(c.output.join('')) ? true : undefined));
      // C gave the lease back too: nobody holds it
      expect(await reader.get(names.leader)).toBeNull();
    } finally {
      await signaller.close();
      signalling.disconnect();
      reader.disconnect();
      await own.cleanup();
    }
  }, 120_000);

  it('a worker that finds another holding its lease, with a job in hand, gives the job back instead of doing it', async () => {
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-handback') });
    redises.push(redis);
    const config = { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_handback`, KPI_RECOMPUTE_DEBOUNCE_MS: 0 };
    const names = kpiRedisNames(config.REDIS_PREFIX);
    const { log, lines } = capturedLog('debug');
    // a 60-s lease: looked at every 5 s, so only the check before each job can notice the takeover below in time
    const worker = await startKpiWorker({ config, log, clickhouse: ctx.clickhouse, redisUrl: redis.url, now: () => NOW, schedulers: false, leaseMs: 60_000 });
    const reader = createRedis(redis.url, 'commands');
    const queue = createKpiQueue(reader, config);
    const signalled = () => lines.filter((l) => /kpi recomputed/.test(l) && /"reason":"signal"/.test(l)).length;
    try {
      expect(worker.leading).toBe(true);
      await waitFor('the start-up recomputation', async () => (lines.some((l) => /kpi recomputed/.test(l)) ? true : undefined));
      await signalRecompute(queue, { debounceMs: 0 });
      await waitFor('a signalled recomputation', async () => (signalled() === 1 ? true : undefined));
      // Another process holds the lease now (this one froze past it, say), and a signal comes.
      await reader.set(names.leader, 'another-process', 'PX', 60_000);
      await signalRecompute(queue, { debounceMs: 0 });
      await waitFor('the worker standing by', async () => (lines.some((l) => /lost the lease/.test(l)) ? true : undefined));
      expect(worker.leading).toBe(false);
      expect(signalled()).toBe(1);
      // the job waits in the queue for the process that leads
      expect(await queue.getJobs(['waiting', 'delayed', 'prioritized'])).toEqual([expect.objectContaining({ name: 'recompute' })]);
    } finally {
      await worker.close();
      await queue.close();
      reader.disconnect();
    }
  }, 60_000);
  it('a worker stores its CENTER_TZ at start, for the analysts\' local days (kpi_center)', async () => {
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-zone') });
    redises.push(redis);
    const config = { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_zone`, CENTER_TZ: 'America/Sao_Paulo' };
    const worker = await startKpiWorker({ config, log: createLogger({ LOG_LEVEL: 'silent' }), clickhouse: ctx.clickhouse, redisUrl: redis.url, now: () => NOW, schedulers: false });
    try {
      expect(await readCenterTimeZone(ctx.clickhouse)).toBe('America/Sao_Paulo');
    } finally {
      await worker.close();
      await syncCenterTimeZone(ctx.clickhouse, ctx.config); // back to this suite's
    }
  }, 60_000);

  it('a worker taking over from one whose clock was ahead: its recomputed measures still win over the older ones', async () => {
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-ahead') });
    redises.push(redis);
    const config = { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_ahead`, KPI_RECOMPUTE_DEBOUNCE_MS: 0 };
    const row = (id: string, type: string, at: number, f: Partial<ScenarioEvent>): ScenarioEvent => {
      const t = new Date(at).toISOString().replace('T', ' ').replace('Z', '');
      return {
        source: 'acd', id, type, occurred_at: t, received_at: t, contact_id: 'AHEAD1', queue: 'ahead', team: '', channel: 'voice', agent_id: '',
        customer_id: '', to_queue: '', to_agent_id: '', talk_ms: null, hold_ms: null, acw_ms: null, resolved: null, state: '', reason: '',
        outcome: '', public: null, metric: '', score: null, attributes: {}, ...f,
      };
    };
    const answerWait = async () => {
      const rs = await ctx.clickhouse.query({ query: "SELECT wait_ms FROM kpi_measures FINAL WHERE contact_id = 'AHEAD1' AND kind = 'answer'", format: 'JSONEachRow' });
      return (await rs.json<{ wait_ms: number }>()).map((r) => Number(r.wait_ms));
    };
    const { log } = capturedLog('info');
    const start = () => startKpiWorker({ config, log, clickhouse: ctx.clickhouse, redisUrl: redis.url, now: () => NOW, schedulers: false });
    const reader = createRedis(redis.url, 'commands');
    const queue = createKpiQueue(reader, config);
    try {
      // offered at −120 s, answered at −100 s: waited 20 s
      await insertEvents(ctx.clickhouse, [row('ahead-o1', 'contact.offered', NOW - 120_000, {}), row('ahead-a1', 'contact.answered', NOW - 100_000, { agent_id: 'x1' })]);
      let worker = await start();
      await signalRecompute(queue, { debounceMs: 0 });
      await waitFor('the answer measured', async () => ((await answerWait())[0] === 20_000 ? true : undefined));
      await worker.close();
      // The lease's last holder ran on a host an hour ahead: its row of the answer (a wrong wait, to tell them apart)
      // carries a version an hour past this host's clock.
      await ctx.clickhouse.command({
        query: `INSERT INTO kpi_measures SELECT * REPLACE (version + 3600000 AS version, toNullable(toInt64(999)) AS wait_ms)
                FROM kpi_measures FINAL WHERE contact_id = 'AHEAD1' AND kind = 'answer'`,
      });
      expect(await answerWait()).toEqual([999]);
      // This host takes the lease, and a late offer at −110 s comes: the answer waited 10 s (−110 → −100)
      worker = await start();
      await insertEvents(ctx.clickhouse, [row('ahead-o2', 'contact.offered', NOW - 110_000, {})]);
      await signalRecompute(queue, { debounceMs: 0 });
      // (without the floor, the hour-ahead row keeps winning: 999 for an hour)
      await waitFor('the late offer in the answer\'s wait', async () => ((await answerWait())[0] === 10_000 ? true : undefined), 15_000);
      expect(await answerWait()).toEqual([10_000]);
      await worker.close();
    } finally {
      await queue.close();
      reader.disconnect();
    }
  }, 60_000);

  it('a worker finding its tick planned hours ahead (by a clock since set back) plans it anew: the ticks come at once', async () => {
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-ahead-tick') });
    redises.push(redis);
    const config = { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_aheadtick` };
    const names = kpiRedisNames(config.REDIS_PREFIX);
    const reader = createRedis(redis.url, 'commands');
    const queue = createKpiQueue(reader, config);
    const { log, lines } = capturedLog('info');
    // left by a process whose clock read three hours later
    await queue.upsertJobScheduler('kpi-live-tick', { every: 1000, startDate: Date.now() + 3 * 3_600_000 }, { name: 'tick', data: {} });
    expect((await queue.getJobScheduler('kpi-live-tick'))!.next).toBeGreaterThan(Date.now() + 3_600_000);
    const worker = await startKpiWorker({ config, log, clickhouse: ctx.clickhouse, redisUrl: redis.url, now: () => NOW });
    try {
      await waitFor('a tick', async () => (await reader.get(names.alive)) ?? undefined, 10_000);
      expect((await queue.getJobScheduler('kpi-live-tick'))!.next).toBeLessThan(Date.now() + 60_000);
      await waitFor('the warning', async () => (lines.some((l) => /a job scheduler was due far ahead/.test(l) && /kpi-live-tick/.test(l)) ? true : undefined), 5_000);
    } finally {
      await worker.close();
      await queue.close();
      reader.disconnect();
    }
  }, 60_000);

  it('a worker whose Redis lost its data installs its job schedulers again: the ticks, and the screens\' alive mark, come back', async () => {
    const redis = await startEmbeddedRedis({ dataDir: path.join(dir, 'redis-emptied') });
    redises.push(redis);
    const config = { ...ctx.config, REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_emptied` };
    const names = kpiRedisNames(config.REDIS_PREFIX);
    const { log, lines } = capturedLog('info');
    // a 3-s lease: looked at every second
    const worker = await startKpiWorker({ config, log, clickhouse: ctx.clickhouse, redisUrl: redis.url, now: () => NOW, leaseMs: 3_000 });
    const reader = createRedis(redis.url, 'commands');
    const queue = createKpiQueue(reader, config);
    try {
      // the tick (every second) marks the figures current
      await waitFor('a tick', async () => (await reader.get(names.alive)) ?? undefined);
      // Redis loses everything: the lease, the schedulers and their next jobs, the alive mark
      await reader.flushall();
      expect(await queue.getJobScheduler('kpi-live-tick')).toBeUndefined();
      // the worker takes its lease again, installs the schedulers, and the ticks mark the figures current again
      await waitFor('the alive mark again', async () => (await reader.get(names.alive)) ?? undefined);
      expect(await queue.getJobScheduler('kpi-live-tick')).toMatchObject({ every: 1000 });
      expect(lines.some((l) => /Redis no longer held this process's lease/.test(l))).toBe(true);
      expect(worker.leading).toBe(true);
    } finally {
      await worker.close();
      await queue.close();
      reader.disconnect();
    }
  }, 60_000);
});
