// At most `size` holders at once; the others wait their turn, first come first served. A holder that finishes hands
// its slot straight to the first waiter, so the count never exceeds `size`.
export class Slots {
  readonly #waiting: Array<() => void> = [];
  #held = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots: size must be a positive integer, got ${size}`);
  }

  /** Runs `fn` once a slot is free, and frees it afterwards. */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#held++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    }
  }
}
