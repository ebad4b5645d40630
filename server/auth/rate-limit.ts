// Login rate limits, shared by every API process through Redis: failed attempts are counted per username and per
// client address in a fixed window; above either limit login answers 429 before any password is checked.
import type { Redis } from 'ioredis';

export interface LoginLimits {
  maxPerUser: number;
  maxPerIp: number;
  windowSeconds: number;
}

export type LimitVerdict = { limited: false } | { limited: true; retryAfterSeconds: number };

export class LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: LoginLimits,
  ) {}

  private keys(username: string, ip: string): [string, string] {
    return [`${this.prefix}:login-fail:user:${username.toLowerCase()}`, `${this.prefix}:login-fail:ip:${ip}`];
  }

  /**
   * Counts this attempt as a failure up front (so concurrent guesses cannot slip past the limit) and says whether
   * it is over a limit. Call `succeeded` when the password was right.
   */
  async attempt(username: string, ip: string): Promise<LimitVerdict> {
    const [u, a] = this.keys(username, ip);
    const w = this.limits.windowSeconds;
    const res = await this.redis.multi().incr(u).expire(u, w, 'NX').incr(a).expire(a, w, 'NX').ttl(u).ttl(a).exec();
    const n = (i: number) => Number(res?.[i]?.[1] ?? 0);
    const [userCount, ipCount, userTtl, ipTtl] = [n(0), n(2), n(4), n(5)];
    const overUser = userCount > this.limits.maxPerUser;
    const overIp = ipCount > this.limits.maxPerIp;
    if (!overUser && !overIp) return { limited: false };
    const ttl = Math.max(overUser ? userTtl : 0, overIp ? ipTtl : 0);
    return { limited: true, retryAfterSeconds: Math.max(1, ttl) };
  }

  /** A right password: it does not count against the address, and clears the username's failures. */
  async succeeded(username: string, ip: string): Promise<void> {
    const [u, a] = this.keys(username, ip);
    await this.redis.multi().del(u).decr(a).exec();
  }
}
