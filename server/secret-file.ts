// A generated secret kept in a file that only its owner may read (mode 0600): the password of the embedded
// ClickHouse's `default` user, and the embedded redis-server's `requirepass`. Created once, atomically, and reused on
// every later start. A file that other users may read, or that holds no valid secret, is refused — never used, never
// silently replaced — with a message naming the file and what to do. No message ever contains the secret.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';

/** What a secret file holds: one line of these characters (a generated one is 43 of them). */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;
const FORMAT = 'one line of 16 to 256 characters A-Z a-z 0-9 _ -';

export class SecretFileError extends Error {
  override name = 'SecretFileError';
}

/** 32 random bytes, base64url: 43 characters that need no quoting in a URL, a shell or redis.conf. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * The secret in `file`, or undefined when there is no such file. Refuses a symbolic link, anything but a regular file,
 * a file that its group or others may read or write, and one that holds no valid secret. `what` says what the
 * secret is for, in the messages (e.g. "the password of the embedded ClickHouse's `default` user").
 */
export async function readSecretFile(file: string, what: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    if (code(err) === 'ELOOP') throw new SecretFileError(`${file} (${what}) is a symbolic link: refused. Replace it with the file itself (mode 0600).`);
    throw new SecretFileError(`${file} (${what}) cannot be read: ${(err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SecretFileError(`${file} (${what}) is not a regular file: refused.`);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      const octal = mode.toString(8).padStart(4, '0');
      throw new SecretFileError(
        `${file} (${what}) may be read or changed by other users (mode ${octal}); it must be 0600. ` +
          `Run \`chmod 600 ${file}\` and start again; if someone else may have read it, delete it instead (a new one is ` +
          'generated at the next start) and give the new one to whatever used the old one.',
      );
    }
    const text = (await fh.readFile('utf8')).replace(/\r?\n$/, '');
    const fix = `Delete it to have a new one generated at the next start, or write into it ${FORMAT}.`;
    if (text === '') throw new SecretFileError(`${file} (${what}) is empty. ${fix}`);
    if (!SECRET_PATTERN.test(text)) throw new SecretFileError(`${file} (${what}) does not hold a valid secret (expected ${FORMAT}). ${fix}`);
    return text;
  } finally {
    await fh.close();
  }
}

/**
 * The secret kept in `file`; on the first start, a new one is generated and written there with mode 0600 (its
 * directory is created 0700 if missing). Atomic: the secret is written to a temporary file that is then hard-linked
 * to `file`, which fails if `file` exists — so two processes starting at once end up with the same secret, and a crash
 * never leaves a half-written file behind.
 */
export async function readOrCreateSecretFile(file: string, what: string): Promise<{ secret: string; created: boolean }> {
  const existing = await readSecretFile(file, what);
  if (existing !== undefined) return { secret: existing, created: false };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = generateSecret();
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  let linked = false;
  try {
    await fh.chmod(0o600); // whatever the umask
    await fh.writeFile(`${secret}\n`);
    await fh.sync();
    await fh.close();
    try {
      await link(tmp, file);
      linked = true;
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
  } finally {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
  }
  if (linked) return { secret, created: true };
  // Another process created it meanwhile: use theirs.
  const theirs = await readSecretFile(file, what);
  if (theirs === undefined) throw new SecretFileError(`${file} (${what}) vanished while it was being created: start again.`);
  return { secret: theirs, created: false };
}
