// Who is asking: one of the configured users — `default` (full rights, always with a password) and, when enabled, the
// read-only `analyst`. No user has an empty password; a request without credentials is `default` with an empty one,
// and is refused. Credentials arrive as X-ClickHouse-User/Key headers, HTTP basic auth, or `user`/`password` URL parameters.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ClickHouseHttpError, ErrorCode } from './errors.ts';

export interface EmbeddedUser {
  name: string;
  password: string;
  /** A read-only user gets `readonly=1` and its `settings` forced on every query, whatever the request says. */
  readonly: boolean;
  settings?: Record<string, string>;
  /** The database of a request that names none (as a server's user's DEFAULT DATABASE). */
  database?: string;
}

export interface Principal {
  name: string;
  /** Applied after the request's own settings, so the request cannot override them. */
  forcedSettings: Record<string, string>;
  readonly: boolean;
  /** The database of a request that names none. */
  database?: string;
}

function credentials(headers: IncomingHttpHeaders, search: URLSearchParams): { user: string; password: string } {
  const headerUser = headers['x-clickhouse-user'];
  if (typeof headerUser === 'string') {
    const key = headers['x-clickhouse-key'];
    return { user: headerUser, password: typeof key === 'string' ? key : '' };
  }
  const basic = /^Basic\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { user: search.get('user') || 'default', password: search.get('password') ?? '' };
}

/** Constant-time comparison that does not reveal the password's length either. */
function samePassword(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function authenticate(headers: IncomingHttpHeaders, search: URLSearchParams, users: readonly EmbeddedUser[]): Principal {
  const { user, password } = credentials(headers, search);
  const known = users.find((u) => u.name === user);
  // An empty password never matches, even if a user were configured with one.
  if (known === undefined || known.password === '' || !samePassword(password, known.password)) {
    throw new ClickHouseHttpError(
      ErrorCode.AUTHENTICATION_FAILED,
      `${user}: Authentication failed: password is incorrect, or there is no user with such name`,
    );
  }
  return {
    name: known.name,
    readonly: known.readonly,
    forcedSettings: { ...known.settings, ...(known.readonly ? { readonly: '1' } : {}) },
    ...(known.database !== undefined ? { database: known.database } : {}),
  };
}
