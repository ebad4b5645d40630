// HTTP preconditions on writes (RFC 9110 §13), so that two people editing one thing do not undo each other's change:
// `If-Match: "<updatedAt>"` replaces only the version the editor opened (412 when it changed since), and
// `If-None-Match: *` creates only (412 when it exists). The console sends them; other clients may.
import { Type } from '@sinclair/typebox';

export const PreconditionHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.Literal('*', { description: 'create only: 412 when it exists' })),
  'if-match': Type.Optional(Type.String({ maxLength: 64, description: 'replace only this version (its updatedAt, quoted): 412 when it changed since' })),
});

/** Whether an If-Match header (`"…"`, `W/"…"` or bare) names `version`. */
export function matchesVersion(ifMatch: string, version: string | undefined): boolean {
  return ifMatch.replace(/^W\//, '').replace(/^"(.*)"$/, '$1') === version;
}
