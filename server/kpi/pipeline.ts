// The KPI pipeline on BullMQ: one queue, one worker (concurrency 1), job names and payloads in one place.
//
//   recompute        "something changed": added by ingest after each successful write (signalRecompute), debounced
//                    with BullMQ deduplication (delay = KPI_RECOMPUTE_DEBOUNCE_MS, keepLastIfActive): signals while
//                    one is pending are absorbed by it, signals while one runs yield exactly one follow-up. A storm of
//                    events therefore gives at most one recomputation per debounce period + computation time.
//   tick             job scheduler, every second: recomputes when contacts were waiting at the last recomputation
//                    (longest wait grows with the clock), when the minute changed (rolling windows move), when
//                    events arrived without a signal (blocks of `events` beyond the fan-out watermark), when an
//                    agent's state has expired since (AGENT_STATE_MAX_HOURS: the agent drops out of the counts and
//                    the roster with no event), or when today's series is older than the figures and may be
//                    republished (SERIES_EVERY_MS). Each tick that ends well notes the time in <prefix>:kpi:alive: the
//                    figures are current as of then (the screens say "stale" when it stops moving).
//   close-interval   job scheduler, 5 s after every quarter hour: recomputes and republishes today's 15-minute series.
//   retention        job scheduler, daily: drops what is older than RETENTION_DAYS (server/retention.ts).
// A recomputation = fan out the events committed since the last pass and materialise the measures of the contacts they
// touched (server/kpi/materialize.ts), move the worker's in-memory rollup by what changed (server/kpi/live-rollup.ts),
// compute the snapshots of every active scope from it, store them in Redis and publish the changed ones
// (server/kpi/snapshots.ts), and the same for the agents' roster (server/kpi/roster.ts). The rollup is loaded from
// ClickHouse after the worker's first pass, and again whenever it could have drifted, and each new local day (see
// live-rollup.ts).
// Schedulers are reconciled at start (upsertJobScheduler; unknown ones removed).
//
// One worker process runs the jobs at a time: the one holding the lease <prefix>:kpi:leader (server/redis/lease.ts).
// Others stand by, their BullMQ worker paused, and take over when the lease is given back (a graceful stop) or runs
// out (a crash: 15 s at most without new figures). Taking over starts from nothing kept in memory: the rollup is
// loaded from ClickHouse and every snapshot, the roster and today's series are written whole.
import type { ClickHouseClient } from '@clickhouse/client';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Log } from '../log.ts';
import { createRedis } from '../redis/connections.ts';
import { Lease } from '../redis/lease.ts';
import { applyRetention } from '../retention.ts';
import { agentStatesSql, computeSeries, rows, slSettings } from './compute.ts';
import { LiveRollup, type ContactChange } from './live-rollup.ts';
import { floorMeasureVersion, nextRange, rebuildMeasures, runPass, writeWatermark, type Pass } from './materialize.ts';
import { MEASURES_DEFINITION } from './measures.ts';
import { readMeasureSettings, syncCenterTimeZone, syncDefaultQueueSettings, syncLiveSettings, writeMeasureSettings } from './settings.ts';
import { rosterNames, storeRoster } from './roster.ts';
import { newSeriesWriterState, storeSeries } from './series-store.ts';
import { kpiRedisNames, storeSnapshots } from './snapshots.ts';
import { WatermarkWriter } from './watermark-writer.ts';
import { floorMinute } from './windows.ts';

export const KPI_QUEUE_NAME = 'kpi-jobs';

export type KpiJobName = 'recompute' | 'tick' | 'close-interval' | 'retention';
export interface KpiJobData {
  /** Why the job was queued (for logs). */
  reason?: string;
}

type KpiConfig = Pick<
  Config,
  'REDIS_PREFIX' | 'CENTER_TZ' | 'FCR_LOOKBACK_DAYS' | 'WAITING_LOOKBACK_HOURS' | 'RETENTION_DAYS' | 'KPI_RECOMPUTE_DEBOUNCE_MS'
  | 'KPI_SL_THRESHOLD_S' | 'KPI_SL_TARGET_PCT' | 'KPI_SHORT_ABANDON_S' | 'AGENT_STATE_MAX_HOURS' | 'centerHours'
>;

const DEDUP_ID = 'kpi-recompute';

/** Least time between two stores of the fan-out watermark (watermark-writer.ts). */
const WATERMARK_EVERY_MS = 1_000;

/** Each scheduler, and how far ahead its next run may be (beyond it, it was planned by a clock since set back). */
const SCHEDULERS: ReadonlyArray<{ id: string; name: KpiJobName; repeat: { every?: number; pattern?: string; tz?: string }; horizonMs: number }> = [
  { id: 'kpi-live-tick', name: 'tick', repeat: { every: 1000 }, horizonMs: 60_000 },
  { id: 'kpi-close-interval', name: 'close-interval', repeat: { pattern: '5 */15 * * * *' }, horizonMs: 16 * 60_000 },
  { id: 'kpi-retention', name: 'retention', repeat: { pattern: '0 30 3 * * *' }, horizonMs: 26 * 3_600_000 },
];

const JOB_DEFAULTS = { removeOnComplete: true, removeOnFail: 100 } as const;

/**
 * Whether retention, last run at `lastMs` (0 or NaN: never noted), is overdue at `now`: not run for a day and an hour
 * (the nightly run plus slack). A worker taking the lease then runs it.
 */
export const retentionOverdue = (lastMs: number, now: number): boolean => !(now - lastMs < 25 * 3_600_000);

/**
 * Today's 15-minute series is republished at most this often while the figures move (it is bigger than the changed
 * snapshots), and once more after they stop, so a chart never shows an older picture than the tiles beside it for long.
 */
const SERIES_EVERY_MS = 5_000;

/** The queue KPI jobs go to. Producers (ingest) create one and keep it; `close()` it at shutdown. */
export function createKpiQueue(connection: Redis, config: Pick<Config, 'REDIS_PREFIX'>): Queue<KpiJobData, unknown, string> {
  return new Queue<KpiJobData, unknown, string>(KPI_QUEUE_NAME, { connection, prefix: config.REDIS_PREFIX });
}

/**
 * Asks for a recomputation soon (debounced). Never throws: a lost signal is caught up by the next tick, and a write
 * must not fail because Redis is briefly away. Returns false when the signal could not be queued.
 */
export async function signalRecompute(
  queue: Queue<KpiJobData, unknown, string>,
  opts: { debounceMs: number; reason?: string; log?: Log },
): Promise<boolean> {
  try {
    await queue.add('recompute', { reason: opts.reason ?? 'signal' }, {
      ...JOB_DEFAULTS,
      delay: opts.debounceMs,
      deduplication: { id: DEDUP_ID, keepLastIfActive: true },
    });
    return true;
  } catch (err) {
    opts.log?.warn({ err }, 'kpi: recompute signal not queued (the next tick catches up)');
    return false;
  }
}

export interface KpiSignaller {
  /** Signal after each successful write; concurrent calls are coalesced locally (one in flight, one pending). */
  signalRecompute(reason?: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A producer for ingest: a queue on `connection` (kept open on close: it is the caller's). */
export function createKpiSignaller(deps: {
  connection: Redis;
  config: Pick<Config, 'REDIS_PREFIX' | 'KPI_RECOMPUTE_DEBOUNCE_MS'>;
  log?: Log;
}): KpiSignaller {
  const queue = createKpiQueue(deps.connection, deps.config);
  queue.on('error', (err) => deps.log?.warn({ err }, 'kpi queue error'));
  let inFlight: Promise<boolean> | null = null;
  let pending: Promise<boolean> | null = null;
  const send = (reason?: string) =>
    signalRecompute(queue, { debounceMs: deps.config.KPI_RECOMPUTE_DEBOUNCE_MS, ...(reason ? { reason } : {}), ...(deps.log ? { log: deps.log } : {}) });
  return {
    signalRecompute(reason) {
      if (!inFlight) {
        inFlight = send(reason).finally(() => (inFlight = null));
        return inFlight;
      }
      // One in flight: the write that triggered this call may have landed after that signal's job started, so queue
      // exactly one more, sent as soon as the current one is done.
      pending ??= inFlight.then(() => {
        pending = null;
        return this.signalRecompute(reason);
      });
      return pending;
    },
    async close() {
      await queue.close();
    },
  };
}

export interface RecomputeResult {
  asOf: string;
  snapshots: number;
  published: number;
  waiting: number;
  /** The pass: fan-out and measures. */
  materializeMs: number;
  /** Everything after it: the rollup moved (or loaded), the snapshots computed, stored and published. */
  computeMs: number;
  /** Of which computing the snapshots from the rollup. */
  snapshotsMs: number;
  /** The rollup was loaded from ClickHouse in this recomputation (first one, or after a possible drift). */
  loaded: boolean;
}

interface RecomputeOptions {
  /** false only for the per-second refresh of the live figures when nothing new arrived. */
  materialize?: boolean;
}

export interface KpiWorkerDeps {
  config: Config | (KpiConfig & Pick<Config, 'LOG_LEVEL'>);
  log: Log;
  clickhouse: ClickHouseClient;
  redisUrl: string;
  /** The clock (tests pass a fixed one). */
  now?: () => number;
  /** Install the job schedulers (default true; tests of the recompute path may turn them off). */
  schedulers?: boolean;
  /** How long the lease lasts without renewal (default 15 s; renewed every third of it). */
  leaseMs?: number;
}

export interface KpiWorkerHandle {
  /**
   * Runs one recomputation right away, outside the queue, publishes today's series, and resolves once the pass is
   * written to ClickHouse too (tests, benchmarks).
   */
  recomputeNow(reason?: string): Promise<RecomputeResult>;
  /** This process holds the lease and runs the KPI jobs (false: it stands by). */
  readonly leading: boolean;
  close(): Promise<void>;
}

/** Starts the KPI worker: schedulers, the worker itself, and a first recomputation. */
export async function startKpiWorker(deps: KpiWorkerDeps): Promise<KpiWorkerHandle> {
  const { config, log, clickhouse: ch } = deps;
  const now = deps.now ?? Date.now;
  const names = kpiRedisNames(config.REDIS_PREFIX);
  const queueConn = createRedis(deps.redisUrl, 'publisher', (m) => log.warn(m));
  const workerConn = createRedis(deps.redisUrl, 'worker', (m) => log.warn(m));
  const storeConn = createRedis(deps.redisUrl, 'publisher', (m) => log.warn(m));
  // the series' writes are optimistic transactions (WATCH): a connection of their own
  const seriesConn = createRedis(deps.redisUrl, 'publisher', (m) => log.warn(m));
  const queue = createKpiQueue(queueConn, config);
  queue.on('error', (err) => log.warn({ err }, 'kpi queue error'));

  await syncDefaultQueueSettings(ch, config);
  // The agent-state cutoff and the waiting look-back the rollup applies, stored for the API and the analyst views.
  await syncLiveSettings(ch, config);
  // The center's time zone, for the analysts' local days.
  await syncCenterTimeZone(ch, config);

  const previous = new Map<string, string>();
  const rosterRedis = rosterNames(config.REDIS_PREFIX);
  const previousRoster = new Map<string, string>();
  const seriesWritten = newSeriesWriterState();
  let lastWaiting = 0;
  let lastMinute = -1;
  /** The clock of the latest recomputation whose figures were stored. */
  let lastAt = 0;
  /** The fan-out watermark as this worker moved it (a pass starts from it, or from the stored one if that is further). */
  let lastUpTo = 0;
  let lastSeriesAt = 0;
  /** The figures changed since today's series was last published. */
  let seriesBehind = false;

  /** The latest pass's writes, finishing in the background: the next pass starts once they are done. */
  let behind: { from: number; written: Promise<void> } | null = null;
  /** The fan-out watermark, stored once a pass is written, at most once a second. */
  const watermark = new WatermarkWriter({
    store: (position) => writeWatermark(ch, position),
    everyMs: WATERMARK_EVERY_MS,
    // A failed write is not fatal: the watermark lags until the next one.
    onError: (err) => log.warn({ err }, 'kpi: watermark not stored this time'),
  });
  /** The in-memory rollup the snapshots are computed from; null until loaded after a pass, or when it must be reloaded. */
  let rollup: LiveRollup | null = null;
  const rollupOptions = { tz: config.CENTER_TZ, waitingLookbackHours: config.WAITING_LOOKBACK_HOURS, agentStateMaxHours: config.AGENT_STATE_MAX_HOURS, hours: config.centerHours };

  async function publishSeries(t: number): Promise<void> {
    const series = rollup ? rollup.series(t) : await computeSeries(ch, { now: t, tz: config.CENTER_TZ });
    const loaded = rollup;
    await storeSeries(seriesConn, names, series, seriesWritten, loaded ? (gone) => loaded.series(t, gone) : undefined);
    lastSeriesAt = performance.now(); // throttling is about work done, so the process clock, not the KPI clock
    seriesBehind = false;
  }

  const seriesDue = () => seriesBehind && (lastSeriesAt === 0 || performance.now() - lastSeriesAt >= SERIES_EVERY_MS);

  /** Waits for the previous pass's writes; if they failed, the pass is done again (from its start) and the rollup reloaded. */
  async function catchUpWrites(): Promise<void> {
    const previous = behind;
    behind = null;
    if (!previous) return;
    try {
      await previous.written;
    } catch (err) {
      log.warn({ err }, 'kpi: a pass was not written; doing it again');
      lastUpTo = previous.from;
      rollup = null;
    }
  }

  /**
   * The stored measures were checked against this worker's FCR look-back and definition, and their versions taken as
   * the floor of its own (before its first pass after taking the lease).
   */
  let measuresChecked = false;
  /** Stops the rebuild in progress (this process lost the lease: the new leader rebuilds). */
  let rebuilding: AbortController | null = null;

  /**
   * Rebuilds every measure when they were computed with another FCR_LOOKBACK_DAYS or definition (kpi_measure_settings),
   * so that history and the live sums (moved by differences computed the current way) agree with ClickHouse.
   */
  async function checkMeasures(): Promise<void> {
    await floorMeasureVersion(ch);
    const want = { fcrLookbackDays: config.FCR_LOOKBACK_DAYS, definition: MEASURES_DEFINITION };
    const have = await readMeasureSettings(ch);
    if (have?.fcrLookbackDays === want.fcrLookbackDays && have.definition === want.definition) return;
    if (!have) return writeMeasureSettings(ch, want); // a new installation: nothing computed yet
    log.info({ have, want }, 'kpi: rebuilding every measure (computed with another FCR look-back or definition)');
    rebuilding = new AbortController();
    try {
      const r = await rebuildMeasures(ch, { lookbackDays: want.fcrLookbackDays, signal: rebuilding.signal }); // it records `want`
      log.info({ contacts: r.contacts, ms: Math.round(r.elapsedMs) }, 'kpi: measures rebuilt');
    } finally {
      rebuilding = null;
    }
    rollup = null;
  }

  // One recomputation at a time (jobs run one by one, but recomputeNow runs beside the queue): passes and the rollup
  // they move must not interleave.
  let running: Promise<unknown> = Promise.resolve();
  function recompute(reason: string, opts: RecomputeOptions = {}): Promise<RecomputeResult> {
    const next = running.then(() => recomputeAlone(reason, opts));
    running = next.catch(() => {});
    return next;
  }

  async function recomputeAlone(reason: string, opts: RecomputeOptions): Promise<RecomputeResult> {
    const t0 = performance.now();
    // Thresholds are read on every recomputation (beside the pass): sums made with others are loaded again.
    const settings = slSettings(ch);
    settings.catch(() => {});
    const changes: ContactChange[] = [];
    let loaded = false;
    try {
      let pass: Pass | null = null;
      if (opts.materialize !== false) {
        await catchUpWrites();
        if (!measuresChecked) {
          await checkMeasures();
          measuresChecked = true;
        }
        const observing = rollup !== null;
        pass = await runPass(ch, {
          lookbackDays: config.FCR_LOOKBACK_DAYS,
          from: lastUpTo,
          ...(observing ? { observe: (c: ContactChange) => void changes.push(c) } : {}),
        });
        // another process (a rebuild) moved the watermark: what it materialised is not in the rollup
        if (lastUpTo !== 0 && pass.from !== lastUpTo) rollup = null;
        if (pass.events > 0) {
          // The writes and the watermark finish in the background while the snapshots are published; the watermark
          // lags (passes start from lastUpTo; restarts, other processes and ingest's duplicate check allow it).
          behind = { from: pass.from, written: pass.written };
          watermark.offer(pass.upTo, pass.written); // a failed pass is done again, and its position not stored
        }
        lastUpTo = pass.upTo;
      }
      const t1 = performance.now();
      const t = now();
      const current = await settings;
      if (rollup?.settingsDiffer(current) || rollup?.loadedBefore(t)) rollup = null;
      if (rollup) {
        rollup.apply(changes, t);
        const undecided = rollup.applyAgentStates(pass?.agentStates ?? []);
        if (undecided.length > 0) {
          await pass!.written;
          rollup.setAgents(await rows(ch, agentStatesSql('agent_id IN {ids:Array(String)}'), { ids: undecided }));
        }
      } else {
        await behind?.written; // the load must see this pass's writes
        rollup = await LiveRollup.load(ch, t, rollupOptions, current);
        loaded = true;
      }
      const t2 = performance.now();
      const snaps = rollup.snapshots(t);
      const snapshotsMs = performance.now() - t2;
      // Every new minute, the stored set is rewritten whole (it repairs a Redis that lost its data); otherwise only
      // what changed is written.
      const full = floorMinute(t) !== lastMinute;
      const live = rollup;
      const published = await storeSnapshots(storeConn, names, snaps, previous, { full, departed: (gone) => live.snapshots(t, gone) });
      await storeRoster(storeConn, rosterRedis, rollup.roster(t), new Date(t).toISOString(), previousRoster, { full });
      const center = snaps.find((s) => s.scope === 'center');
      lastWaiting = center?.values.waiting.value ?? 0;
      lastMinute = floorMinute(t);
      lastAt = t;
      // The series changes at most as often as the figures: refresh it every few seconds while things move (and the
      // tick comes back for it once they stop).
      if (published > 0) seriesBehind = true;
      if (seriesDue()) await publishSeries(t);
      const result: RecomputeResult = {
        asOf: new Date(t).toISOString(),
        snapshots: snaps.length,
        published,
        waiting: lastWaiting,
        materializeMs: t1 - t0,
        computeMs: performance.now() - t1,
        snapshotsMs,
        loaded,
      };
      log.debug({ reason, ...result }, 'kpi recomputed');
      return result;
    } catch (err) {
      // a pass that failed half-way may have written measures the rollup did not see: load it again next time
      rollup = null;
      throw err;
    }
  }

  async function pendingEvents(): Promise<boolean> {
    return (await nextRange(ch, lastUpTo, 1)).events > 0;
  }

  async function tick(): Promise<RecomputeResult | null> {
    const t = now();
    // Every minute a full pass (rolling windows move; it also re-reads the overlap behind the watermark).
    if (floorMinute(t) !== lastMinute) return recompute('tick: new minute');
    const pending = await pendingEvents();
    if (pending) return recompute('tick: unsignalled events');
    if (rollup?.agentStateExpiredBetween(lastAt, t)) return recompute('tick: an agent state expired', { materialize: false });
    if (lastWaiting > 0) return recompute('tick: contacts waiting', { materialize: false });
    if (seriesDue()) return recompute('tick: series behind the figures', { materialize: false });
    return null;
  }

  async function process(job: Job<KpiJobData, unknown, string>, token?: string): Promise<unknown> {
    // A process that froze past its lease (a long pause) may wake up with a job in hand while another leads: it gives
    // the job back instead of writing figures beside the leader's.
    if (!(await leadOnce())) {
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    switch (job.name as KpiJobName) {
      case 'recompute':
        return recompute(job.data.reason ?? 'signal');
      case 'tick': {
        const result = await tick();
        // the figures are current as of now: the screens say "stale" when this stops moving (docs/live.md, `figures`)
        await storeConn.set(names.alive, String(now()));
        return result;
      }
      case 'close-interval': {
        const r = await recompute('interval closed');
        await publishSeries(now());
        return r;
      }
      case 'retention': {
        const dropped = await applyRetention(ch, config.RETENTION_DAYS, now());
        if (dropped.length > 0) log.info({ dropped }, 'kpi retention applied');
        await storeConn.set(names.retentionAt, String(now()));
        return dropped;
      }
      default:
        log.warn({ job: job.name }, 'kpi: unknown job ignored');
        return null;
    }
  }

  const worker = new Worker<KpiJobData, unknown, string>(KPI_QUEUE_NAME, process, {
    connection: workerConn,
    prefix: config.REDIS_PREFIX,
    concurrency: 1,
    autorun: false, // it runs while this process holds the lease
  });
  worker.on('error', (err) => log.warn({ err }, 'kpi worker error'));
  worker.on('failed', (job, err) => log.error({ err, job: job?.name }, 'kpi job failed'));

  const lease = new Lease(storeConn, names.leader, deps.leaseMs ?? 15_000);
  let leading = false;
  /**
   * Takes or keeps the lease, and runs or pauses the worker accordingly; one call at a time. Resolves whether this
   * process leads.
   */
  async function lead(): Promise<boolean> {
    let held: 'kept' | 'taken' | null;
    try {
      held = await lease.hold();
      // Taken, not kept: a new lead, or Redis forgot this one's (emptied, say), and with it the job schedulers, without
      // which no tick comes again and every screen says "stale" for good. Installed until it works.
      if (held === 'taken') {
        retaken = true;
        if (deps.schedulers !== false) schedulersInstalled = false;
      }
      // while leading too: this host's clock may be set back under it
      if (held && schedulersInstalled && deps.schedulers !== false && (await queue.getJobSchedulers()).some(dueTooFar)) schedulersInstalled = false;
      if (held && !schedulersInstalled) await installSchedulers();
    } catch (err) {
      // Redis does not answer: no job can be taken either way. The next look decides.
      log.warn({ err }, 'kpi: the lease (or the job schedulers) could not be written to Redis this time');
      return leading;
    }
    if (held && (retaken || !leading)) {
      retaken = false;
      // Another process may have run the jobs since this one last did, or Redis lost what this one wrote: nothing kept
      // in memory is trusted, and the next pass writes every figure again.
      rollup = null;
      previous.clear();
      previousRoster.clear();
      lastMinute = -1;
      measuresChecked = false; // another process may have rebuilt them with its own settings
      if (leading) {
        log.warn('kpi worker: Redis no longer held this process\'s lease (emptied, restarted without its data, or a long pause): the job schedulers are installed again and every figure rewritten');
        await signalRecompute(queue, { debounceMs: 0, reason: 'lease taken again', log });
      } else {
        leading = true;
        await worker.resume(); // the first time, it starts the worker
        log.info('kpi worker: leading (this process runs the KPI jobs)');
      }
    } else if (!held && leading) {
      leading = false;
      rebuilding?.abort(new Error('kpi: the lease was lost during a rebuild of the measures'));
      // not awaited: called from a job, it would wait for itself (the job in hand ends first, then the worker pauses)
      worker.pause().catch((err: unknown) => log.warn({ err }, 'kpi worker: could not pause'));
      log.warn('kpi worker: lost the lease; another process runs the KPI jobs, this one stands by');
    }
    return leading;
  }
  let leadChain: Promise<boolean> = Promise.resolve(false);
  const leadOnce = () => (leadChain = leadChain.then(lead));
  /** The lease was taken (not kept) and what that means is not done yet (the schedulers' install failed, say). */
  let retaken = false;

  /** Whether this process installed the job schedulers since it last took the lease (the leader installs them). */
  let schedulersInstalled = deps.schedulers === false;
  /**
   * A scheduler's next run planned beyond its horizon: a clock that was ahead planned it (then set back, here or on the
   * host before; BullMQ's upsert keeps the next run), and until then no tick would come, the figures frozen.
   */
  const dueTooFar = (s: { key?: string | null; id?: string | null; next?: number }) => {
    const want = SCHEDULERS.find((w) => w.id === (s.key ?? s.id));
    return want !== undefined && s.next !== undefined && s.next > Date.now() + want.horizonMs;
  };
  async function installSchedulers(): Promise<void> {
    const wanted = new Set(SCHEDULERS.map((s) => s.id));
    for (const s of await queue.getJobSchedulers()) {
      const id = s.key ?? s.id;
      if (!id) continue;
      // gone from the list, or due too far ahead: planned anew below
      if (!wanted.has(id) || dueTooFar(s)) {
        if (wanted.has(id)) log.warn({ scheduler: id, next: new Date(s.next!).toISOString() }, 'kpi worker: a job scheduler was due far ahead (the clock was set back?): planned anew');
        await queue.removeJobScheduler(id);
      }
    }
    for (const s of SCHEDULERS) {
      // Cron patterns run on the center's clock (the quarter hours and the nightly retention).
      await queue.upsertJobScheduler(s.id, s.repeat.pattern ? { ...s.repeat, tz: config.CENTER_TZ } : s.repeat, {
        name: s.name,
        data: {},
        opts: JOB_DEFAULTS,
      });
    }
    schedulersInstalled = true;
    // The scheduler runs retention at 03:30 only: a machine off at night (a floor PC) never reached it, and at every
    // start BullMQ moves an overdue run to the next night. Not run for over a day (or never noted): once now, after
    // the first pass (the jobs run one at a time, in order).
    if (retentionOverdue(Number(await storeConn.get(names.retentionAt)), now())) await queue.add('retention', {}, JOB_DEFAULTS);
  }
  // Start from a clean state: whatever Redis holds (or lost) is rewritten by this first pass.
  await signalRecompute(queue, { debounceMs: 0, reason: 'worker start', log });
  await leadOnce();
  const leaseTimer = setInterval(() => void leadOnce(), Math.min(5_000, lease.ttlMs / 3));
  leaseTimer.unref();
  log.info({ debounceMs: config.KPI_RECOMPUTE_DEBOUNCE_MS, leading }, leading ? 'kpi worker started' : 'kpi worker started, standing by (another process holds the lease)');

  let closed = false;
  return {
    async recomputeNow(reason = 'manual') {
      const r = await recompute(reason);
      await publishSeries(Date.parse(r.asOf));
      await behind?.written;
      await watermark.flush();
      return r;
    },
    get leading() {
      return leading;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(leaseTimer);
      await leadChain;
      await worker.close();
      await running;
      await behind?.written.catch((err) => log.warn({ err }, 'kpi: the last pass was not written (the next start repeats it)'));
      await watermark.flush();
      // Given back once this process's last writes are done: a standby takes over at its next look, not after the lease.
      if (leading) await lease.release().catch((err) => log.warn({ err }, 'kpi: the lease was not given back (it runs out by itself)'));
      await queue.close();
      queueConn.disconnect();
      workerConn.disconnect();
      storeConn.disconnect();
      seriesConn.disconnect();
    },
  };
}
