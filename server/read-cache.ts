// A read shared for a moment: what every TV asks every few seconds (its boards, the thresholds, the floor messages)
// is read from ClickHouse once per moment for all of them, not once per TV. 200 TVs polling three reads every 5 s
// cost the embedded ClickHouse most of a core (6.7 ms of its CPU a read, measured on the demo).

/** How long a shared read serves: a second, well under the TVs' 5-second polling. */
export const SHARED_READ_MS = 1_000;

/** One value, read at most once per `ttlMs`; callers meanwhile share the read under way. A failed read is not kept. */
export class SharedRead<T> {
  private held: { at: number; value: Promise<T> } | null = null;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const t = this.now();
    if (this.held && t - this.held.at < this.ttlMs) return this.held.value;
    const value = this.load();
    const held = { at: t, value };
    this.held = held;
    value.catch(() => this.held === held && (this.held = null));
    return value;
  }

  /** Forgets the value (after a write in this process: its next reader sees the write). */
  clear(): void {
    this.held = null;
  }
}
