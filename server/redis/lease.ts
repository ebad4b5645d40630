// A lease in Redis: at most one holder at a time among processes (the alert engine, the KPI worker). The holder is a
// random token per process; it takes the key with SET NX PX, keeps it by renewing before it expires, and gives it back
// on close. A holder that dies without giving it back is replaced once the lease runs out.
//
// A holder that paused past its lease (a long garbage collection, a stalled write) may still be on its way to write
// when another has taken over: its writes go through `writes()`, applied in one script only while it holds the lease
// (fencing), so it cannot overwrite the new holder's state.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Renews a lease (KEYS[1]) for ARGV[2] ms only if the token ARGV[1] still holds it; 1 if renewed. Also the ingest lock's. */
export const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
// Gives it back only if we still hold it.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Applies a batch of writes only if the token ARGV[1] holds the lease KEYS[1]; 1 if applied, 0 (nothing written) if
 * not. ARGV[2]: JSON [[command, key index (0: none), ...arguments], ...], the keys being KEYS[2...].
 */
const FENCED_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, c in ipairs(cjson.decode(ARGV[2])) do
  if c[2] > 0 then redis.call(c[1], KEYS[c[2]], unpack(c, 3)) else redis.call(c[1], unpack(c, 3)) end
end
return 1`;

/** Writes to apply together, only while the lease is held (Lease.writes()). One field per command. */
export class FencedWrites {
  private readonly keys: string[] = [];
  private readonly commands: Array<[string, number, ...string[]]> = [];

  constructor(
    private readonly redis: Redis,
    private readonly lease: string,
    private readonly token: string,
  ) {}

  private key(name: string): number {
    let i = this.keys.indexOf(name);
    if (i < 0) i = this.keys.push(name) - 1;
    return i + 2; // KEYS[1] is the lease
  }

  hset(key: string, field: string, value: string): this {
    this.commands.push(['HSET', this.key(key), field, value]);
    return this;
  }

  hdel(key: string, field: string): this {
    this.commands.push(['HDEL', this.key(key), field]);
    return this;
  }

  publish(channel: string, message: string): this {
    this.commands.push(['PUBLISH', 0, channel, message]);
    return this;
  }

  get size(): number {
    return this.commands.length;
  }

  /** Writes them all at once if this process holds the lease: true; false, with nothing written, if it does not. */
  async exec(): Promise<boolean> {
    const applied = await this.redis.eval(FENCED_SCRIPT, 1 + this.keys.length, this.lease, ...this.keys, this.token, JSON.stringify(this.commands));
    return Number(applied) === 1;
  }
}

export class Lease {
  readonly token = randomBytes(12).toString('hex');

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly ttlMs: number,
  ) {}

  /**
   * Keeps the lease for another `ttlMs` if this process holds it ('kept'), else takes it if free ('taken'); null when
   * another holds it. 'taken' by a process that thought it held the lease means Redis forgot it: the lease ran out (a
   * pause longer than it), or Redis lost its data (emptied, restarted without persistence, failed over).
   */
  async hold(): Promise<'kept' | 'taken' | null> {
    if (Number(await this.redis.eval(RENEW_SCRIPT, 1, this.key, this.token, String(this.ttlMs))) === 1) return 'kept';
    return (await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK' ? 'taken' : null;
  }

  /** A batch of writes applied only while this process holds the lease. */
  writes(): FencedWrites {
    return new FencedWrites(this.redis, this.key, this.token);
  }

  /** Gives the lease back (if this process holds it), so another takes over at once rather than when it expires. */
  async release(): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.key, this.token);
  }
}
