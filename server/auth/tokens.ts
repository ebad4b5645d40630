// Secrets: generation, hashing and checking. Keys, display tokens and session tokens are 32 random bytes, so a
// plain SHA-256 is the right hash for them (nothing to brute-force); passwords get scrypt, a slow KDF.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const TOKEN_PREFIX = {
  ingestKey: 'nbz_ik_',
  display: 'nbz_dt_',
  session: 'nbz_st_',
} as const;
export type TokenKind = keyof typeof TOKEN_PREFIX;

const TOKEN_BYTES = 32;
const TOKEN_BODY = /^[A-Za-z0-9_-]{43}$/; // base64url of 32 bytes, no padding

export function generateToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether `token` has the shape of a generated token of this kind (checked before any lookup). */
export function isTokenOf(kind: TokenKind, token: string): boolean {
  const prefix = TOKEN_PREFIX[kind];
  return token.startsWith(prefix) && TOKEN_BODY.test(token.slice(prefix.length));
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A short random public id (for keys and displays). */
export function newId(): string {
  return randomBytes(8).toString('hex');
}

// --- passwords ---------------------------------------------------------------------------------------------

/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB and tens of milliseconds per hash). */
export const SCRYPT_PARAMS = { log2N: 15, r: 8, p: 1 };
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFKC'), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function scryptOptions(log2N: number, r: number, p: number): ScryptOptions {
  const N = 2 ** log2N;
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

/** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`, base64url; the parameters travel with the hash so they can be raised. */
export async function hashPassword(password: string, params = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LEN, scryptOptions(params.log2N, params.r, params.p));
  return ['scrypt', params.log2N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time check of a password against a stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > 22 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length === 0) return false;
  const actual = await scrypt(password, salt, expected.length, scryptOptions(log2N, r, p));
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;
/**
 * Spends the same time as checking a real password, for a login whose username does not exist, so that a wrong
 * username and a wrong password cannot be told apart by timing.
 */
export async function burnPasswordCheck(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummyHash);
  return false;
}
