// The alert engine at work: runs in the worker, beside the KPI pipeline, and sees every snapshot it publishes
// (it subscribes to the KPI snapshot channel; server/kpi/ needs no hook). Per snapshot, per applicable threshold, one
// step of the state machine (engine.ts); every second it also steps the tracks with the latest values, so a breach
// that holds without the figure changing still fires once forSeconds have passed.
//
// Only one engine evaluates at a time: a lease in Redis (`<prefix>:alerts:leader`), so several worker processes are
// safe. A new leader loads the tracks from Redis (and open alerts from ClickHouse if Redis lost them) before it
// evaluates: a restart neither re-fires nor loses an open alert.
//
// The leader also watches the sources (ACD, IVR, CRM): when one has sent nothing for its quiet time
// (SOURCE_QUIET_MINUTES, the rule the TVs' header follows) the webhook is told once, and again when it sends anew. What
// was told is kept in Redis (`<prefix>:alerts:quiet-sources`), so a new leader does not tell it twice.
import type { ClickHouseClient } from '@clickhouse/client';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { centerOpen } from '../center-hours.ts';
import type { Config, IngestSource } from '../config.ts';
import { quietSources, SourceActivity } from '../ingest/activity.ts';
import { KPI_BY_KEY, type KpiKey, type KpiValue } from '../kpi/catalog.ts';
import type { Snapshot } from '../kpi/compute.ts';
import { kpiRedisNames, readSnapshots, type SnapshotMessage } from '../kpi/snapshots.ts';
import { WINDOWS, type WindowName } from '../kpi/windows.ts';
import { startOfLocalDay } from '../time-zone.ts';
import type { Alert } from '../live/protocol.ts';
import type { Log } from '../log.ts';
import { createRedis } from '../redis/connections.ts';
import { Lease } from '../redis/lease.ts';
import { emptyTrack, retire, step, trackKey, type Track, type Transition } from './engine.ts';
import { AlertStore, LeaseLost, type AlertChannelMessage } from './store.ts';
import { resolveThresholds, ThresholdStore, type Threshold } from './thresholds.ts';
import { AlertWebhook } from './webhook.ts';

export const newAlertId = () => `al_${randomBytes(9).toString('base64url')}`;

/** A new leader trusts the pending breaches it loads if an engine evaluated this recently (a handover, not an outage). */
const PENDING_TRUSTED_MS = 15_000;

/**
 * An alert open in the history but not in the engine's state, whose scope has another alert, is an orphan (its
 * commit failed half-way: see AlertStore.commit) once this old; younger, it may be a history that lags its writes.
 */
const ORPHAN_AFTER_MS = 60_000;

/** How often the leader looks at when each source last sent. */
const SOURCES_EVERY_MS = 5_000;

type Values = Partial<Record<KpiKey, KpiValue>>;

export interface EvaluationInput {
  thresholds: readonly Threshold[];
  tracks: ReadonlyMap<string, Track>;
  /** The figures to evaluate: "<window>|<scope>" → values. */
  figures: Iterable<{ window: WindowName; scope: string; values: Values }>;
  /**
   * The figures are every figure there is (as just read from Redis, not a publication of the changed ones): a track
   * whose figure is missing is about a scope the KPI worker dropped (quiet all day, an agent who signed off
   * yesterday), and ends.
   */
  complete?: boolean;
  /** When the center's day began (local midnight, epoch ms): a `today` figure's alert or breach from before it ends. */
  dayStart?: number;
  now: number;
  newId?: () => string;
}

export interface EvaluationResult {
  changed: Track[];
  removed: string[];
  transitions: Transition[];
}

/**
 * One evaluation, pure: steps the track of every applicable (threshold, scope) of the given figures, and retires the
 * tracks whose threshold no longer applies (deleted, disabled, or overridden by a more specific one), whose figure is
 * gone (`complete`), or whose `today` figure is yesterday's (`dayStart`).
 */
export function evaluate(input: EvaluationInput): EvaluationResult {
  const { thresholds, now } = input;
  const newId = input.newId ?? newAlertId;
  const byId = new Map(thresholds.map((t) => [t.id, t]));
  const figures = [...input.figures];
  const changed: Track[] = [];
  const removed: string[] = [];
  const transitions: Transition[] = [];
  const seen = new Set<string>();
  const end = (key: string, track: Track) => {
    const tr = retire(track, now);
    if (tr) transitions.push(tr);
    removed.push(key);
    seen.add(key);
  };

  // A day's figure ends at local midnight (its value is null until the day's first contacts): an alert or a breach
  // about yesterday's ends with it, rather than wait, open, for today's first figures (and be judged by one call).
  const tracks = new Map(input.tracks);
  if (input.dayStart !== undefined) {
    for (const [key, track] of tracks) {
      const t = byId.get(track.thresholdId);
      if (!t || t.window !== 'today' || KPI_BY_KEY.get(t.kpi)?.kind !== 'windowed') continue;
      const since = track.alert ? Date.parse(track.alert.startedAt) : Math.min(track.warningSince ?? Infinity, track.criticalSince ?? Infinity);
      if (since >= input.dayStart) continue;
      end(key, track);
      tracks.delete(key);
    }
  }
  const finish = (key: string, track: Track) => {
    if (track.alert === null && track.warningSince === null && track.criticalSince === null) {
      if (tracks.has(key)) removed.push(key);
    } else changed.push(track);
  };

  // Tracks by scope, to find those a figure's resolution no longer picks.
  const tracksByScope = new Map<string, Track[]>();
  for (const t of tracks.values()) {
    const list = tracksByScope.get(t.scope) ?? [];
    list.push(t);
    tracksByScope.set(t.scope, list);
  }

  for (const fig of figures) {
    const applicable = resolveThresholds(thresholds, fig.window, fig.scope);
    for (const [kpi, threshold] of applicable) {
      const key = trackKey(threshold.id, fig.scope);
      if (seen.has(key)) continue;
      seen.add(key);
      let prev = tracks.get(key) ?? emptyTrack(threshold.id, fig.scope);
      // The threshold was edited to another figure (KPI, window) or direction: its open alert is about the old one,
      // and ends; the new one is judged afresh.
      const edited = prev.alert !== null && (prev.alert.kpi !== threshold.kpi || prev.alert.window !== threshold.window || prev.alert.direction !== threshold.direction);
      if (edited) {
        transitions.push(retire(prev, now)!);
        prev = emptyTrack(threshold.id, fig.scope);
      }
      // a sample smaller than the threshold asks for (one call's 100 % abandoned) is no data: no evidence either way
      const v = fig.values[kpi];
      const value = v && v.n >= threshold.minCount ? v.value : null;
      const r = step(prev, threshold, value, now, newId);
      if (r.transition) transitions.push(r.transition);
      if (r.changed) finish(key, r.track);
      else if (edited) removed.push(key);
    }
    for (const track of tracksByScope.get(fig.scope) ?? []) {
      const t = byId.get(track.thresholdId);
      if (!t || t.window !== fig.window) continue;
      if (applicable.get(t.kpi)?.id === t.id) continue;
      const key = trackKey(track.thresholdId, track.scope);
      if (!seen.has(key)) end(key, track);
    }
  }
  // Tracks of deleted thresholds, and (with every figure given) of figures that are gone.
  const present = input.complete ? new Set(figures.map((f) => `${f.window}|${f.scope}`)) : null;
  for (const [key, track] of tracks) {
    if (seen.has(key)) continue;
    const t = byId.get(track.thresholdId);
    if (t && !(present && !present.has(`${t.window}|${track.scope}`))) continue;
    end(key, track);
  }
  return { changed, removed, transitions };
}

export interface AlertEngineDeps {
  config: Pick<Config, 'REDIS_PREFIX' | 'ALERT_WEBHOOK_URL' | 'sourceQuietMs' | 'centerHours' | 'CENTER_TZ'>;
  log: Log;
  clickhouse: ClickHouseClient;
  redisUrl: string;
  /** The clock (tests pass a controllable one). */
  now?: () => number;
  /** How often tracks are stepped with the latest values (default 1000 ms; 0: never by itself, tests call tick()). */
  tickMs?: number;
  /** How often thresholds and figures are re-read in full, catching lost notices (default 30 s). */
  reconcileMs?: number;
  /** Lease of the single evaluating engine (default 15 s; renewed every tick or every 5 s). */
  leaseMs?: number;
  webhook?: AlertWebhook;
}

export interface AlertEngineHandle {
  /** Steps every known figure now (what the timer does). Resolves once committed. */
  tick(): Promise<void>;
  /** Resolves when every snapshot and notice received so far has been evaluated. */
  idle(): Promise<void>;
  /** Re-reads thresholds, tracks and figures (what a new leader does). */
  reload(): Promise<void>;
  readonly leader: boolean;
  /** Transitions committed so far (tests, metrics). */
  readonly transitions: number;
  /** Snapshot publications received so far (tests wait on it). */
  readonly received: number;
  /** The (window, scope) figures held: none while standing by (a new leader reads them all). */
  readonly figures: number;
  close(): Promise<void>;
}

export async function startAlertEngine(deps: AlertEngineDeps): Promise<AlertEngineHandle> {
  const { config, log, clickhouse } = deps;
  const now = deps.now ?? Date.now;
  const tickMs = deps.tickMs ?? 1000;
  const leaseMs = deps.leaseMs ?? 15_000;
  const kpiNames = kpiRedisNames(config.REDIS_PREFIX);
  const redis: Redis = createRedis(deps.redisUrl, 'publisher', (m) => log.warn(m));
  const sub: Redis = createRedis(deps.redisUrl, 'subscriber', (m) => log.warn(m));
  const store = new AlertStore(clickhouse, redis, config.REDIS_PREFIX);
  const thresholdStore = new ThresholdStore(clickhouse);
  const webhook = deps.webhook ?? (config.ALERT_WEBHOOK_URL ? new AlertWebhook({ url: config.ALERT_WEBHOOK_URL, log }) : undefined);
  const lease = new Lease(redis, store.names.leader, leaseMs);
  const activity = new SourceActivity(redis, config.REDIS_PREFIX, log);
  const quietKey = `${config.REDIS_PREFIX}:alerts:quiet-sources`;
  let sourcesCheckedAt = Number.NEGATIVE_INFINITY;
  const quietMinutes = (source: string) => (config.sourceQuietMs[source as IngestSource] ?? 0) / 60_000;

  let thresholds: Threshold[] = [];
  let tracks = new Map<string, Track>();
  /** Latest values per "<window>|<scope>". */
  let figures = new Map<string, { window: WindowName; scope: string; values: Values }>();
  let leader = false;
  let loaded = false;
  let committed = 0;
  /** When this engine last noted in Redis that it evaluated (store.names.evaluatedAt). */
  let notedAt = Number.NEGATIVE_INFINITY;
  let received = 0;
  let closed = false;

  // Every evaluation runs on this chain, one at a time.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (what: string, fn: () => Promise<void>): Promise<void> => {
    chain = chain.then(fn).catch((err: unknown) => {
      // refused writes: this engine paused past its lease, and another leads now
      if (err instanceof LeaseLost) standBy();
      else log.error({ err, what }, 'alert engine: evaluation failed (retried on the next tick)');
    });
    return chain;
  };

  function setFigures(snaps: readonly Snapshot[]): void {
    for (const s of snaps) figures.set(`${s.window}|${s.scope}`, { window: s.window, scope: s.scope, values: s.values });
  }

  async function loadAll(): Promise<void> {
    thresholds = await thresholdStore.list();
    tracks = await store.loadTracks();
    // No engine evaluated for a while (all stopped, a crash): a pending breach's or recovery's time counted the gap as
    // held, and would fire (or clear) on figures from before it. Pending times start again; open alerts stay.
    const evaluatedAt = Number(await redis.get(store.names.evaluatedAt));
    if (!(now() - evaluatedAt <= PENDING_TRUSTED_MS)) {
      const restarted = [...tracks.values()]
        .filter((t) => t.warningSince !== null || t.criticalSince !== null || (t.lowerSince ?? null) !== null)
        .map((t) => ({ ...t, warningSince: null, criticalSince: null, lowerSince: null }));
      const keep = restarted.filter((t) => t.alert !== null);
      const drop = restarted.filter((t) => t.alert === null).map((t) => trackKey(t.thresholdId, t.scope));
      if (restarted.length > 0) {
        await store.commit(lease, keep, drop, []);
        for (const t of keep) tracks.set(trackKey(t.thresholdId, t.scope), t);
        for (const k of drop) tracks.delete(k);
        log.info({ restarted: restarted.length }, 'alert engine: no evaluation for a while; pending breaches start again');
      }
    }
    // Redis lost the tracks (or never had them): the open alerts in ClickHouse come back as tracks.
    const known = new Set([...tracks.values()].map((t) => t.alert?.id).filter(Boolean));
    const restored: Track[] = [];
    const orphans: Transition[] = [];
    const history = await store.openAlertsFromHistory();
    for (const { alert, at } of history) {
      if (known.has(alert.id)) continue;
      const key = trackKey(alert.thresholdId, alert.scope);
      if (tracks.get(key)?.alert) {
        // Its scope has another open alert: this one's history row was written, its commit to Redis never (the store
        // failed between the two, or an engine that had lost its lease was refused). It was never shown nor sent: it
        // ends, in the history only.
        if (now() - at >= ORPHAN_AFTER_MS) orphans.push(retire({ ...emptyTrack(alert.thresholdId, alert.scope), alert, alertAt: at }, now())!);
        continue;
      }
      const track: Track = { ...emptyTrack(alert.thresholdId, alert.scope), alert: { ...alert, acknowledgedBy: null, acknowledgedAt: null }, alertAt: at };
      tracks.set(key, track);
      restored.push(track);
    }
    if (orphans.length > 0) {
      await store.endOrphans(orphans);
      log.warn({ alerts: orphans.map((o) => o.alert.id) }, 'alert engine: ended alerts whose commit had failed half-way (never shown)');
    }
    if (restored.length > 0) {
      await store.commit(lease, restored, [], []);
      log.warn({ restored: restored.length }, 'alert engine: open alerts restored from ClickHouse');
    }
    // ... and the screens' list of open alerts, with their acknowledgements, when Redis lost that too
    const open = new Set([...tracks.values()].map((t) => t.alert?.id));
    const relisted = await store.restoreActive(lease, history.filter((h) => open.has(h.alert.id)));
    if (relisted > 0) log.warn({ relisted }, 'alert engine: open alerts listed again for the screens');
    const next = new Map<string, { window: WindowName; scope: string; values: Values }>();
    figures = next;
    for (const w of WINDOWS) setFigures(await readSnapshots(redis, kpiNames, w));
    loaded = true;
  }

  function standBy(): void {
    if (leader) log.warn('alert engine: lost the lease; another engine evaluates');
    leader = false;
    loaded = false;
    // a standby keeps no figures (it would hold every scope ever published); if it leads, it reads them all (loadAll)
    figures = new Map();
  }

  /**
   * One evaluation of `figs`, or of every figure held (as read anew by a new leader); `complete`: they are every figure
   * there is (see EvaluationInput).
   */
  async function run(figs?: Iterable<{ window: WindowName; scope: string; values: Values }>, complete = false): Promise<void> {
    if (closed) return;
    const held = await lease.hold();
    if (!held) return standBy();
    // Taken anew while leading: the lease ran out meanwhile (another engine may have led) or Redis lost it; what this
    // engine holds may be out of date, and is read again.
    if (held === 'taken') loaded = false;
    if (!leader || !loaded) {
      leader = true;
      await loadAll();
      log.info({ thresholds: thresholds.length, tracks: tracks.size }, 'alert engine: leading');
    }
    const t = now();
    // noted once a second at most (a pass publishes several times a second), well within PENDING_TRUSTED_MS
    if (Math.abs(t - notedAt) >= 1000) {
      await redis.set(store.names.evaluatedAt, String(t));
      notedAt = t;
    }
    // while the center is closed no threshold applies: open alerts clear, none is raised
    const open = centerOpen(config.centerHours, t, config.CENTER_TZ).open;
    const r = evaluate({ thresholds: open ? thresholds : [], tracks, figures: figs ?? figures.values(), complete, dayStart: startOfLocalDay(t, config.CENTER_TZ), now: t });
    if (r.changed.length + r.removed.length + r.transitions.length === 0) return;
    const published = await store.commit(lease, r.changed, r.removed, r.transitions);
    for (const k of r.removed) tracks.delete(k);
    for (const t of r.changed) tracks.set(trackKey(t.thresholdId, t.scope), t);
    committed += r.transitions.length;
    for (const [i, t] of r.transitions.entries()) {
      log.info({ alert: t.alert.id, kpi: t.alert.kpi, scope: t.alert.scope, level: t.alert.level, value: t.alert.value }, `alert ${t.kind}`);
      webhook?.send({ type: 'alert', transition: t.kind, at: new Date(t.at).toISOString(), alert: published[i] as Alert });
    }
  }

  /**
   * Tells the webhook (and the log) which sources went quiet or sent again since the last look: a source is quiet by
   * quietSources' rule; it has resumed once it sent something after the moment it was told quiet from. One that stays
   * silent past the look-back is not "resumed": it stays told until it sends.
   */
  async function watchSources(): Promise<void> {
    const t = now();
    if (!leader || t - sourcesCheckedAt < SOURCES_EVERY_MS) return;
    sourcesCheckedAt = t;
    const last = await activity.lastStored();
    const quiet = quietSources(last, t, config.sourceQuietMs, centerOpen(config.centerHours, t, config.CENTER_TZ));
    const told = await redis.hgetall(quietKey); // source → the time of its latest event when it was told quiet
    for (const q of quiet) {
      if (told[q.source] !== undefined) continue;
      if (!(await lease.writes().hset(quietKey, q.source, q.since).exec())) throw new LeaseLost();
      log.warn({ source: q.source, lastEventAt: q.since }, 'alert engine: a source has gone quiet');
      webhook?.send({ type: 'source', transition: 'quiet', at: new Date(t).toISOString(), source: q.source, lastEventAt: q.since, quietAfterMinutes: quietMinutes(q.source) });
    }
    for (const [source, since] of Object.entries(told)) {
      const at = last.get(source);
      if (at === undefined || !(at > Date.parse(since))) continue;
      if (!(await lease.writes().hdel(quietKey, source).exec())) throw new LeaseLost();
      const lastEventAt = new Date(at).toISOString();
      log.info({ source, lastEventAt }, 'alert engine: a quiet source sends again');
      webhook?.send({ type: 'source', transition: 'resumed', at: new Date(t).toISOString(), source, lastEventAt, quietAfterMinutes: quietMinutes(source) });
    }
  }

  sub.on('message', (channel: string, message: string) => {
    try {
      if (channel === kpiNames.snapshotsChannel) {
        const m = JSON.parse(message) as SnapshotMessage;
        setFigures(m.snapshots);
        void enqueue('snapshots', async () => {
          try {
            await run(m.snapshots.map((s) => ({ window: s.window, scope: s.scope, values: s.values })));
          } finally {
            received++;
          }
        });
      } else if (channel === store.names.channel) {
        const m = JSON.parse(message) as AlertChannelMessage;
        // an acknowledgement, made by the API: the leader tells the webhook, as it does the transitions
        if (m.type === 'alert' && m.acknowledged && leader) {
          webhook?.send({ type: 'alert', transition: 'acknowledged', at: m.alert.acknowledgedAt ?? new Date(now()).toISOString(), alert: m.alert });
        } else if (m.type === 'thresholds.changed') {
          void enqueue('thresholds', async () => {
            thresholds = await thresholdStore.list();
            await run();
          });
        }
      }
    } catch (err) {
      log.warn({ err: (err as Error).message, channel }, 'alert engine: ignored a malformed message');
    }
  });
  await sub.subscribe(kpiNames.snapshotsChannel, store.names.channel);

  const tick = () =>
    enqueue('tick', async () => {
      await run();
      await watchSources();
    });
  // Every figure read anew: the scopes the worker dropped are missing, and their alerts end. (None read: Redis lost
  // them, and the worker has not written them again yet; nothing is concluded from that.)
  const reload = () =>
    enqueue('reload', async () => {
      if (!leader) return;
      await loadAll();
      await run(undefined, figures.size > 0);
    });
  await tick();

  const timers: NodeJS.Timeout[] = [];
  if (tickMs > 0) timers.push(setInterval(() => void tick(), tickMs));
  else timers.push(setInterval(() => void enqueue('lease', async () => void (leader && (await lease.hold()))), Math.min(5_000, leaseMs / 3)));
  timers.push(setInterval(() => void reload(), deps.reconcileMs ?? 30_000));
  for (const t of timers) t.unref();

  return {
    tick,
    idle: async () => {
      // A message may still be in flight on the subscriber: let it land, then wait for the chain.
      await new Promise((r) => setImmediate(r));
      await chain;
    },
    reload,
    get leader() {
      return leader;
    },
    get transitions() {
      return committed;
    },
    get received() {
      return received;
    },
    get figures() {
      return figures.size;
    },
    async close() {
      if (closed) return;
      for (const t of timers) clearInterval(t);
      await chain;
      closed = true;
      if (leader) await lease.release().catch(() => {});
      await webhook?.close();
      sub.disconnect();
      redis.disconnect();
    },
  };
}
