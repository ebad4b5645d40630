// Roles of people and what a route may require. Each role includes the rights of the ones before it.
import type { Principal } from './principal.ts';

export const ROLES = ['viewer', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a route requires:
 *   reader      viewer (or higher) users, and display tokens: the KPI/alert read API and the live stream
 *   viewer      users with at least the viewer role (display tokens are refused)
 *   supervisor  supervisors and admins: thresholds, boards, acknowledging alerts, display tokens
 *   admin       admins: users, ingest keys, the audit log
 *   docs        viewer (or higher) users, and ingest keys: the API reference at /docs (integrators hold only a key)
 */
export type Requirement = 'reader' | 'docs' | Role;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleAtLeast(role: Role, min: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(min);
}

/** Whether an authenticated principal may use a route with this requirement (ingest keys: only ingest routes and the docs). */
export function permits(principal: Principal, requirement: Requirement): boolean {
  switch (principal.kind) {
    case 'user':
      return roleAtLeast(principal.role, requirement === 'reader' || requirement === 'docs' ? 'viewer' : requirement);
    case 'display':
      return requirement === 'reader';
    case 'ingest':
      return requirement === 'docs';
  }
}
