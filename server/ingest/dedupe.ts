// Exactly-once storage of events: a retried (source, id) is stored once, whether it comes back at once,
// concurrently (from any API process) or days later.
//
// 1. Reserve: Redis `SET key token NX PX lease` per event. A reservation only marks an id as *in flight*; it is
//    released after the insert, whatever its outcome, so a failed insert never marks an id as seen. An id reserved
//    by someone else is waited for, then reserved again, so two inserts of one id do not run at once.
// 2. Check, in ClickHouse, which is the truth (Redis holds nothing that cannot be lost): an id is stored when it is in
//    `event_ids` (every event the KPI worker has fanned out, sql/008_fanout.sql) or in `events` above the fan-out
//    watermark (stored since). The writer inserts a batch through `events_ingest`, whose view makes this check inside
//    the insert and refuses the whole batch if any of it is stored (sql/009_ingest_check.sql); only then does it ask
//    `findStored` which ones, and insert the others.
// 3. The caller releases the reservations.
// If an insert's outcome is unknown (a timeout), the reservations are left to expire instead of being released, so
// a retry waits for the lease rather than racing an insert that may still land.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { newEvents, STORED_WATERMARK } from '../kpi/materialize.ts';
import { eventKey } from './contract.ts';

const RESERVE = `
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then out[i] = 1 else out[i] = 0 end
end
return out`;

const RELEASE = `
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k); n = n + 1 end
end
return n`;

const COUNT_EXISTING = `
local n = 0
for _, k in ipairs(KEYS) do n = n + redis.call('EXISTS', k) end
return n`;

/**
 * Which of the (source, id) pairs {sources}[i], {ids}[i] are stored: fanned out (event_ids), or in `events` above the
 * fan-out watermark (the same test as events_ingest_mv). One query for every source of a batch; the `IN` sets use the
 * tables' (source, id) keys, and the caller keeps only the exact pairs.
 */
const STORED_IDS_SQL = `
SELECT source, id FROM event_ids WHERE source IN {sources:Array(String)} AND id IN {ids:Array(String)}
UNION ALL
WITH ${STORED_WATERMARK} AS fanned_out
SELECT source, id FROM events
WHERE ${newEvents(true, 'fanned_out')} AND source IN {sources:Array(String)} AND id IN {ids:Array(String)}`;

/** Keeps a look-up's URL (where ClickHouse takes query parameters) well under the servers' 1 MiB limit. */
const MAX_PARAM_BYTES = 256 * 1024;

export class DedupeUnavailableError extends Error {
  override name = 'DedupeUnavailableError';
}

export interface EventKey {
  source: string;
  id: string;
}

export interface Reservation {
  token: string;
  keys: string[];
}

export class Deduplicator {
  constructor(
    private readonly redis: Redis,
    private readonly clickhouse: ClickHouseClient,
    private readonly prefix: string,
    private readonly opts: { leaseMs: number; waitMs: number },
  ) {}

  private key(e: EventKey): string {
    // One hash tag, so the scripts' keys share a slot on a Redis Cluster too.
    return `${this.prefix}:{evt}:${e.source}:${e.id}`;
  }

  /** Reserves every event's key, waiting for ones another writer holds. `events` must hold each (source, id) once. */
  async reserve(events: EventKey[]): Promise<Reservation> {
    const token = randomBytes(12).toString('base64url');
    const reservation: Reservation = { token, keys: [] };
    let waiting = events;
    const deadline = Date.now() + this.opts.waitMs;
    try {
      while (waiting.length > 0) {
        const keys = waiting.map((e) => this.key(e));
        const got = (await this.redis.eval(RESERVE, keys.length, ...keys, token, this.opts.leaseMs)) as number[];
        const held: EventKey[] = [];
        got.forEach((ok, i) => (ok ? reservation.keys.push(keys[i]!) : held.push(waiting[i]!)));
        waiting = held;
        if (waiting.length === 0) break;
        // Another request is storing some of these ids right now: wait until it is done, then look again.
        const heldKeys = waiting.map((e) => this.key(e));
        while ((await this.redis.eval(COUNT_EXISTING, heldKeys.length, ...heldKeys)) as number > 0) {
          if (Date.now() > deadline) throw new DedupeUnavailableError('events with these ids are still being stored by another request');
          await sleep(20);
        }
      }
      return reservation;
    } catch (err) {
      await this.release(reservation).catch(() => {});
      throw err;
    }
  }

  async release(reservation: Reservation): Promise<void> {
    if (reservation.keys.length === 0) return;
    await this.redis.eval(RELEASE, reservation.keys.length, ...reservation.keys, reservation.token);
  }

  /** The events whose (source, id) is already stored in ClickHouse. Ask it while holding their reservations. */
  async findStored<T extends EventKey>(events: T[]): Promise<Set<T>> {
    const found = new Set<T>();
    for (const chunk of chunksByBytes(events, MAX_PARAM_BYTES)) {
      const rs = await this.clickhouse.query({
        query: STORED_IDS_SQL,
        query_params: { sources: [...new Set(chunk.map((e) => e.source))], ids: chunk.map((e) => e.id) },
        format: 'JSONCompactEachRow',
        // a parameter's value is parsed under max_query_size (256 KiB by default)
        clickhouse_settings: { max_query_size: String(4 * MAX_PARAM_BYTES) },
      });
      const stored = new Set((await rs.json<[string, string]>()).map(([source, id]) => eventKey(source, id)));
      for (const e of chunk) if (stored.has(eventKey(e.source, e.id))) found.add(e);
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
