// The KPI worker's fan-out watermark, stored at most once per interval.
//
// A pass runs several times a second under load; storing the watermark after each one wrote a tiny part to
// `kpi_progress` every time (ClickHouse wants few inserts per second per table, and ingest's duplicate check reads this
// table on every insert). The watermark may lag (materialize.ts: a pass starts from the worker's own position, and
// what lies above the stored watermark is only checked twice or taken again after a restart), so this keeps the
// highest position whose writes are done and stores it when the interval has passed since the last store.
export interface WatermarkWriterOptions {
  /** Stores a position (writeWatermark). */
  store: (position: number) => Promise<void>;
  /** Least time between two stores, in ms. */
  everyMs: number;
  onError: (err: unknown) => void;
  /** The clock (tests). */
  now?: () => number;
}

export class WatermarkWriter {
  private wanted: number | null = null;
  private storedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** The stores, one after the other. */
  private chain: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: WatermarkWriterOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** A pass up to `position` was made; its position may be stored once `written` resolves (never if it rejects). */
  offer(position: number, written: Promise<void>): void {
    written.then(
      () => {
        this.wanted = Math.max(this.wanted ?? 0, position);
        const wait = this.opts.everyMs - (this.now() - this.storedAt);
        if (wait <= 0) void this.store();
        else this.timer ??= setTimeout(() => void this.store(), wait);
      },
      () => {}, // a pass that was not written is done again by the worker; its position is not stored
    );
  }

  /** Stores what is wanted now, without waiting for the interval (recomputeNow, shutdown). */
  flush(): Promise<void> {
    return this.store();
  }

  private store(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.chain = this.chain.then(async () => {
      if (this.wanted === null) return;
      const position = this.wanted;
      this.wanted = null;
      try {
        await this.opts.store(position);
        this.storedAt = this.now();
      } catch (err) {
        this.opts.onError(err);
        this.wanted = Math.max(this.wanted ?? 0, position); // the next store tries again
      }
    });
    return this.chain;
  }
}
