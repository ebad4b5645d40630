// A lease in Redis: at most one holder at a time among processes (the alert engine, the KPI worker). The holder is a
// random token per process; it takes the key with SET NX PX, keeps it by renewing before it expires, and gives it back
// on close. A holder that dies without giving it back is replaced once the lease runs out.
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

  /** Gives the lease back (if this process holds it), so another takes over at once rather than when it expires. */
  async release(): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.key, this.token);
  }
}
