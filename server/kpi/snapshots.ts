// Latest KPI snapshots in Redis, and their publication; the names of every KPI key, each derived from REDIS_PREFIX
// (today's series: series-store.ts).
//   <prefix>:kpi:snapshots   hash  "<window>|<scope>" → Snapshot JSON (written when its values change; its asOf is
//                            then that of the recomputation that changed it: readers take the later of it and as-of)
//   <prefix>:kpi:as-of       string  ISO time of the latest recomputation
//   <prefix>:kpi:alive       string  epoch ms of the worker's latest tick that ended well (the figures are current as
//                            of then, changed or not; the live hubs tell the screens when it is too old)
//   <prefix>:kpi:leader      string  the lease of the worker process that runs the KPI jobs (server/redis/lease.ts)
//   channel <prefix>:kpi:snapshots   {"type":"kpi.snapshots","asOf":…,"snapshots":[…changed…]}
// Redis holds nothing that cannot be recomputed from ClickHouse: after a Redis restart (or loss) the worker's first
// recomputation rewrites everything.
import type { Redis } from 'ioredis';
import type { Snapshot } from './compute.ts';
import type { WindowName } from './windows.ts';

export interface KpiRedisNames {
  snapshots: string;
  asOf: string;
  alive: string;
  leader: string;
  snapshotsChannel: string;
  /** The start of each scope's series key (followed by the scope). */
  seriesPoints: string;
  seriesScopes: string;
  seriesState: string;
  seriesChannel: string;
  /** The hash of whole series that earlier versions wrote (until the night of 2026-11-24): the next full write removes it. */
  formerSeries: string;
  /** When the retention job last ran (epoch ms): a worker taking the lease runs it if that was more than a day ago. */
  retentionAt: string;
}

export function kpiRedisNames(prefix: string): KpiRedisNames {
  return {
    snapshots: `${prefix}:kpi:snapshots`,
    asOf: `${prefix}:kpi:as-of`,
    alive: `${prefix}:kpi:alive`,
    leader: `${prefix}:kpi:leader`,
    snapshotsChannel: `${prefix}:kpi:snapshots`,
    seriesPoints: `${prefix}:kpi:series-points:`,
    seriesScopes: `${prefix}:kpi:series-scopes`,
    seriesState: `${prefix}:kpi:series-state`,
    seriesChannel: `${prefix}:kpi:series-changes`,
    formerSeries: `${prefix}:kpi:series`,
    retentionAt: `${prefix}:kpi:retention-at`,
  };
}

export interface SnapshotMessage {
  type: 'kpi.snapshots';
  asOf: string;
  snapshots: Snapshot[];
}

const field = (s: Pick<Snapshot, 'window' | 'scope'>) => `${s.window}|${s.scope}`;

/** The order scope lists are read in: center first, then by name. */
export const byScope = (a: string, b: string): number => (a === 'center' ? -1 : b === 'center' ? 1 : a.localeCompare(b));

/** The scopes of hash fields "<window>|<scope>". */
const scopesOfFields = (fields: Iterable<string>): string[] => [...new Set([...fields].map((f) => f.slice(f.indexOf('|') + 1)))];

/**
 * What scopes that are no longer active show now (for the snapshots: every window of them), computed by the caller. A
 * screen showing such a scope (an agent who signed off, a queue with nothing today after midnight) gets them once, as
 * its last update; they are not stored, so a screen that subscribes later has the scope computed on demand alike.
 */
export type Departed<T> = (scopes: string[]) => T[];

/**
 * Stores `snapshots` as the latest and publishes those whose values changed since `previous` (a map the caller keeps
 * between calls: field → values JSON), and the `departed` ones of the scopes no longer active. Only the changed ones
 * are written, and the scopes no longer active removed; with `full` (or an empty `previous`), the stored set is
 * replaced as a whole instead, which also repairs a Redis that lost its data. Returns how many were published.
 */
export async function storeSnapshots(
  redis: Redis,
  names: KpiRedisNames,
  snapshots: readonly Snapshot[],
  previous: Map<string, string>,
  opts: { full?: boolean; departed?: Departed<Snapshot> } = {},
): Promise<number> {
  const asOf = snapshots[0]?.asOf ?? new Date().toISOString();
  const full = opts.full === true || previous.size === 0;
  const changed: Snapshot[] = [];
  const flat: string[] = [];
  const next = new Map<string, string>();
  for (const s of snapshots) {
    const f = field(s);
    const values = JSON.stringify(s.values);
    next.set(f, values);
    const isChanged = previous.get(f) !== values;
    if (isChanged) changed.push(s);
    if (isChanged || full) flat.push(f, JSON.stringify(s));
  }
  // what was there before: this process's last store, or after a restart (previous empty) what Redis holds
  const before = previous.size > 0 ? [...previous.keys()] : await redis.hkeys(names.snapshots);
  const removed = before.filter((f) => !next.has(f));
  const gone = scopesOfFields(removed);
  if (gone.length > 0 && opts.departed) changed.push(...opts.departed(gone));
  const tx = redis.multi();
  if (full) tx.del(names.snapshots);
  else if (removed.length > 0) tx.hdel(names.snapshots, ...removed);
  if (flat.length > 0) tx.hset(names.snapshots, ...flat);
  tx.set(names.asOf, asOf);
  if (changed.length > 0) {
    const message: SnapshotMessage = { type: 'kpi.snapshots', asOf, snapshots: changed };
    tx.publish(names.snapshotsChannel, JSON.stringify(message));
  }
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  previous.clear();
  for (const [k, val] of next) previous.set(k, val);
  return changed.length;
}

/**
 * The latest snapshots of `window`, for the given scopes (all stored scopes when empty), in the order asked. Each one's
 * asOf is the latest recomputation's (a snapshot is rewritten only when its values change, and they held since).
 */
export async function readSnapshots(
  redis: Redis,
  names: KpiRedisNames,
  window: WindowName,
  scopes: readonly string[] = [],
): Promise<Snapshot[]> {
  const tx = redis.multi().get(names.asOf);
  if (scopes.length > 0) tx.hmget(names.snapshots, ...scopes.map((scope) => field({ window, scope })));
  else tx.hgetall(names.snapshots);
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  const latest = (results[0]![1] as string | null) ?? '';
  const current = (raw: string) => {
    const s = JSON.parse(raw) as Snapshot;
    return s.asOf < latest ? { ...s, asOf: latest } : s;
  };
  if (scopes.length > 0) return (results[1]![1] as Array<string | null>).filter((r): r is string => r !== null).map(current);
  return Object.entries(results[1]![1] as Record<string, string>)
    .filter(([f]) => f.startsWith(`${window}|`))
    .map(([, r]) => current(r))
    .sort((a, b) => byScope(a.scope, b.scope));
}

/** The scopes with a snapshot of `window` (the active ones: figures today), center first, then by name. */
export async function readScopes(redis: Redis, names: KpiRedisNames, window: WindowName): Promise<string[]> {
  const prefix = `${window}|`;
  return (await redis.hkeys(names.snapshots))
    .filter((f) => f.startsWith(prefix))
    .map((f) => f.slice(prefix.length))
    .sort(byScope);
}
