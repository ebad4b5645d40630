// Coalesces concurrent requests' writes into few ClickHouse inserts: an idle coalescer writes at once (a lone request
// waits for nobody); while a write is in flight, the requests arriving meanwhile wait for it and then go together in
// the next one, up to a size cap. So the running insert is the linger, and one insert runs at a time. Each request is
// answered once the write holding its part is confirmed. Used for events (writer.ts) and refused input (rejected.ts).

/** What a write gives: each item's answer, in order, and what to do once they are sent, before the next write. */
export interface Written<R> {
  results: R[];
  after?: () => Promise<void>;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (err: Error) => void;
}

export class Coalescer<T, R> {
  private queue: Pending<T, R>[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  /**
   * `write` stores a batch and answers each item in order, or throws (every item of the batch is then refused with
   * that error). `sizeOf` counts an item against `maxSize` (a batch holds at least one item, whatever its size).
   */
  constructor(
    private readonly write: (items: T[]) => Promise<Written<R>>,
    private readonly opts: { maxSize: number; sizeOf: (item: T) => number; closedError: () => Error },
  ) {}

  submit(item: T): Promise<R> {
    if (this.closed) return Promise.reject(this.opts.closedError());
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) this.startFlush();
    });
  }

  /** Stops taking items and waits until everything queued is written. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
  }

  private startFlush(): void {
    const batch: Pending<T, R>[] = [];
    let size = 0;
    while (this.queue.length > 0 && (batch.length === 0 || size + this.opts.sizeOf(this.queue[0]!.item) <= this.opts.maxSize)) {
      const p = this.queue.shift()!;
      batch.push(p);
      size += this.opts.sizeOf(p.item);
    }
    this.flushing = this.flush(batch).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.startFlush();
    });
  }

  private async flush(batch: Pending<T, R>[]): Promise<void> {
    let written: Written<R>;
    try {
      written = await this.write(batch.map((p) => p.item));
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    batch.forEach((p, i) => p.resolve(written.results[i]!));
    await written.after?.();
  }
}
