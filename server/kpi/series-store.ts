// Today's 15-minute series in Redis, point by point, and the news of which scopes changed. Names derive from
// REDIS_PREFIX (kpiRedisNames):
//   <prefix>:kpi:series-points:<scope>   hash  "<interval start>" → SeriesPoint JSON (a scope's series today)
//   <prefix>:kpi:series-scopes           set   the scopes with a series today
//   <prefix>:kpi:series-state            hash  asOf (the latest publication's), writer (a token of the last write)
//   channel <prefix>:kpi:series-changes  {"type":"kpi.series","asOf":…,"scopes":[…changed…],"departed":[…Series…]}
// A series is a day's worth of points for every active scope (with 500 agents at the end of a day, ~27 MB of JSON),
// while a publication changes few of them: mostly each changed scope's open interval. So only the points that changed
// are written, and the message names the changed scopes instead of carrying them; a live hub reads those of them its
// screens follow. (Until the night of 2026-11-24 the whole series went out every 5 s: at 1,000 events/s, Redis and
// every API process then handled 27 MB each time, and single-event acknowledgements stalled for 0.5–1 s;
// docs/performance.md.)
//
// A writer writes only its differences when Redis holds what it wrote last (the writer token is its own); otherwise
// (its first write, another worker process wrote since, Redis lost its data) it replaces the series whole. The check
// and the write are one optimistic transaction (WATCH on the state), so give storeSeries a connection of its own.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Series, SeriesPoint } from './compute.ts';
import { byScope, type Departed, type KpiRedisNames } from './snapshots.ts';

export interface SeriesMessage {
  type: 'kpi.series';
  asOf: string;
  /** The scopes whose stored series changed: read them (readSeries) if you show them. */
  scopes: string[];
  /** The scopes that no longer have a series today, with what they show now (not stored). */
  departed: Series[];
}

interface WrittenPoint {
  point: SeriesPoint;
  json: string;
}

/** What a writer last wrote (keep one per writer, between calls): its token, and each scope's points by start. */
export interface SeriesWriterState {
  token: string;
  points: Map<string, Map<string, WrittenPoint>>;
}

export const newSeriesWriterState = (): SeriesWriterState => ({ token: '', points: new Map() });

/** How many times a write starts again when other writers keep changing the series under it. */
const MAX_ATTEMPTS = 3;

/**
 * Stores `series` as today's (the points that differ from what this writer last wrote, or all of them) and publishes
 * the changed scopes, with the `departed` ones of the scopes that no longer have a series. Returns how many scopes
 * changed. `redis` must be a connection no one else uses meanwhile (WATCH).
 */
export async function storeSeries(
  redis: Redis,
  names: KpiRedisNames,
  series: readonly Series[],
  state: SeriesWriterState,
  departed?: Departed<Series>,
): Promise<number> {
  const asOf = series[0]?.asOf ?? new Date().toISOString();
  // Each point as JSON: one that is the very object of the last write is unchanged (the rollup keeps the points of
  // closed intervals, and the series are read only), any other is serialized.
  const next = new Map<string, Map<string, WrittenPoint>>();
  for (const s of series) {
    const last = state.points.get(s.scope);
    next.set(
      s.scope,
      new Map(s.points.map((p) => {
        const was = last?.get(p.start);
        return [p.start, was?.point === p ? was : { point: p, json: JSON.stringify(p) }];
      })),
    );
  }
  const token = randomBytes(12).toString('base64url');

  for (let attempt = 1; ; attempt++) {
    await redis.watch(names.seriesState);
    const [writer, stored] = await Promise.all([redis.hget(names.seriesState, 'writer'), redis.smembers(names.seriesScopes)]);
    const own = state.token !== '' && writer === state.token;
    const before = own ? state.points : new Map(stored.map((scope) => [scope, new Map<string, WrittenPoint>()]));
    const tx = redis.multi();
    const changed: string[] = [];
    for (const [scope, points] of next) {
      const key = names.seriesPoints + scope;
      const old = own ? before.get(scope) : undefined;
      if (!own && before.has(scope)) tx.del(key);
      const flat: string[] = [];
      for (const [start, { json }] of points) if (old?.get(start)?.json !== json) flat.push(start, json);
      const removed = old ? [...old.keys()].filter((start) => !points.has(start)) : [];
      if (removed.length > 0) tx.hdel(key, ...removed);
      if (flat.length > 0) tx.hset(key, ...flat);
      if (flat.length > 0 || removed.length > 0 || !old) changed.push(scope);
    }
    const gone = [...before.keys()].filter((scope) => !next.has(scope));
    for (const scope of gone) tx.del(names.seriesPoints + scope);
    if (!own) tx.del(names.seriesScopes, names.formerSeries);
    const added = own ? [...next.keys()].filter((scope) => !before.has(scope)) : [...next.keys()];
    if (gone.length > 0 && own) tx.srem(names.seriesScopes, ...gone);
    if (added.length > 0) tx.sadd(names.seriesScopes, ...added);
    tx.hset(names.seriesState, 'asOf', asOf, 'writer', token);
    if (changed.length > 0 || gone.length > 0) {
      const message: SeriesMessage = { type: 'kpi.series', asOf, scopes: changed, departed: gone.length > 0 && departed ? departed(gone) : [] };
      tx.publish(names.seriesChannel, JSON.stringify(message));
    }
    const results = await tx.exec();
    if (results === null) {
      // another writer changed the series between the look and the write: look again
      if (attempt < MAX_ATTEMPTS) continue;
      throw new Error(`the series changed under this write ${MAX_ATTEMPTS} times in a row`);
    }
    const failed = results.find(([err]) => err);
    if (failed) {
      state.token = ''; // what Redis holds is unknown: the next write replaces it whole
      throw failed[0]!;
    }
    state.token = token;
    state.points = next;
    return changed.length;
  }
}

/** Today's series of `scopes` (every stored scope when empty, center first, then by name); a scope without one is left out. */
export async function readSeries(redis: Redis, names: KpiRedisNames, scopes: readonly string[] = []): Promise<Series[]> {
  const list = scopes.length > 0 ? scopes : (await redis.smembers(names.seriesScopes)).sort(byScope);
  const tx = redis.multi().hget(names.seriesState, 'asOf');
  for (const scope of list) tx.hgetall(names.seriesPoints + scope);
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  const asOf = (results[0]![1] as string | null) ?? '';
  const series: Series[] = [];
  list.forEach((scope, i) => {
    const points = Object.entries(results[i + 1]![1] as Record<string, string>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, json]) => JSON.parse(json) as SeriesPoint);
    if (points.length > 0) series.push({ window: 'today', scope, asOf, intervalMinutes: 15, points });
  });
  return series;
}
