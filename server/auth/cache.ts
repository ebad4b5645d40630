// The Redis cache in front of the durable ingest-key and display records, keyed by the token's SHA-256:
// `<prefix>:auth:cred:<sha256>`. A miss costs one ClickHouse lookup (so losing Redis logs no TV out); a revocation
// overwrites the entry with a tombstone, and fills use SET NX so a lookup racing a revocation cannot undo it.
import type { Redis } from 'ioredis';
import type { Log } from '../log.ts';
import type { DisplayPrincipal, IngestPrincipal } from './principal.ts';

export type CachedCredential = { status: 'active'; principal: DisplayPrincipal | IngestPrincipal } | { status: 'revoked' };

const ACTIVE_TTL_SECONDS = 3600;
const TOMBSTONE_TTL_SECONDS = 7 * 86_400;

export class CredentialCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log?: Log,
  ) {}

  private key(tokenSha256: string): string {
    return `${this.prefix}:auth:cred:${tokenSha256}`;
  }

  /** The cached entry, or undefined on a miss or when Redis does not answer (ClickHouse then decides). */
  async get(tokenSha256: string): Promise<CachedCredential | undefined> {
    try {
      const raw = await this.redis.get(this.key(tokenSha256));
      return raw === null ? undefined : (JSON.parse(raw) as CachedCredential);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'credential cache unavailable; reading ClickHouse');
      return undefined;
    }
  }

  /** Fills the cache unless an entry (e.g. a tombstone written meanwhile) is already there. */
  async fill(tokenSha256: string, entry: CachedCredential): Promise<void> {
    const ttl = entry.status === 'active' ? ACTIVE_TTL_SECONDS : TOMBSTONE_TTL_SECONDS;
    try {
      await this.redis.set(this.key(tokenSha256), JSON.stringify(entry), 'EX', ttl, 'NX');
    } catch {
      // best effort: the durable record stays the truth
    }
  }

  /** Marks a token revoked (overwriting any active entry). Throws if Redis does not answer. */
  async tombstone(tokenSha256: string): Promise<void> {
    await this.redis.set(this.key(tokenSha256), JSON.stringify({ status: 'revoked' }), 'EX', TOMBSTONE_TTL_SECONDS);
  }
}
