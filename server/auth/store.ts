// Durable access records in ClickHouse: users, ingest keys, displays (ReplacingMergeTree, read with FINAL), and
// when keys and displays were last used. Every write of a record inserts its whole new version.
import type { ClickHouseClient } from '@clickhouse/client';
import type { IngestSource } from '../config.ts';
import type { Role } from './roles.ts';
import { chMs, chTime } from '../clickhouse/time.ts';

export interface UserRecord {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
}

export interface CredentialRecord {
  id: string;
  name: string;
  tokenSha256: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string;
  updatedAt: string;
}
export interface IngestKeyRecord extends CredentialRecord {
  source: IngestSource;
}
export interface DisplayRecord extends CredentialRecord {
  board: string;
}
export type CredentialKind = 'ingest-key' | 'display';

/** A change seen by the revocation watcher. */
export interface AccessChange {
  kind: 'user' | CredentialKind;
  id: string;
  tokenSha256: string;
  updatedAt: string;
  /** user removed, or key/display revoked */
  ended: boolean;
}

interface UserRow {
  id: string;
  username: string;
  role: Role;
  password_hash: string;
  created_at: string;
  updated_at: string;
  deleted: boolean;
}
interface CredentialRow {
  id: string;
  name: string;
  token_sha256: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  revoked_by: string;
  updated_at: string;
  source?: IngestSource;
  board?: string;
}

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  username: r.username,
  role: r.role,
  passwordHash: r.password_hash,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toCredential = (r: CredentialRow): CredentialRecord => ({
  id: r.id,
  name: r.name,
  tokenSha256: r.token_sha256,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
  updatedAt: r.updated_at,
});

const TABLE: Record<CredentialKind, string> = { 'ingest-key': 'ingest_keys', display: 'displays' };
const CREDENTIAL_COLUMNS = 'id, name, token_sha256, created_at, created_by, revoked_at, revoked_by, updated_at';

export class AccessStore {
  constructor(private readonly ch: ClickHouseClient) {}

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const rs = await this.ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  // --- users ---

  /** The current version of a user, deleted or not (deleted users come back as undefined). */
  async getUser(username: string): Promise<UserRecord | undefined> {
    const [row] = await this.rows<UserRow>(
      'SELECT id, username, role, password_hash, created_at, updated_at, deleted FROM users FINAL WHERE username = {u:String}',
      { u: username },
    );
    return row && !row.deleted ? toUser(row) : undefined;
  }

  /** The latest version time of a username, deleted or not (to version the next write after it). */
  async lastUserVersion(username: string): Promise<string | undefined> {
    const [row] = await this.rows<{ v: string }>('SELECT max(updated_at) AS v, count() AS n FROM users WHERE username = {u:String} HAVING n > 0', {
      u: username,
    });
    return row?.v;
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.rows<UserRow>(
      'SELECT id, username, role, password_hash, created_at, updated_at, deleted FROM users FINAL ORDER BY username',
    );
    return rows.filter((r) => !r.deleted).map(toUser);
  }

  async putUser(user: UserRecord, deleted = false): Promise<void> {
    await this.ch.insert({
      table: 'users',
      format: 'JSONEachRow',
      values: [
        {
          id: user.id,
          username: user.username,
          role: user.role,
          password_hash: deleted ? '' : user.passwordHash,
          created_at: chTime(chMs(user.createdAt)),
          updated_at: chTime(chMs(user.updatedAt)),
          deleted,
        },
      ],
    });
  }

  async countUsers(): Promise<number> {
    const [row] = await this.rows<{ n: string }>('SELECT count() AS n FROM users FINAL WHERE NOT deleted');
    return Number(row?.n ?? 0);
  }

  // --- ingest keys and displays ---

  async insertCredential(kind: 'ingest-key', record: IngestKeyRecord): Promise<void>;
  async insertCredential(kind: 'display', record: DisplayRecord): Promise<void>;
  async insertCredential(kind: CredentialKind, record: IngestKeyRecord | DisplayRecord): Promise<void> {
    const row: Record<string, unknown> = {
      id: record.id,
      name: record.name,
      token_sha256: record.tokenSha256,
      created_at: chTime(chMs(record.createdAt)),
      created_by: record.createdBy,
      revoked_at: record.revokedAt === null ? null : chTime(chMs(record.revokedAt)),
      revoked_by: record.revokedBy,
      updated_at: chTime(chMs(record.updatedAt)),
    };
    if ('source' in record) row.source = record.source;
    if ('board' in record) row.board = record.board;
    await this.ch.insert({ table: TABLE[kind], format: 'JSONEachRow', values: [row] });
  }

  private extraColumn(kind: CredentialKind): string {
    return kind === 'ingest-key' ? 'source' : 'board';
  }

  async getCredential(kind: 'ingest-key', id: string): Promise<IngestKeyRecord | undefined>;
  async getCredential(kind: 'display', id: string): Promise<DisplayRecord | undefined>;
  async getCredential(kind: CredentialKind, id: string): Promise<IngestKeyRecord | DisplayRecord | undefined> {
    const [row] = await this.rows<CredentialRow>(
      `SELECT ${CREDENTIAL_COLUMNS}, ${this.extraColumn(kind)} FROM ${TABLE[kind]} FINAL WHERE id = {id:String}`,
      { id },
    );
    return row ? this.fromRow(kind, row) : undefined;
  }

  /** Looks a token up by its SHA-256 (revoked ones included: the caller decides). */
  async findCredentialByHash(kind: CredentialKind, tokenSha256: string): Promise<IngestKeyRecord | DisplayRecord | undefined> {
    // token_sha256 never changes for an id, so filtering on it before FINAL picks the right rows.
    const [row] = await this.rows<CredentialRow>(
      `SELECT ${CREDENTIAL_COLUMNS}, ${this.extraColumn(kind)} FROM ${TABLE[kind]} FINAL WHERE token_sha256 = {h:String}`,
      { h: tokenSha256 },
    );
    return row ? this.fromRow(kind, row) : undefined;
  }

  async listCredentials(kind: CredentialKind): Promise<Array<(IngestKeyRecord | DisplayRecord) & { lastUsedAt: string | null }>> {
    const rows = await this.rows<CredentialRow & { last_used_at: string | null }>(
      `SELECT ${CREDENTIAL_COLUMNS.split(', ').map((c) => `c.${c}`).join(', ')}, c.${this.extraColumn(kind)},
              u.last_used_at AS last_used_at
       FROM (SELECT * FROM ${TABLE[kind]} FINAL) AS c
       LEFT JOIN (SELECT id, max(last_used_at) AS last_used_at FROM credential_usage WHERE kind = {kind:String} GROUP BY id) AS u
         ON u.id = c.id
       ORDER BY c.created_at
       SETTINGS join_use_nulls = 1`,
      { kind },
    );
    return rows.map((r) => ({ ...this.fromRow(kind, r), lastUsedAt: r.last_used_at }));
  }

  private fromRow(kind: CredentialKind, row: CredentialRow): IngestKeyRecord | DisplayRecord {
    return kind === 'ingest-key'
      ? { ...toCredential(row), source: row.source! }
      : { ...toCredential(row), board: row.board ?? '' };
  }

  async recordUsage(kind: CredentialKind, id: string, ip: string, atMs = Date.now()): Promise<void> {
    await this.ch.insert({ table: 'credential_usage', format: 'JSONEachRow', values: [{ kind, id, last_used_at: chTime(atMs), ip }] });
  }

  // --- changes, for the revocation watcher ---

  /** Users changed and credentials revoked with a version time after `sinceMs`. */
  async changesSince(sinceMs: number): Promise<AccessChange[]> {
    const rows = await this.rows<{ kind: AccessChange['kind']; id: string; h: string; updated_at: string; ended: number | boolean }>(
      `SELECT 'user' AS kind, id, '' AS h, updated_at, deleted AS ended FROM users WHERE updated_at > {since:DateTime64(3, 'UTC')}
       UNION ALL
       SELECT 'ingest-key' AS kind, id, token_sha256 AS h, updated_at, revoked_at IS NOT NULL AS ended
         FROM ingest_keys WHERE updated_at > {since:DateTime64(3, 'UTC')} AND revoked_at IS NOT NULL
       UNION ALL
       SELECT 'display' AS kind, id, token_sha256 AS h, updated_at, revoked_at IS NOT NULL AS ended
         FROM displays WHERE updated_at > {since:DateTime64(3, 'UTC')} AND revoked_at IS NOT NULL`,
      { since: chTime(sinceMs) },
    );
    return rows.map((r) => ({ kind: r.kind, id: r.id, tokenSha256: r.h, updatedAt: r.updated_at, ended: Boolean(Number(r.ended)) || r.ended === true }));
  }
}

