// Turns a presented token into a principal: sessions from Redis; ingest keys and display tokens from the Redis
// cache, falling back to their durable ClickHouse records; INGEST_KEYS from the config.
import { parseIngestKeys } from '../config.ts';
import { ApiError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { CachedCredential, CredentialCache } from './cache.ts';
import type { DisplayPrincipal, IngestPrincipal, Principal } from './principal.ts';
import type { Sessions } from './sessions.ts';
import type { AccessStore, CredentialKind, DisplayRecord, IngestKeyRecord } from './store.ts';
import { isTokenOf, sha256Hex } from './tokens.ts';

const USAGE_EVERY_MS = 60_000;
const USAGE_MEMORY = 10_000;
/**
 * ClickHouse look-ups of tokens it does not know, per client address and minute. Past them, a token missing from the
 * cache is answered 429 without one: a flood of made-up tokens must not turn into a flood of queries (known tokens are
 * cached, so a TV or an integration never comes near it).
 */
const UNKNOWN_LOOKUPS_PER_MINUTE = 20;

export interface AuthenticatorDeps {
  store: AccessStore;
  sessions: Sessions;
  cache: CredentialCache;
  /** The raw INGEST_KEYS value from the config. */
  ingestKeys?: string;
  log?: Log;
  /** The clock of the per-address look-up budget (tests). */
  now?: () => number;
}

export class Authenticator {
  private readonly configKeys = new Map<string, IngestPrincipal>();
  private readonly lastUsage = new Map<string, number>();
  /** Per client address: the minute, and its look-ups that found nothing. */
  private readonly unknownLookups = new Map<string, { minute: number; n: number }>();

  constructor(private readonly deps: AuthenticatorDeps) {
    const counts: Record<string, number> = {};
    for (const { source, key } of deps.ingestKeys ? parseIngestKeys(deps.ingestKeys) : []) {
      const n = (counts[source] = (counts[source] ?? 0) + 1);
      // Keyed by the hash, so the map lookup compares digests, not the secret itself.
      this.configKeys.set(sha256Hex(key), { kind: 'ingest', keyId: `config:${source}:${n}`, name: `INGEST_KEYS ${source} #${n}`, source });
    }
  }

  /**
   * The principal a token stands for, or null if it is unknown, revoked or expired. Throws a 429 ApiError when the
   * client address has spent its look-ups of unknown tokens this minute and this token is not in the cache.
   */
  async resolve(token: string, ip = ''): Promise<Principal | null> {
    if (token.length === 0 || token.length > 512) return null;
    if (isTokenOf('session', token)) return this.deps.sessions.get(token);
    if (isTokenOf('display', token)) return this.credential('display', token, ip);
    if (isTokenOf('ingestKey', token)) return this.credential('ingest-key', token, ip);
    // INGEST_KEYS are chosen by an operator, and may be short: a miss counts against the address's look-ups, so they
    // cannot be guessed at line rate
    const configured = this.configKeys.get(sha256Hex(token));
    if (configured) return configured;
    this.checkBudget(ip);
    this.spend(ip);
    return null;
  }

  /** Throws 429 when `ip` has spent its look-ups of unknown tokens this minute. */
  private checkBudget(ip: string): void {
    const at = (this.deps.now ?? Date.now)();
    const minute = Math.floor(at / 60_000);
    const spent = this.unknownLookups.get(ip);
    if (spent?.minute === minute && spent.n >= UNKNOWN_LOOKUPS_PER_MINUTE) {
      // Not "unknown" (401): the token may be good (a TV opening its link behind a proxy whose address a broken
      // sender shares), and a TV takes 401 as final. 429: it tries again.
      const wait = Math.ceil(((minute + 1) * 60_000 - at) / 1000);
      throw new ApiError(429, 'rate_limited', `too many unknown tokens from this address; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
    }
  }

  /** Counts a look-up that found nothing (checkBudget said there was one left). */
  private spend(ip: string): void {
    const minute = Math.floor((this.deps.now ?? Date.now)() / 60_000);
    const spent = this.unknownLookups.get(ip);
    if (this.unknownLookups.size >= USAGE_MEMORY) this.unknownLookups.clear();
    this.unknownLookups.set(ip, spent?.minute === minute ? { minute, n: spent.n + 1 } : { minute, n: 1 });
  }

  private async credential(kind: CredentialKind, token: string, ip: string): Promise<DisplayPrincipal | IngestPrincipal | null> {
    const hash = sha256Hex(token);
    let entry = await this.deps.cache.get(hash);
    if (!entry) {
      this.checkBudget(ip);
      const record = await this.deps.store.findCredentialByHash(kind, hash);
      if (!record) {
        this.spend(ip);
        return null;
      }
      entry = toEntry(kind, record);
      await this.deps.cache.fill(hash, entry);
    }
    if (entry.status !== 'active') return null;
    const p = entry.principal;
    // A cached principal of the other kind cannot happen with distinct prefixes; check anyway.
    if ((kind === 'display') !== (p.kind === 'display')) return null;
    this.noteUsage(kind, p.kind === 'display' ? p.displayId : p.keyId, ip);
    return p;
  }

  /** Records last-used times, at most once a minute per credential and process, without waiting. */
  private noteUsage(kind: CredentialKind, id: string, ip: string): void {
    const k = `${kind}:${id}`;
    const now = Date.now();
    if (now - (this.lastUsage.get(k) ?? 0) < USAGE_EVERY_MS) return;
    if (this.lastUsage.size >= USAGE_MEMORY) this.lastUsage.clear();
    this.lastUsage.set(k, now);
    this.deps.store.recordUsage(kind, id, ip, now).catch((err: Error) => this.deps.log?.warn({ err: err.message, kind, id }, 'could not record credential usage'));
  }
}

function toEntry(kind: CredentialKind, record: IngestKeyRecord | DisplayRecord): CachedCredential {
  if (record.revokedAt !== null) return { status: 'revoked' };
  if (kind === 'display') {
    const d = record as DisplayRecord;
    return { status: 'active', principal: { kind: 'display', displayId: d.id, name: d.name, board: d.board } };
  }
  const k = record as IngestKeyRecord;
  return { status: 'active', principal: { kind: 'ingest', keyId: k.id, name: k.name, source: k.source } };
}
