// The event writer: coalesces concurrent ingest requests into few ClickHouse inserts (requests wait for the running
// insert, up to a size cap), stores each (source, id) once (dedupe.ts, sql/009_ingest_check.sql), and answers each
// request only once the insert holding its events is confirmed. One insert runs at a time, across every API process
// (the insert lock in dedupe.ts).
import type { ClickHouseClient } from '@clickhouse/client';
import { eventKey, type ValidEvent } from './contract.ts';
import type { Deduplicator, InsertLock } from './dedupe.ts';
import { Coalescer, type Written } from './coalesce.ts';
import { insertEventRows, toEventRows } from './rows.ts';

/** The start of events_ingest_mv's refusal (sql/009_ingest_check.sql). */
const ALREADY_STORED = 'NABIZ_DUPLICATE:';

export interface WriteResult {
  /** Stored now. */
  accepted: number;
  /** Already stored (or earlier in the write), with the same `occurredAt`: a retry, counted once. */
  duplicates: number;
  /** Not stored: the id already names another event of the source, at another `occurredAt` (`usedAt`, ms). */
  conflicts: IdConflict[];
}

/**
 * An event whose (source, id) is taken by an event of another time: not a retry but another event under a used id
 * (a sender's counter that started again, say), which is refused rather than dropped as a duplicate.
 */
export interface IdConflict {
  event: ValidEvent;
  usedAt: number;
}

/** ClickHouse could not take the write: nothing of the request was stored or acknowledged; a retry is safe. */
export class WriteUnavailableError extends Error {
  override name = 'WriteUnavailableError';
}

export interface WriterOptions {
  maxBatchEvents: number;
  /** Called after each confirmed insert with the events it stored (never blocks the answer). */
  onStored?: (events: ValidEvent[]) => void;
  /** Called after each successful write of a batch: how many distinct events it held, and how long it took (ms). */
  onWritten?: (events: number, ms: number) => void;
  log: { error: (obj: object, msg: string) => void };
  /** The clock of `received_at` (tests). */
  now?: () => number;
}

/** events_ingest refused a batch because some of it is already stored (sql/009_ingest_check.sql). */
function isAlreadyStored(err: unknown): boolean {
  return (err as { code?: string }).code === '395' && String((err as Error).message).includes(ALREADY_STORED);
}

function isUnknownOutcome(err: Error): boolean {
  return /timeout|socket hang up|ECONNRESET/i.test(`${err.message} ${(err as { code?: string }).code ?? ''}`);
}

export class EventWriter {
  private readonly requests: Coalescer<ValidEvent[], WriteResult>;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly dedupe: Deduplicator,
    private readonly opts: WriterOptions,
  ) {
    this.requests = new Coalescer((batch) => this.flush(batch), {
      maxSize: opts.maxBatchEvents,
      sizeOf: (events) => events.length,
      closedError: () => new WriteUnavailableError('the server is shutting down'),
    });
  }

  /** Stores the events of one request (each (source, id) at most once) and resolves once ClickHouse confirmed. */
  write(events: ValidEvent[]): Promise<WriteResult> {
    if (events.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0, conflicts: [] });
    return this.requests.submit(events);
  }

  /** Stops taking writes and waits until everything queued is written. */
  close(): Promise<void> {
    return this.requests.close();
  }

  /** Writes the events of several requests in one insert (coalesce.ts), under the insert lock. */
  private async flush(batch: ValidEvent[][]): Promise<Written<WriteResult>> {
    // The first occurrence of a (source, id) in the batch is the one that may be stored; later ones are duplicates.
    const first = new Map<string, ValidEvent>();
    for (const events of batch) {
      for (const e of events) {
        const key = eventKey(e.source, e.id);
        if (!first.has(key)) first.set(key, e);
      }
    }
    const unique = [...first.values()];

    let lock: InsertLock;
    let toStore: ValidEvent[];
    let storedAt: Map<ValidEvent, number>;
    const started = performance.now();
    try {
      lock = await this.dedupe.lock();
      try {
        ({ fresh: toStore, storedAt } = await this.insertNew(unique));
      } catch (err) {
        await (isUnknownOutcome(err as Error) ? this.dedupe.holdUntilExpiry(lock) : this.dedupe.unlock(lock)).catch(() => {});
        throw err;
      }
    } catch (err) {
      this.opts.log.error({ err, events: unique.length }, 'event write failed; nothing of these requests was acknowledged');
      throw new WriteUnavailableError(`events could not be stored: ${(err as Error).message}`);
    }

    // Each event not stored now is a retry of the one its id names (stored before, or first in this write) when it has
    // that one's occurredAt, and another event under a used id when it has not.
    const storedNow = new Set(toStore);
    const results = batch.map((events): WriteResult => {
      let accepted = 0;
      let duplicates = 0;
      const conflicts: IdConflict[] = [];
      for (const e of events) {
        if (storedNow.has(e)) {
          accepted++;
          continue;
        }
        const named = first.get(eventKey(e.source, e.id))!;
        const usedAt = storedAt.get(named) ?? named.occurredAtMs;
        if (usedAt === e.occurredAtMs) duplicates++;
        else conflicts.push({ event: e, usedAt });
      }
      return { accepted, duplicates, conflicts };
    });
    return {
      results,
      after: async () => {
        this.opts.onWritten?.(unique.length, performance.now() - started);
        if (toStore.length > 0) this.opts.onStored?.(toStore);
        // Released after the answers, off their path: the events are stored, so an insert that waits for the lock
        // finds them stored once it goes.
        // (not released: the next insert waits for the lock's lease, at most DEDUPE_LEASE_MS)
        await this.dedupe.unlock(lock).catch((err: unknown) => this.opts.log.error({ err }, 'the insert lock could not be released; the next insert waits for its lease'));
      },
    };
  }

  /**
   * Inserts the events not stored yet (holding the insert lock) and returns them (`fresh`), and the `occurredAt` of the
   * event stored under each of the others (`storedAt`). Usually one insert: `events_ingest` stores the whole batch, or
   * refuses all of it when any event is already stored (sql/009_ingest_check.sql); then the stored ones are looked up
   * and the others inserted.
   */
  private async insertNew(events: ValidEvent[]): Promise<{ fresh: ValidEvent[]; storedAt: Map<ValidEvent, number> }> {
    const rows = toEventRows(events, (this.opts.now ?? Date.now)());
    try {
      await insertEventRows(this.clickhouse, 'events_ingest', rows);
      return { fresh: events, storedAt: new Map() };
    } catch (err) {
      if (!isAlreadyStored(err)) throw err;
    }
    const stored = await this.dedupe.findStored(events);
    // Both ask the same question of the same tables; should they ever disagree, nothing is written (a 503: a retry
    // asks again) rather than risk storing an event twice.
    if (stored.size === 0) throw new Error('the batch was refused as already stored, yet none of its events is found stored');
    const fresh = events.filter((e) => !stored.has(e));
    if (fresh.length > 0) await insertEventRows(this.clickhouse, 'events', rows.filter((_, i) => !stored.has(events[i]!)));
    return { fresh, storedAt: stored };
  }
}
