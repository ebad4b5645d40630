// Redis connections, one per role (as BullMQ and ioredis recommend): a blocking worker connection must not be
// shared with a subscriber or with request-path commands.
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'commands' | 'publisher' | 'subscriber' | 'worker';

/**
 * How long a request-path command may wait for its answer. A Redis that stopped answering without closing its
 * connections (a frozen process, a network partition, a half-open link) would otherwise hold every request that
 * needs it for good: ingest's insert lock and rate limit, sign-ins, the console.
 */
export const COMMAND_TIMEOUT_MS = 3_000;

/**
 * ioredis's errors for a command it could not send or get answered: Redis is down, unreachable or not answering
 * (commands connections fail fast instead of queueing, and give up on an answer after COMMAND_TIMEOUT_MS).
 */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  return e.name === 'MaxRetriesPerRequestError' || /^(Stream isn't writeable|Connection is closed|Command timed out)/.test(String(e.message ?? ''));
}

export function createRedis(url: string, role: RedisRole, log?: (msg: string) => void): Redis {
  const opts: RedisOptions = {
    connectionName: `nabiz:${role}`,
    // BullMQ workers and subscribers must wait out a Redis restart; request-path commands fail fast instead.
    maxRetriesPerRequest: role === 'worker' || role === 'subscriber' ? null : 2,
    enableOfflineQueue: role !== 'commands',
    ...(role === 'commands' ? { commandTimeout: COMMAND_TIMEOUT_MS } : {}),
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    lazyConnect: false,
  };
  const redis = new Redis(url, opts);
  // Without a listener ioredis prints unhandled errors; the retry strategy does the recovering.
  redis.on('error', (err) => log?.(`redis (${role}): ${err.message}`));
  return redis;
}
