// The event writer: coalesces concurrent ingest requests into few ClickHouse inserts (requests wait for the running
// insert, up to a size cap), stores each (source, id) once (dedupe.ts, sql/009_ingest_check.sql), and answers each
// request only once the insert holding its events is confirmed. One insert runs at a time, across every API process
// (the insert lock in dedupe.ts).
import type { ClickHouseClient } from '@clickhouse/client';
import { eventKey, type ValidEvent } from './contract.ts';
import type { Deduplicator, InsertLock } from './dedupe.ts';
import { insertEventRows, toEventRows } from './rows.ts';

/** The start of events_ingest_mv's refusal (sql/009_ingest_check.sql). */
const ALREADY_STORED = 'NABIZ_DUPLICATE:';

export interface WriteResult {
  accepted: number;
  duplicates: number;
}

/** ClickHouse could not take the write: nothing of the request was stored or acknowledged; a retry is safe. */
export class WriteUnavailableError extends Error {
  override name = 'WriteUnavailableError';
}

interface Pending {
  events: ValidEvent[];
  resolve: (r: WriteResult) => void;
  reject: (err: Error) => void;
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
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly dedupe: Deduplicator,
    private readonly opts: WriterOptions,
  ) {}

  /** Stores the events of one request (each (source, id) at most once) and resolves once ClickHouse confirmed. */
  write(events: ValidEvent[]): Promise<WriteResult> {
    if (this.closed) return Promise.reject(new WriteUnavailableError('the server is shutting down'));
    if (events.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (!this.flushing) this.startFlush();
    });
  }

  /** Stops taking writes and waits until everything queued is written. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
  }

  /**
   * An idle writer writes at once: a lone request waits for nobody. While an insert is in flight, requests wait for it
   * and are then written together (up to maxBatchEvents), so the running insert is the linger.
   */
  private startFlush(): void {
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0]!.events.length <= this.opts.maxBatchEvents)) {
      const p = this.queue.shift()!;
      batch.push(p);
      n += p.events.length;
    }
    this.flushing = this.flush(batch).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.startFlush();
    });
  }

  private async flush(batch: Pending[]): Promise<void> {
    // The first occurrence of a (source, id) in the batch is the one that may be stored; later ones are duplicates.
    const first = new Map<string, ValidEvent>();
    for (const p of batch) {
      for (const e of p.events) {
        const key = eventKey(e.source, e.id);
        if (!first.has(key)) first.set(key, e);
      }
    }
    const unique = [...first.values()];

    let lock: InsertLock;
    let toStore: ValidEvent[];
    const started = performance.now();
    try {
      lock = await this.dedupe.lock();
      try {
        toStore = await this.insertNew(unique);
      } catch (err) {
        await (isUnknownOutcome(err as Error) ? this.dedupe.holdUntilExpiry(lock) : this.dedupe.unlock(lock)).catch(() => {});
        throw err;
      }
    } catch (err) {
      this.opts.log.error({ err, events: unique.length }, 'event write failed; nothing of these requests was acknowledged');
      const unavailable = new WriteUnavailableError(`events could not be stored: ${(err as Error).message}`);
      for (const p of batch) p.reject(unavailable);
      return;
    }

    const storedNow = new Set(toStore);
    for (const p of batch) {
      const accepted = p.events.filter((e) => storedNow.has(e)).length;
      p.resolve({ accepted, duplicates: p.events.length - accepted });
    }
    this.opts.onWritten?.(unique.length, performance.now() - started);
    if (toStore.length > 0) this.opts.onStored?.(toStore);
    // Released after the answers, off their path: the events are stored, so an insert that waits for the lock finds
    // them stored once it goes.
    await this.dedupe.unlock(lock).catch(() => {});
  }

  /**
   * Inserts the events not stored yet (holding the insert lock) and returns them. Usually one insert: `events_ingest` stores
   * the whole batch, or refuses all of it when any event is already stored (sql/009_ingest_check.sql); then the
   * stored ones are looked up and the others inserted.
   */
  private async insertNew(events: ValidEvent[]): Promise<ValidEvent[]> {
    const rows = toEventRows(events, (this.opts.now ?? Date.now)());
    try {
      await insertEventRows(this.clickhouse, 'events_ingest', rows);
      return events;
    } catch (err) {
      if (!isAlreadyStored(err)) throw err;
    }
    const stored = await this.dedupe.findStored(events);
    // Both ask the same question of the same tables; should they ever disagree, nothing is written (a 503: a retry
    // asks again) rather than risk storing an event twice.
    if (stored.size === 0) throw new Error('the batch was refused as already stored, yet none of its events is found stored');
    const fresh = events.filter((e) => !stored.has(e));
    if (fresh.length > 0) await insertEventRows(this.clickhouse, 'events', rows.filter((_, i) => !stored.has(events[i]!)));
    return fresh;
  }
}
