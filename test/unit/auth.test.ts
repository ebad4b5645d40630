import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../server/auth/authenticate.ts';
import type { CredentialCache } from '../../server/auth/cache.ts';
import { revocationAffects, type Principal } from '../../server/auth/principal.ts';
import type { Sessions } from '../../server/auth/sessions.ts';
import { permits, roleAtLeast, type Requirement } from '../../server/auth/roles.ts';
import type { AccessStore } from '../../server/auth/store.ts';
import { nextVersion } from '../../server/clickhouse/time.ts';
import { passwordProblem } from '../../server/auth/rules.ts';
import { generateToken, hashPassword, isTokenOf, sha256Hex, verifyPassword } from '../../server/auth/tokens.ts';
import { ConfigError, loadConfig, parseIngestKeys } from '../../server/config.ts';

const viewer: Principal = { kind: 'user', userId: 'u1', username: 'v', role: 'viewer', sessionId: 's1' };
const supervisor: Principal = { ...viewer, userId: 'u2', role: 'supervisor', sessionId: 's2' };
const admin: Principal = { ...viewer, userId: 'u3', role: 'admin', sessionId: 's3' };
const display: Principal = { kind: 'display', displayId: 'd1', name: 'TV', board: 'main' };
const ingest: Principal = { kind: 'ingest', keyId: 'k1', name: 'ACD', source: 'acd' };

describe('tokens', () => {
  it('are 32 random bytes in base64url behind a readable prefix, and never repeat', () => {
    const a = generateToken('display');
    expect(a).toMatch(/^nbz_dt_[A-Za-z0-9_-]{43}$/);
    expect(generateToken('ingestKey')).toMatch(/^nbz_ik_/);
    expect(generateToken('display')).not.toBe(a);
    expect(isTokenOf('display', a)).toBe(true);
    expect(isTokenOf('session', a)).toBe(false);
    expect(isTokenOf('display', `${a}x`)).toBe(false);
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('passwords', () => {
  it('are hashed with scrypt and a salt, and only the right one verifies', async () => {
    const h1 = await hashPassword('correct horse battery');
    const h2 = await hashPassword('correct horse battery');
    expect(h1).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain('correct');
    expect(await verifyPassword('correct horse battery', h1)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h1)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$40$8$1$AAAA$AAAA')).toBe(false); // absurd cost is refused, not computed
  });

  it('the parameters travel with the hash, so they can be raised later', async () => {
    const cheap = await hashPassword('another password', { log2N: 10, r: 8, p: 1 });
    expect(await verifyPassword('another password', cheap)).toBe(true);
  });

  it('short passwords are refused', () => {
    expect(passwordProblem('short')).toMatch(/at least 12/);
    expect(passwordProblem('long enough pass')).toBeUndefined();
  });
});

describe('roles', () => {
  it('each requirement admits exactly the principals it should', () => {
    const reqs: Requirement[] = ['reader', 'docs', 'viewer', 'supervisor', 'admin'];
    const table = Object.fromEntries(
      ([['viewer', viewer], ['supervisor', supervisor], ['admin', admin], ['display', display], ['ingest', ingest]] as const).map(([n, p]) => [
        n,
        reqs.filter((r) => permits(p, r)),
      ]),
    );
    expect(table).toEqual({
      viewer: ['reader', 'docs', 'viewer'],
      supervisor: ['reader', 'docs', 'viewer', 'supervisor'],
      admin: ['reader', 'docs', 'viewer', 'supervisor', 'admin'],
      display: ['reader'],
      ingest: ['docs'],
    });
    expect(roleAtLeast('admin', 'viewer')).toBe(true);
    expect(roleAtLeast('viewer', 'supervisor')).toBe(false);
  });
});

describe('revocations', () => {
  it('reach the principal they name and no other', () => {
    expect(revocationAffects({ kind: 'display', id: 'd1' }, display)).toBe(true);
    expect(revocationAffects({ kind: 'display', id: 'd2' }, display)).toBe(false);
    expect(revocationAffects({ kind: 'session', id: 's1' }, viewer)).toBe(true);
    expect(revocationAffects({ kind: 'session', id: 's1' }, supervisor)).toBe(false);
    expect(revocationAffects({ kind: 'user', id: 'u2' }, supervisor)).toBe(true);
    expect(revocationAffects({ kind: 'ingest-key', id: 'k1' }, ingest)).toBe(true);
    expect(revocationAffects({ kind: 'ingest-key', id: 'd1' }, display)).toBe(false);
  });

  it('a record update always gets a newer version, even within the same millisecond', () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(nextVersion(future)).toBe(Date.parse(future) + 1);
    expect(nextVersion()).toBeGreaterThan(0);
  });
});

describe('INGEST_KEYS', () => {
  it('parses source:key pairs', () => {
    expect(parseIngestKeys('acd:k1, ivr:k2,crm:k3')).toEqual([
      { source: 'acd', key: 'k1' },
      { source: 'ivr', key: 'k2' },
      { source: 'crm', key: 'k3' },
    ]);
  });

  it.each([
    ['pbx:k1', /entry 1 must be source:key with source one of acd, ivr, crm/],
    ['acd:k1,nokey', /entry 2 must be source:key/],
    ['acd:', /empty key/],
    ['acd:s3cret-value,ivr:s3cret-value', /repeats a key/],
  ])('refuses %j with a clear message that never repeats the key', (value, message) => {
    let error: unknown;
    try {
      loadConfig({ INGEST_KEYS: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/INGEST_KEYS is invalid/);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('s3cret');
    expect((error as Error).message).not.toContain('k1');
  });
});

describe('tokens unknown to ClickHouse', () => {
  it('are looked up at most 20 times a minute per client address, then answered 429; known ones in the cache still pass', async () => {
    const known = generateToken('display');
    let lookups = 0;
    const store = { findCredentialByHash: async () => (lookups++, null), recordUsage: async () => {} } as unknown as AccessStore;
    const cached = { status: 'active' as const, principal: display };
    const cache = { get: async (hash: string) => (hash === sha256Hex(known) ? cached : undefined), fill: async () => {} } as unknown as CredentialCache;
    let now = Date.parse('2026-11-25T04:00:10Z');
    const auth = new Authenticator({ store, sessions: {} as Sessions, cache, now: () => now });
    const flood = '203.0.113.7';
    for (let i = 0; i < 20; i++) expect(await auth.resolve(generateToken('display'), flood)).toBeNull();
    // 25 made-up tokens from one address: 20 look-ups (unknown: null), the other 5 refused without one, as "try again
    // later" (429, Retry-After: the 50 s left of the minute at 04:00:10), not as unknown: the token may be good
    for (let i = 0; i < 5; i++) {
      await expect(auth.resolve(generateToken('display'), flood)).rejects.toMatchObject({ statusCode: 429, headers: { 'retry-after': '50' } });
    }
    expect(lookups).toBe(20);
    expect(await auth.resolve(known, flood)).toEqual(display); // from the cache
    await auth.resolve(generateToken('ingestKey'), '198.51.100.1'); // another address: looked up (21)
    expect(lookups).toBe(21);
    now += 60_000; // the next minute: looked up again (22)
    await auth.resolve(generateToken('display'), flood);
    expect(lookups).toBe(22);
  });

  it('guesses at an INGEST_KEYS key (chosen by a person, maybe short) count too: 20 a minute per address, then 429; the key still works', async () => {
    const store = { findCredentialByHash: async () => null, recordUsage: async () => {} } as unknown as AccessStore;
    const cache = { get: async () => undefined, fill: async () => {} } as unknown as CredentialCache;
    const now = Date.parse('2026-11-25T04:00:00Z');
    const auth = new Authenticator({ store, sessions: {} as Sessions, cache, now: () => now, ingestKeys: 'acd:test1234' });
    const guesser = '203.0.113.9';
    for (let i = 0; i < 20; i++) expect(await auth.resolve(`test${i}`, guesser)).toBeNull();
    await expect(auth.resolve('test1233', guesser)).rejects.toMatchObject({ statusCode: 429 });
    expect(await auth.resolve('test1234', guesser)).toMatchObject({ kind: 'ingest', source: 'acd' });
  });
});
