// Sessions of people, in Redis only: `<prefix>:session:<sha256(token)>` holds who signed in, with a sliding TTL;
// `<prefix>:user-sessions:<userId>` indexes a user's sessions (score: creation time) so they can all be revoked.
import type { Redis } from 'ioredis';
import type { UserPrincipal } from './principal.ts';
import { isRole, type Role } from './roles.ts';
import { generateToken, isTokenOf, sha256Hex } from './tokens.ts';

interface SessionData {
  userId: string;
  username: string;
  role: Role;
  createdAt: number;
}

export class Sessions {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlSeconds: number,
  ) {}

  private key(sessionId: string): string {
    return `${this.prefix}:session:${sessionId}`;
  }
  private indexKey(userId: string): string {
    return `${this.prefix}:user-sessions:${userId}`;
  }

  async create(user: { id: string; username: string; role: Role }): Promise<{ token: string; sessionId: string }> {
    const token = generateToken('session');
    const sessionId = sha256Hex(token);
    const data: SessionData = { userId: user.id, username: user.username, role: user.role, createdAt: Date.now() };
    const index = this.indexKey(user.id);
    await this.redis.multi().set(this.key(sessionId), JSON.stringify(data), 'EX', this.ttlSeconds).zadd(index, data.createdAt, sessionId).exec();
    // Drop index entries of sessions that expired on their own (logins are rare: this stays small).
    const members = await this.redis.zrange(index, '0', '-1');
    if (members.length > 1) {
      const exists = await Promise.all(members.map((m) => this.redis.exists(this.key(m))));
      const stale = members.filter((_, i) => exists[i] === 0);
      if (stale.length) await this.redis.zrem(index, ...stale);
    }
    return { token, sessionId };
  }

  /** The session's user, refreshing its expiry (sliding), or null if it does not exist (any more). */
  async get(token: string): Promise<UserPrincipal | null> {
    if (!isTokenOf('session', token)) return null;
    const sessionId = sha256Hex(token);
    const raw = await this.redis.getex(this.key(sessionId), 'EX', this.ttlSeconds);
    if (raw === null) return null;
    const data = JSON.parse(raw) as SessionData;
    if (!isRole(data.role)) return null;
    return { kind: 'user', userId: data.userId, username: data.username, role: data.role, sessionId };
  }

  /** Of these session ids, the ones that no longer exist (expired on their own, or ended). */
  async ended(sessionIds: readonly string[]): Promise<string[]> {
    if (sessionIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of sessionIds) pipe.exists(this.key(id));
    const res = (await pipe.exec()) ?? [];
    return sessionIds.filter((_, i) => {
      const [err, n] = res[i] ?? [new Error('no answer'), null];
      if (err) throw err;
      return n === 0;
    });
  }

  /** Ends one session; true if it existed. */
  async revoke(sessionId: string, userId?: string): Promise<boolean> {
    const m = this.redis.multi().del(this.key(sessionId));
    if (userId) m.zrem(this.indexKey(userId), sessionId);
    const res = await m.exec();
    return res?.[0]?.[1] === 1;
  }

  /** Ends every session of a user created at or before `beforeMs` (default: all); returns the ended session ids. */
  async revokeUser(userId: string, beforeMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    const index = this.indexKey(userId);
    const ids = await this.redis.zrangebyscore(index, '-inf', Number.isFinite(beforeMs) ? String(beforeMs) : '+inf');
    if (ids.length === 0) return [];
    const res = await this.redis
      .multi()
      .del(...ids.map((id) => this.key(id)))
      .zrem(index, ...ids)
      .exec();
    void res;
    return ids;
  }
}
