// The generated secrets of the embedded servers (server/secret-file.ts): created once, 0600, atomically; refused
// rather than used when others may read them or they hold no secret.
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOrCreateSecretFile, readSecretFile } from '../../server/secret-file.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-secret-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const WHAT = 'the test secret';

describe('secret files', () => {
  it('creates one secret when several processes start at once, 0600, in a 0700 directory, and leaves nothing else behind', async () => {
    const file = path.join(dir, 'race', 'password');
    const results = await Promise.all(Array.from({ length: 8 }, () => readOrCreateSecretFile(file, WHAT)));
    const secrets = new Set(results.map((r) => r.secret));
    expect(secrets.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.dirname(file))).toEqual(['password']);
    expect(await readFile(file, 'utf8')).toBe(`${[...secrets][0]}\n`);
    expect((await readOrCreateSecretFile(file, WHAT)).created).toBe(false);
  });

  it('refuses a symbolic link', async () => {
    const target = path.join(dir, 'target');
    await writeFile(target, 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde\n', { mode: 0o600 });
    const link = path.join(dir, 'link');
    await symlink(target, link);
    await expect(readSecretFile(link, WHAT)).rejects.toThrow(`${link} (${WHAT}) is a symbolic link`);
  });

  it('reads a file without its trailing newline, and says undefined when there is none', async () => {
    const file = path.join(dir, 'plain');
    await writeFile(file, 'AbCdEfGhIjKlMnOp', { mode: 0o600 });
    expect(await readSecretFile(file, WHAT)).toBe('AbCdEfGhIjKlMnOp');
    expect(await readSecretFile(path.join(dir, 'none'), WHAT)).toBeUndefined();
  });
});
