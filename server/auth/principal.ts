// Who a request comes from, once its credentials were checked. Set on `request.principal` by the auth plugin.
import type { IngestSource } from '../config.ts';
import type { Role } from './roles.ts';

/** A person signed in with a session (bearer token or cookie). */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  username: string;
  role: Role;
  /** SHA-256 (hex) of the session token: the id a session revocation carries. */
  sessionId: string;
}

/** A wallboard TV: read-only, one board. */
export interface DisplayPrincipal {
  kind: 'display';
  displayId: string;
  name: string;
  board: string;
}

/** A machine sending events of one source. Keys from INGEST_KEYS have ids `config:<source>:<n>`. */
export interface IngestPrincipal {
  kind: 'ingest';
  keyId: string;
  name: string;
  source: IngestSource;
}

export type Principal = UserPrincipal | DisplayPrincipal | IngestPrincipal;

/** A signed-in person as `GET /v1/auth/me` tells it (without the session's id). */
export type SignedInUser = Omit<UserPrincipal, 'sessionId'>;
/** What `GET /v1/auth/me` answers as `principal`. */
export type PublicPrincipal = SignedInUser | DisplayPrincipal | IngestPrincipal;

/** Published on every revocation; `id` is a user id, a session id, a display id or an ingest key id. */
export interface Revocation {
  kind: 'display' | 'session' | 'ingest-key' | 'user';
  id: string;
}

/** Whether a revocation ends what `principal` may do (e.g. a live-stream connection it opened). */
export function revocationAffects(r: Revocation, principal: Principal): boolean {
  switch (principal.kind) {
    case 'user':
      return (r.kind === 'session' && r.id === principal.sessionId) || (r.kind === 'user' && r.id === principal.userId);
    case 'display':
      return r.kind === 'display' && r.id === principal.displayId;
    case 'ingest':
      return r.kind === 'ingest-key' && r.id === principal.keyId;
  }
}

/** A short, secret-free description for logs and the audit log. */
export function describePrincipal(p: Principal): { actor_kind: string; actor_id: string; actor_name: string } {
  switch (p.kind) {
    case 'user':
      return { actor_kind: 'user', actor_id: p.userId, actor_name: p.username };
    case 'display':
      return { actor_kind: 'display', actor_id: p.displayId, actor_name: p.name };
    case 'ingest':
      return { actor_kind: 'ingest', actor_id: p.keyId, actor_name: p.name };
  }
}
