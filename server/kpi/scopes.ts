// Scopes: which slice of the center a figure covers. `center` is everything; the others name a queue, team, channel
// or agent as the events carry them (an event counts in the scopes named by its own fields).
export const SCOPE_KINDS = ['queue', 'team', 'channel', 'agent'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export type Scope = { kind: 'center' } | { kind: ScopeKind; name: string };

export class ScopeError extends Error {
  override name = 'ScopeError';
}

// Names are what the senders use: anything printable, up to 128 characters.
const NAME_RE = /^[^\u0000-\u001f\u007f]{1,128}$/u;

export function parseScope(text: string): Scope {
  if (text === 'center') return { kind: 'center' };
  const i = text.indexOf(':');
  const kind = i < 0 ? text : text.slice(0, i);
  if (i < 0 || !(SCOPE_KINDS as readonly string[]).includes(kind)) {
    throw new ScopeError(`scope ${JSON.stringify(text)} is invalid: expected center, queue:<name>, team:<name>, channel:<name> or agent:<id>`);
  }
  const name = text.slice(i + 1);
  if (!NAME_RE.test(name)) throw new ScopeError(`scope ${JSON.stringify(text)} is invalid: the name must be 1–128 printable characters`);
  return { kind: kind as ScopeKind, name };
}

export function formatScope(scope: Scope): string {
  return scope.kind === 'center' ? 'center' : `${scope.kind}:${scope.name}`;
}

/** Parses and de-duplicates a list of scope strings, keeping the caller's order. */
export function parseScopes(texts: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of texts) {
    const s = formatScope(parseScope(t));
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** The scopes a row counts in, by its own queue, team, channel and agent (the TypeScript twin of compute.ts's scopesExpr). */
export function scopesOf(queue: string, team: string, channel: string, agentId: string): string[] {
  const out = ['center'];
  if (queue !== '') out.push(`queue:${queue}`);
  if (team !== '') out.push(`team:${team}`);
  if (channel !== '') out.push(`channel:${channel}`);
  if (agentId !== '') out.push(`agent:${agentId}`);
  return out;
}
