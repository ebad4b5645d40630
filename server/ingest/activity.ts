// When each source (ACD, IVR, CRM) last had events stored, shared by every API process through Redis. A feed that
// stops leaves the wallboards showing their last figures with nothing saying so (the stream itself is live); the live
// hub reads this to tell the screens which sources have gone quiet (docs/live.md).
import type { Redis } from 'ioredis';
import { ALWAYS_OPEN, type OpenState } from '../center-hours.ts';
import type { QuietSource } from '../live/protocol.ts';
import type { Log } from '../log.ts';

/** Only sources heard from within this long count: one never used (or retired) never raises a warning. */
export const QUIET_LOOKBACK_MS = 24 * 3_600_000;

/** How often one process records a source's latest write, at most. */
const RECORD_EVERY_MS = 1_000;

export class SourceActivity {
  private readonly key: string;
  private readonly recorded = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly log: Pick<Log, 'warn'>,
  ) {
    this.key = `${prefix}:ingest:last-stored`;
  }

  /** Records that events of `source` were stored at `at` (epoch ms). Never waits, never throws. */
  stored(source: string, at: number): void {
    if (at - (this.recorded.get(source) ?? 0) < RECORD_EVERY_MS) return;
    this.recorded.set(source, at);
    this.redis.hset(this.key, source, String(at)).catch((err: Error) => this.log.warn({ err: err.message, source }, 'could not record when the source last sent'));
  }

  /** source → when its latest event was stored (epoch ms). */
  async lastStored(): Promise<Map<string, number>> {
    const all = await this.redis.hgetall(this.key);
    return new Map(Object.entries(all).map(([source, at]) => [source, Number(at)]));
  }
}

/**
 * The sources heard from within the look-back whose latest event is their quiet time old or more, by name. A source
 * whose quiet time is 0, or that has none (not a source of the contract), is never quiet. With opening hours
 * (server/center-hours.ts): none while the center is closed, and the quiet time counts from the opening.
 */
export function quietSources(last: ReadonlyMap<string, number>, now: number, quietMs: Readonly<Record<string, number>>, center: OpenState = ALWAYS_OPEN): QuietSource[] {
  if (!center.open) return [];
  return [...last]
    .filter(([source, at]) => {
      const after = quietMs[source] ?? 0;
      return after > 0 && Number.isFinite(at) && now - Math.max(at, center.since) >= after && now - at < QUIET_LOOKBACK_MS;
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([source, at]) => ({ source, since: new Date(at).toISOString() }));
}
