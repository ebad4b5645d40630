// HTTP preconditions on writes (RFC 9110 §13), so that two people editing one thing do not undo each other's change:
// `If-Match: "<updatedAt>"` replaces only the version the editor opened (412 when it changed since), and
// `If-None-Match: *` creates only (412 when it exists). The console sends them; other clients may.
import { Type } from '@sinclair/typebox';
import { ApiError } from './errors.ts';

export const PreconditionHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.Literal('*', { description: 'create only: 412 when it exists' })),
  'if-match': Type.Optional(Type.String({ maxLength: 64, description: 'replace only this version (its updatedAt, quoted): 412 when it changed since' })),
});

/**
 * Refuses (412 `<what>_changed`, saying who changed it and when) a write whose If-Match header (`"…"`, `W/"…"` or
 * bare) names another version than `current`'s, or that names one of something since deleted (`current` undefined).
 * Without the header, anything goes.
 */
export function requireVersion(ifMatch: string | undefined, current: { updatedAt: string; updatedBy: string } | undefined, what: 'board' | 'threshold'): void {
  if (ifMatch === undefined || ifMatch.replace(/^W\//, '').replace(/^"(.*)"$/, '$1') === current?.updatedAt) return;
  throw new ApiError(
    412,
    `${what}_changed`,
    current ? `${current.updatedBy} changed this ${what} at ${current.updatedAt}, since you opened it: open it again, then make your change` : `this ${what} was deleted since you opened it`,
  );
}
