// Exactly-once storage of events: a retried (source, id) is stored once, whether it comes back at once,
// concurrently (from any API process) or days later.
//
// 1. Lock: one Redis key, `SET key token NX PX lease`, held by the one insert into `events_ingest` that runs at a time
//    across every API process, so no two inserts can both find an id unstored and both store it. The lock only marks
//    an insert as *in flight*; it is released after the insert, whatever its outcome, so a failed insert never marks
//    an id as seen. It is renewed while the insert runs, and expires on its own if its holder dies. Writers take
//    turns: one that waits notes it, and the holder, releasing with more to write, lets it go first.
// 2. Check, in ClickHouse, which is the truth (Redis holds nothing that cannot be lost): an id is stored when it is in
//    `event_ids` (every event the KPI worker has fanned out, sql/008_fanout.sql) or in `events` above the fan-out
//    watermark (stored since). The writer inserts a batch through `events_ingest`, whose view makes this check inside
//    the insert and refuses the whole batch if any of it is stored (sql/009_ingest_check.sql); only then does it ask
//    `findStored` which ones, and insert the others.
// 3. The caller unlocks.
// If an insert's outcome is unknown (a timeout), the lock is left to expire instead of being released, so the next
// insert waits for the lease rather than racing one that may still land.
//
// One insert at a time rather than a reservation per event: the writer coalesces requests into large inserts, and on
// 2 cores a second insert beside the first did not raise throughput once the per-event reservations were gone, while
// those reservations (three Redis operations per event) cost a quarter of the throughput (docs/performance.md).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { newEvents, STORED_WATERMARK } from '../kpi/materialize.ts';
import { RENEW_SCRIPT } from '../redis/lease.ts';
import { eventKey } from './contract.ts';

/**
 * Takes the lock (1), or (0) notes that a writer waits for it, so that its holder, when it releases it with more to
 * write, steps back for a moment instead of taking it again at once (without this, a process that writes without
 * pause kept the lock from the others for seconds).
 */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 0`;

/** Releases the lock when its token still holds it; 1 if another writer is waiting for it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return redis.call('EXISTS', KEYS[2])`;

/** How often a writer looks again at a lock another process holds. */
const LOCK_POLL_MS = 5;
/** How long a writer's note that it waits lasts, unless renewed by its next look. */
const WAITING_NOTE_MS = 20 * LOCK_POLL_MS;

/**
 * Which of the (source, id) pairs {sources}[i], {ids}[i] are stored: fanned out (event_ids), or in `events` above the
 * fan-out watermark (the same test as events_ingest_mv). One query for every source of a batch; the `IN` sets use the
 * tables' (source, id) keys, and the caller keeps only the exact pairs.
 */
const STORED_IDS_SQL = `
SELECT source, id, toUnixTimestamp64Milli(occurred_at) FROM event_ids WHERE source IN {sources:Array(String)} AND id IN {ids:Array(String)}
UNION ALL
WITH ${STORED_WATERMARK} AS fanned_out
SELECT source, id, toUnixTimestamp64Milli(occurred_at) FROM events
WHERE ${newEvents(true, 'fanned_out')} AND source IN {sources:Array(String)} AND id IN {ids:Array(String)}`;

/** Keeps a look-up's URL (where ClickHouse takes query parameters) well under the servers' 1 MiB limit. */
const MAX_PARAM_BYTES = 256 * 1024;

/** The insert lock's key. One hash tag, so both keys of the scripts share a slot on a Redis Cluster too. */
export const insertLockKey = (prefix: string) => `${prefix}:{ingest-insert-lock}`;

/**
 * Clears an insert lock left by a process that died holding it (kept by Redis's AOF for the rest of its lease: every
 * request 503 meanwhile). Only for a process that has just started the embedded ClickHouse itself: the one that died
 * wrote to another ClickHouse process, now gone, so no insert of it can still land. Returns whether there was one.
 */
export async function clearStaleInsertLock(redis: Redis, prefix: string): Promise<boolean> {
  return (await redis.del(insertLockKey(prefix))) > 0;
}

export class DedupeUnavailableError extends Error {
  override name = 'DedupeUnavailableError';
}

export interface EventKey {
  source: string;
  id: string;
}

/** The insert lock, held by one write. */
export interface InsertLock {
  token: string;
  /** Stops the renewal; the lock itself stays until `unlock` or its lease ends. */
  stopRenewing: () => void;
}

export class Deduplicator {
  private readonly lockKey: string;
  private readonly waitingKey: string;
  /** After releasing the lock to a waiting writer: not before this time (ms) may this one take it again. */
  private notBefore = 0;

  constructor(
    private readonly redis: Redis,
    private readonly clickhouse: ClickHouseClient,
    prefix: string,
    private readonly opts: { leaseMs: number; waitMs: number },
  ) {
    this.lockKey = insertLockKey(prefix);
    this.waitingKey = `${this.lockKey}:waiting`;
  }

  /**
   * Takes the insert lock, waiting while another API process holds it (up to `waitMs`), and renews it every third of
   * its lease until `unlock` (or `stopRenewing`).
   */
  async lock(): Promise<InsertLock> {
    const token = randomBytes(12).toString('base64url');
    const deadline = Date.now() + this.opts.waitMs;
    const turn = this.notBefore - Date.now();
    if (turn > 0) await sleep(turn);
    for (;;) {
      let taken: unknown;
      try {
        taken = await this.redis.eval(ACQUIRE, 2, this.lockKey, this.waitingKey, token, this.opts.leaseMs, WAITING_NOTE_MS);
      } catch (err) {
        // Unanswered (a Redis that stopped answering; COMMAND_TIMEOUT_MS): the ACQUIRE may still run once it answers,
        // taking the lock for a token given up here, which every writer would wait out for a lease. A RELEASE of the
        // same token, sent on the same connection, runs after it.
        this.redis.eval(RELEASE, 2, this.lockKey, this.waitingKey, token).catch(() => {});
        throw err;
      }
      if (taken === 1) break;
      if (Date.now() > deadline) throw new DedupeUnavailableError(`another insert has held the insert lock for more than ${this.opts.waitMs} ms`);
      await sleep(LOCK_POLL_MS);
    }
    const renewal = setInterval(() => {
      this.redis.eval(RENEW_SCRIPT, 1, this.lockKey, token, this.opts.leaseMs).catch(() => {});
    }, Math.floor(this.opts.leaseMs / 3));
    renewal.unref();
    return { token, stopRenewing: () => clearInterval(renewal) };
  }

  /** Releases the lock. When another writer waits for it, this one lets two of its looks pass before taking it again. */
  async unlock(lock: InsertLock): Promise<void> {
    lock.stopRenewing();
    const othersWait = await this.redis.eval(RELEASE, 2, this.lockKey, this.waitingKey, lock.token);
    if (othersWait === 1) this.notBefore = Date.now() + 2 * LOCK_POLL_MS;
  }

  /**
   * For an insert whose outcome is unknown: keeps the lock for a whole lease from now, then lets it expire, so the
   * next insert does not race one that may still land.
   */
  async holdUntilExpiry(lock: InsertLock): Promise<void> {
    lock.stopRenewing();
    await this.redis.eval(RENEW_SCRIPT, 1, this.lockKey, lock.token, this.opts.leaseMs);
  }

  /**
   * The events whose (source, id) is already stored in ClickHouse, each with the `occurredAt` (ms) of the event stored
   * under it. Ask it while holding the insert lock.
   */
  async findStored<T extends EventKey>(events: T[]): Promise<Map<T, number>> {
    const found = new Map<T, number>();
    for (const chunk of chunksByBytes(events, MAX_PARAM_BYTES)) {
      const rs = await this.clickhouse.query({
        query: STORED_IDS_SQL,
        query_params: { sources: [...new Set(chunk.map((e) => e.source))], ids: chunk.map((e) => e.id) },
        format: 'JSONCompactEachRow',
        // a parameter's value is parsed under max_query_size (256 KiB by default)
        clickhouse_settings: { max_query_size: String(4 * MAX_PARAM_BYTES) },
      });
      const stored = new Map((await rs.json<[string, string, string | number]>()).map(([source, id, at]) => [eventKey(source, id), Number(at)]));
      for (const e of chunk) {
        const at = stored.get(eventKey(e.source, e.id));
        if (at !== undefined) found.set(e, at);
      }
    }
    return found;
  }
}

function* chunksByBytes<T extends EventKey>(list: T[], maxBytes: number): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const e of list) {
    const size = encodeURIComponent(e.id).length + 3;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
