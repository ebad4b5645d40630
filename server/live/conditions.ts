// What every TV is told while it holds, and again when it connects: the center is closed (CENTER_HOURS), sources have
// gone quiet (SOURCE_QUIET_MINUTES), the figures are stale (no tick of the KPI worker, or a subscription that does not
// answer). The hub (hub.ts) checks them on its heartbeat and every FIGURES_CHECK_MS, and sends them to the sockets.
import type { Redis } from 'ioredis';
import { centerOpen, nextOpening } from '../center-hours.ts';
import type { Config } from '../config.ts';
import { quietSources, type SourceActivity } from '../ingest/activity.ts';
import { kpiRedisNames } from '../kpi/snapshots.ts';
import type { Log } from '../log.ts';
import { within } from '../within.ts';
import type { ServerMessage } from './protocol.ts';

/** After how long without a tick of the KPI worker the figures count as stale (the worker ticks every second). */
export const FIGURES_STALE_AFTER_MS = 10_000;
/** How often the hub looks at the worker's latest tick. */
export const FIGURES_CHECK_MS = 2_000;
/**
 * How long the figures' and the sources' checks wait for Redis. A Redis that hangs (stopped, a half-open connection,
 * a long fork) answers never: waiting for it, the hub never judged the figures stale, and the TVs said "live" over
 * frozen figures.
 */
const CHECK_READ_TIMEOUT_MS = 1_500;
/**
 * Unanswered PINGs of the subscription's connection after which it is connected anew. A half-open connection (a
 * NAT or firewall that dropped it, a peer gone without a word) receives nothing and says nothing; TCP keepalive notices
 * after about 11 minutes, and meanwhile every TV showed "live" over figures that had stopped coming.
 */
const SUBSCRIBER_MISSES_BEFORE_RECONNECT = 3;

export interface FloorConditionsOptions {
  config: Pick<Config, 'REDIS_PREFIX' | 'CENTER_TZ' | 'centerHours'>;
  log: Log;
  /** Request-path connection: the worker's latest tick, the sources' activity. */
  redis: Redis;
  /** The live subscription's connection: PINGed, since publications reach the screens through it. */
  subscriber: Redis;
  sources?: { activity: Pick<SourceActivity, 'lastStored'>; quietAfterMs: Readonly<Record<string, number>> };
  now: () => number;
  /** Sends a message to every socket. */
  broadcast: (data: string) => void;
}

export class FloorConditions {
  /**
   * What every socket is told while it holds, and again on connect (null: all is well): the center is closed, sources
   * are quiet, the figures are stale. In the order a new socket hears them.
   */
  private readonly conditions: Record<'hours' | 'sources' | 'figures', string | null> = { hours: null, sources: null, figures: null };
  /** The KPI worker's latest tick (epoch ms, its clock) as last read; null until one is read. */
  private workerAliveAt: number | null = null;
  /** When this process first read a tick (its clock). */
  private firstTickReadAt = 0;
  /**
   * This clock minus the worker's tick, at each new tick seen (the last 30): their least is the two clocks' difference
   * (plus under a second), so ticks are judged on this process's clock, which the screens follow, not the worker's.
   */
  private readonly tickLags: number[] = [];
  private readonly startedAt: number;
  /** When the subscription's connection last answered a PING (this clock): publications reach the screens through it. */
  private subscriberAnsweredAt: number;
  private subscriberMisses = 0;
  private readonly aliveKey: string;

  constructor(private readonly opts: FloorConditionsOptions) {
    this.aliveKey = kpiRedisNames(opts.config.REDIS_PREFIX).alive;
    this.startedAt = opts.now();
    this.subscriberAnsweredAt = this.startedAt;
  }

  private now(): number {
    return this.opts.now();
  }

  /** The conditions that hold, as messages, in the order a new socket hears them. */
  current(): string[] {
    return Object.values(this.conditions).filter((m): m is string => m !== null);
  }

  /**
   * Whether the figures are current (docs/live.md, `figures`): the KPI worker notes each tick that ended well; when its
   * latest is more than FIGURES_STALE_AFTER_MS old (the worker stopped, hangs, or cannot reach ClickHouse or Redis)
   * every socket is told the figures are stale and as of when, and again once they are current. A socket that connects
   * meanwhile is told at once. If Redis cannot be read (or hangs: CHECK_READ_TIMEOUT_MS), the last tick read is the latest known.
   */
  async checkFigures(): Promise<void> {
    const subscribed = this.checkSubscriber();
    try {
      const raw = await within(CHECK_READ_TIMEOUT_MS, this.opts.redis.get(this.aliveKey));
      const at = Number(raw);
      if (raw !== null && Number.isFinite(at) && at !== this.workerAliveAt) {
        // A tick seen change (the first value read may be old, a worker that is gone: it teaches nothing). One that
        // looks older than the clocks' difference allows by more than a stale period comes from another clock (a
        // standby took over, or its clock was set): the difference is learnt anew.
        if (this.workerAliveAt !== null) {
          const lag = this.now() - at;
          if (this.tickLags.length > 0 && lag - Math.min(...this.tickLags) > FIGURES_STALE_AFTER_MS) this.tickLags.length = 0;
          this.tickLags.push(lag);
          if (this.tickLags.length > 30) this.tickLags.shift();
        }
        if (this.workerAliveAt === null) this.firstTickReadAt = this.now();
        this.workerAliveAt = at;
      }
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'live: could not read the KPI worker\'s latest tick');
    }
    // The latest tick on this process's clock. Until a tick is seen to change, the value read counts from when it was
    // first read at most: a tick stamped ahead, by a worker whose clock was then set back and whose ticks wait for that
    // time to come, would otherwise read as current for as long.
    const offset = this.tickLags.length > 0 ? Math.min(...this.tickLags) : 0;
    const ticked =
      this.workerAliveAt === null ? this.startedAt : this.tickLags.length === 0 ? Math.min(this.workerAliveAt, this.firstTickReadAt) : this.workerAliveAt + offset;
    // the figures reach the screens through the subscription: while it does not answer, they are as of its last answer
    await subscribed;
    const asOf = Math.min(ticked, this.subscriberAnsweredAt);
    const stale = this.now() - asOf > FIGURES_STALE_AFTER_MS;
    const wasStale = this.conditions.figures !== null;
    const message = stale
      ? JSON.stringify({ type: 'figures', stale: true, asOf: this.workerAliveAt === null ? null : new Date(asOf).toISOString() } satisfies ServerMessage)
      : null;
    this.announce('figures', message, { type: 'figures', stale: false, asOf: null });
    if (stale && !wasStale) this.opts.log.warn({ asOf: this.workerAliveAt }, 'live: the KPI figures are stale (no tick of the KPI worker)');
    if (!stale && wasStale) this.opts.log.info('live: the KPI figures are current again');
  }

  /**
   * PINGs the subscription's connection (allowed while subscribed); after SUBSCRIBER_MISSES_BEFORE_RECONNECT unanswered
   * in a row it is connected anew (ioredis subscribes again, and `ready` catches the sockets up).
   */
  private async checkSubscriber(): Promise<void> {
    const sub = this.opts.subscriber;
    try {
      await within(CHECK_READ_TIMEOUT_MS, sub.ping());
      this.subscriberAnsweredAt = this.now();
      this.subscriberMisses = 0;
    } catch (err) {
      // not connected (Redis away): ioredis is reconnecting already
      if (sub.status !== 'ready') return void (this.subscriberMisses = 0);
      if (++this.subscriberMisses < SUBSCRIBER_MISSES_BEFORE_RECONNECT) return;
      this.subscriberMisses = 0;
      this.opts.log.warn({ err: (err as Error).message }, 'live: the Redis subscription does not answer; connecting it anew');
      sub.disconnect(true);
    }
  }

  /**
   * Sets a condition (`message` while it holds, null once it ends): when it changed, every socket is told, `cleared`
   * when it ended. Returns whether it changed.
   */
  private announce(name: keyof FloorConditions['conditions'], message: string | null, cleared: ServerMessage): boolean {
    if (message === this.conditions[name]) return false;
    this.conditions[name] = message;
    this.opts.broadcast(message ?? JSON.stringify(cleared));
    return true;
  }

  /**
   * Whether the center is open (CENTER_HOURS; docs/live.md, `hours`): when that changes, every socket is told; a socket
   * that connects while it is closed is told at once.
   */
  checkHours(): void {
    const { centerHours, CENTER_TZ } = this.opts.config;
    const now = this.now();
    let message: string | null = null;
    if (!centerOpen(centerHours, now, CENTER_TZ).open) {
      const opensAt = nextOpening(centerHours, now, CENTER_TZ);
      message = JSON.stringify({ type: 'hours', open: false, opensAt: opensAt === null ? null : new Date(opensAt).toISOString() } satisfies ServerMessage);
    }
    this.announce('hours', message, { type: 'hours', open: true, opensAt: null });
  }

  /**
   * Which sources have gone quiet (docs/live.md, `sources`): when that changes, every socket is told; a socket that
   * connects while some source is quiet is told at once. Redis being down keeps the last answer.
   */
  async checkSources(): Promise<void> {
    const sources = this.opts.sources;
    if (!sources) return;
    let last: Map<string, number>;
    try {
      last = await within(CHECK_READ_TIMEOUT_MS, sources.activity.lastStored());
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'live: could not read when the sources last sent');
      return;
    }
    const now = this.now();
    const quiet = quietSources(last, now, sources.quietAfterMs, centerOpen(this.opts.config.centerHours, now, this.opts.config.CENTER_TZ));
    const message = quiet.length > 0 ? JSON.stringify({ type: 'sources', quiet } satisfies ServerMessage) : null;
    if (this.announce('sources', message, { type: 'sources', quiet: [] }) && quiet.length > 0) this.opts.log.warn({ quiet }, 'live: sources have gone quiet');
  }
}
