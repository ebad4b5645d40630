// People for API tests: the admin that ADMIN_PASSWORD creates, signed in, and one user per role asked for.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Role } from '../../server/auth/roles.ts';

/** A session token for `username` (the login must succeed). */
export async function signIn(app: FastifyInstance, username: string, password: string): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ token: string }>().token;
}

/**
 * Signs the admin in and creates a user named after each role (password `<role>-Pa55word`), signed in too: session
 * tokens by username (`admin`, `viewer`, `supervisor`).
 */
export async function signInRoles(app: FastifyInstance, adminPassword: string, roles: readonly Role[]): Promise<Record<string, string>> {
  const tokens: Record<string, string> = { admin: await signIn(app, 'admin', adminPassword) };
  for (const role of roles) {
    const password = `${role}-Pa55word`;
    const r = await app.inject({ method: 'POST', url: '/v1/admin/users', headers: { authorization: `Bearer ${tokens.admin}` }, payload: { username: role, password, role } });
    expect(r.statusCode, r.body).toBe(201);
    tokens[role] = await signIn(app, role, password);
  }
  return tokens;
}
