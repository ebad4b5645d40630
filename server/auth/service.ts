// The access operations behind both the admin API and the CLI: users, ingest keys and display tokens. Each one
// writes the durable record, revokes what must go (sessions, cache entries), publishes the revocation and writes
// the audit log. Without Redis (the CLI beside a running all-in-one) the API processes' watchers do the revoking.
import type { IngestSource } from '../config.ts';
import { INGEST_SOURCES } from '../config.ts';
import type { Log } from '../log.ts';
import type { Actor, AuditLog } from './audit.ts';
import type { CredentialCache } from './cache.ts';
import { ApiError } from '../errors.ts';
import type { RevocationBus } from './revocation.ts';
import type { Role } from './roles.ts';
import { isRole } from './roles.ts';
import type { Sessions } from './sessions.ts';
import { chMs, nextVersion } from '../clickhouse/time.ts';
import { AccessStore, type CredentialKind, type DisplayRecord, type IngestKeyRecord, type UserRecord } from './store.ts';
import { passwordProblem, USERNAME_RE } from './rules.ts';
import { generateToken, hashPassword, newId, sha256Hex } from './tokens.ts';
import { randomUUID } from 'node:crypto';

export interface AccessServiceDeps {
  store: AccessStore;
  audit: AuditLog;
  sessions?: Sessions;
  cache?: CredentialCache;
  bus?: RevocationBus;
  log?: Log;
}

/** A user as shown by the API and the CLI: never the password hash. */
export type PublicUser = Omit<UserRecord, 'passwordHash'>;
export const publicUser = ({ passwordHash: _, ...u }: UserRecord): PublicUser => u;

type PublicCredential<T> = Omit<T, 'tokenSha256'>;
function publicCredential<T extends { tokenSha256: string }>({ tokenSha256: _, ...rest }: T): PublicCredential<T> {
  return rest;
}

/** A refusal about one field of the request body, named by its JSON pointer (the console puts it beside the field). */
function fieldError(code: string, path: string, message: string): ApiError {
  return new ApiError(400, code, message, [{ path, message }]);
}

function checkUsername(raw: string, path = '/username'): string {
  const username = raw.trim().toLowerCase();
  if (!USERNAME_RE.test(username)) {
    throw fieldError('invalid_username', path, 'a username is 1 to 64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit');
  }
  return username;
}

function checkPassword(password: string, path = '/password'): void {
  const problem = passwordProblem(password);
  if (problem) throw fieldError('weak_password', path, problem);
}

function checkRole(role: unknown): Role {
  if (!isRole(role)) throw fieldError('invalid_role', '/role', 'role must be one of viewer, supervisor, admin');
  return role;
}

function checkName(name: string, what: string, path = '/name'): string {
  const n = name.trim();
  if (n.length < 1 || n.length > 200) throw fieldError('invalid_name', path, `${what} must have 1 to 200 characters`);
  return n;
}

export class AccessService {
  constructor(private readonly deps: AccessServiceDeps) {}

  get store(): AccessStore {
    return this.deps.store;
  }

  // --- users ---

  /** Every user, with when each last signed in (from the audit log; null: never, or not within its retention). */
  async listUsers(): Promise<Array<PublicUser & { lastSignInAt: string | null }>> {
    const [users, signIns] = await Promise.all([this.deps.store.listUsers(), this.deps.audit.lastSignIns()]);
    return users.map((u) => ({ ...publicUser(u), lastSignInAt: signIns.get(u.id) ?? null }));
  }

  async createUser(actor: Actor, input: { username: string; password: string; role: string }): Promise<PublicUser> {
    const username = checkUsername(input.username);
    checkPassword(input.password);
    const role = checkRole(input.role);
    if (await this.deps.store.getUser(username)) throw new ApiError(409, 'user_exists', `user ${username} already exists`);
    const version = nextVersion(await this.deps.store.lastUserVersion(username));
    const now = new Date(version).toISOString();
    const user: UserRecord = { id: randomUUID(), username, role, passwordHash: await hashPassword(input.password), createdAt: now, updatedAt: now };
    await this.deps.store.putUser(user);
    await this.deps.audit.record(actor, { action: 'user.create', object_kind: 'user', object_id: user.id, details: { username, role } });
    return publicUser(user);
  }

  /** Changes a user's role and/or password; every session of the user that existed before ends. */
  async updateUser(actor: Actor, rawUsername: string, change: { role?: string; password?: string }): Promise<PublicUser> {
    const username = checkUsername(rawUsername);
    const current = await this.deps.store.getUser(username);
    if (!current) throw new ApiError(404, 'not_found', `no user ${username}`);
    const role = change.role === undefined ? current.role : checkRole(change.role);
    if (change.password !== undefined) checkPassword(change.password);
    if (change.role === undefined && change.password === undefined) throw new ApiError(400, 'nothing_to_change', 'give a role or a password');
    if (current.role === 'admin' && role !== 'admin') await this.keepAnAdmin();
    const passwordHash = change.password === undefined ? current.passwordHash : await hashPassword(change.password);
    const version = nextVersion(current.updatedAt);
    const updated: UserRecord = { ...current, role, passwordHash, updatedAt: new Date(version).toISOString() };
    await this.deps.store.putUser(updated);
    await this.endUserSessions(updated.id, false);
    const details: Record<string, unknown> = { username };
    if (change.role !== undefined) Object.assign(details, { role_from: current.role, role_to: role });
    if (change.password !== undefined) details.password_changed = true;
    await this.deps.audit.record(actor, { action: 'user.update', object_kind: 'user', object_id: current.id, details });
    return publicUser(updated);
  }

  /**
   * A user changes their own password, knowing the current one (the caller has checked it): every session of the
   * user that existed before ends, this one included (the caller signs this browser in again).
   */
  async changeOwnPassword(actor: Actor, user: UserRecord, next: { currentPassword: string; newPassword: string }): Promise<PublicUser> {
    checkPassword(next.newPassword, '/newPassword');
    if (next.newPassword === next.currentPassword) throw fieldError('same_password', '/newPassword', 'must differ from the current password');
    const passwordHash = await hashPassword(next.newPassword);
    const updated: UserRecord = { ...user, passwordHash, updatedAt: new Date(nextVersion(user.updatedAt)).toISOString() };
    await this.deps.store.putUser(updated);
    await this.endUserSessions(updated.id, false);
    await this.deps.audit.record(actor, { action: 'user.password', object_kind: 'user', object_id: user.id, details: { username: user.username } });
    return publicUser(updated);
  }

  async removeUser(actor: Actor, rawUsername: string): Promise<void> {
    const username = checkUsername(rawUsername);
    const current = await this.deps.store.getUser(username);
    if (!current) throw new ApiError(404, 'not_found', `no user ${username}`);
    if (current.role === 'admin') await this.keepAnAdmin();
    await this.deps.store.putUser({ ...current, updatedAt: new Date(nextVersion(current.updatedAt)).toISOString() }, true);
    await this.endUserSessions(current.id, true);
    await this.deps.audit.record(actor, { action: 'user.remove', object_kind: 'user', object_id: current.id, details: { username } });
  }

  /** Refuses to remove or demote the last admin: nobody could manage access any more. */
  private async keepAnAdmin(): Promise<void> {
    const admins = (await this.deps.store.listUsers()).filter((u) => u.role === 'admin');
    if (admins.length <= 1) throw new ApiError(409, 'last_admin', 'this is the last admin: create another admin first');
  }

  /** Ends one session (logout) and tells every API process, so the session's open websockets close too. */
  async endSession(sessionId: string, userId: string): Promise<void> {
    await this.deps.sessions?.revoke(sessionId, userId);
    await this.deps.bus?.publish({ kind: 'session', id: sessionId });
  }

  /**
   * Starts a session for a user whose password the caller has just checked against `user`, the record as it read it.
   * A change of the user written meanwhile (role, password, removal) ended the sessions that existed then, not this
   * one, so the record is read again once the session exists: if it changed, the session ends at once and the caller
   * must sign in again (409). A change written after this read ends the session itself (endUserSessions).
   */
  async startSession(user: PublicUser): Promise<{ token: string; sessionId: string }> {
    const { sessions, store } = this.deps;
    if (!sessions) throw new Error('sessions need Redis');
    const session = await sessions.create(user);
    const now = await store.getUser(user.username);
    if (now?.id !== user.id || chMs(now.updatedAt) !== chMs(user.updatedAt)) {
      await sessions.revoke(session.sessionId, user.id);
      throw new ApiError(409, 'account_changed', 'the account was changed while signing in: sign in again');
    }
    return session;
  }

  /**
   * Ends every session the user has once a change of theirs is written: those started before it, and those whose
   * sign-in read the record before it but started after the change's version time (the new password's hashing takes
   * a while). A session a later sign-in starts with the new record may end too; it signs in again.
   */
  private async endUserSessions(userId: string, removed: boolean): Promise<void> {
    const { sessions, bus } = this.deps;
    if (sessions) {
      const ended = await sessions.revokeUser(userId);
      for (const id of ended) await bus?.publish({ kind: 'session', id });
    }
    if (removed) await bus?.publish({ kind: 'user', id: userId });
  }

  // --- ingest keys ---

  async listIngestKeys() {
    return (await this.deps.store.listCredentials('ingest-key')).map(publicCredential);
  }

  async createIngestKey(actor: Actor, input: { source: string; name: string }): Promise<{ key: PublicCredential<IngestKeyRecord>; token: string }> {
    if (!(INGEST_SOURCES as readonly string[]).includes(input.source)) {
      throw fieldError('invalid_source', '/source', `source must be one of ${INGEST_SOURCES.join(', ')}`);
    }
    const token = generateToken('ingestKey');
    const now = new Date().toISOString();
    const record: IngestKeyRecord = {
      id: newId(),
      source: input.source as IngestSource,
      name: checkName(input.name, 'a key name'),
      tokenSha256: sha256Hex(token),
      createdAt: now,
      createdBy: actor.actor_name,
      revokedAt: null,
      revokedBy: '',
      updatedAt: now,
    };
    await this.deps.store.insertCredential('ingest-key', record);
    await this.deps.audit.record(actor, {
      action: 'ingest_key.create',
      object_kind: 'ingest-key',
      object_id: record.id,
      details: { source: record.source, name: record.name },
    });
    return { key: publicCredential(record), token };
  }

  async revokeIngestKey(actor: Actor, id: string): Promise<PublicCredential<IngestKeyRecord>> {
    return publicCredential((await this.revoke(actor, 'ingest-key', id)) as IngestKeyRecord);
  }

  // --- displays ---

  async listDisplays() {
    return (await this.deps.store.listCredentials('display')).map((d) => publicCredential(d as DisplayRecord & { lastUsedAt: string | null }));
  }

  async createDisplay(actor: Actor, input: { name: string; board: string }): Promise<{ display: PublicCredential<DisplayRecord>; token: string }> {
    const token = generateToken('display');
    const now = new Date().toISOString();
    const record: DisplayRecord = {
      id: newId(),
      name: checkName(input.name, 'a display name'),
      board: checkName(input.board, 'a board', '/board'),
      tokenSha256: sha256Hex(token),
      createdAt: now,
      createdBy: actor.actor_name,
      revokedAt: null,
      revokedBy: '',
      updatedAt: now,
    };
    await this.deps.store.insertCredential('display', record);
    await this.deps.audit.record(actor, {
      action: 'display.create',
      object_kind: 'display',
      object_id: record.id,
      details: { name: record.name, board: record.board },
    });
    return { display: publicCredential(record), token };
  }

  async revokeDisplay(actor: Actor, id: string): Promise<PublicCredential<DisplayRecord>> {
    return publicCredential((await this.revoke(actor, 'display', id)) as DisplayRecord);
  }

  private async revoke(actor: Actor, kind: CredentialKind, id: string): Promise<IngestKeyRecord | DisplayRecord> {
    const current = kind === 'display' ? await this.deps.store.getCredential('display', id) : await this.deps.store.getCredential('ingest-key', id);
    if (!current) throw new ApiError(404, 'not_found', `no ${kind} ${id}`);
    if (current.revokedAt !== null) return current; // already revoked: nothing to do, nothing to audit
    const version = nextVersion(current.updatedAt);
    const revoked = { ...current, revokedAt: new Date(version).toISOString(), revokedBy: actor.actor_name, updatedAt: new Date(version).toISOString() };
    if ('source' in revoked) await this.deps.store.insertCredential('ingest-key', revoked);
    else await this.deps.store.insertCredential('display', revoked as DisplayRecord);
    try {
      await this.deps.cache?.tombstone(current.tokenSha256);
    } catch (err) {
      // The cache entry expires within the hour; the API processes' watchers tombstone it within seconds.
      this.deps.log?.warn({ err: (err as Error).message, kind, id }, 'could not mark the revoked token in Redis');
    }
    await this.deps.bus?.publish({ kind, id });
    await this.deps.audit.record(actor, {
      action: kind === 'display' ? 'display.revoke' : 'ingest_key.revoke',
      object_kind: kind,
      object_id: id,
      details: { name: current.name },
    });
    return revoked;
  }
}

/** Creates the first admin from ADMIN_PASSWORD, once: only if no user `admin` ever existed (a removed one stays removed). */
export async function bootstrapAdmin(service: AccessService, adminPassword: string | undefined, log?: Log): Promise<'created' | 'skipped'> {
  if (!adminPassword) return 'skipped';
  if ((await service.store.lastUserVersion('admin')) !== undefined) return 'skipped';
  try {
    await service.createUser(SYSTEM_ACTOR, { username: 'admin', password: adminPassword, role: 'admin' });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'user_exists') return 'skipped'; // another API process was first
    throw err;
  }
  log?.info('created the first admin (username admin) from ADMIN_PASSWORD');
  return 'created';
}

export const SYSTEM_ACTOR: Actor = { actor_kind: 'system', actor_id: 'nabiz', actor_name: 'system', ip: '', user_agent: '' };

