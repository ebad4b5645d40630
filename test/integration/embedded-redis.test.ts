import { Redis } from 'ioredis';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../server/redis/embedded.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-redis-'));
const started: EmbeddedRedis[] = [];
afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** Sends `commands` (inline protocol) on a fresh connection; resolves with the first `n` reply lines. */
function rawReplies(port: number, commands: string[], n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    sock.once('connect', () => sock.write(commands.map((c) => `${c}\r\n`).join('')));
    sock.on('data', (d: Buffer) => {
      text += d.toString();
      const lines = text.split('\r\n');
      if (lines.length > n) {
        sock.destroy();
        resolve(lines.slice(0, n));
      }
    });
    sock.once('error', reject);
  });
}

async function start(dataDir: string, port?: number): Promise<EmbeddedRedis> {
  const r = await startEmbeddedRedis({ dataDir, port });
  started.push(r);
  return r;
}

describe('embedded redis-server', () => {
  it('runs on loopback with AOF and noeviction, and keeps data across a restart', async () => {
    const dataDir = path.join(dir, 'main');
    const first = await start(dataDir);
    const a = new Redis(first.url);
    expect(await a.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await a.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await a.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    expect(await a.config('GET', 'dir')).toEqual(['dir', dataDir]);
    await a.set('survives', 'yes');
    a.disconnect();
    await first.stop();
    expect(await first.exited).toBe(0);

    const second = await start(dataDir);
    const b = new Redis(second.url);
    expect(await b.get('survives')).toBe('yes');
    b.disconnect();
    await second.stop();
  });

  it('requires the password kept in a 0600 file under its data directory, the same after a restart', async () => {
    const dataDir = path.join(dir, 'auth');
    const first = await start(dataDir);
    expect(first.passwordFile).toBe(path.join(dataDir, 'password'));
    expect((await stat(first.passwordFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(first.passwordFile, 'utf8')).toBe(`${first.password}\n`);
    expect(first.url).toBe(`redis://:${first.password}@127.0.0.1:${first.port}`);
    expect(first.address).toBe(`redis://127.0.0.1:${first.port}`);

    const [noAuth, wrong, stillNoAuth] = await rawReplies(first.port, ['GET x', 'AUTH not-the-password', 'GET x'], 3);
    expect(noAuth).toMatch(/^-NOAUTH Authentication required/);
    expect(wrong).toMatch(/^-WRONGPASS/);
    expect(stillNoAuth).toMatch(/^-NOAUTH/);
    expect(await rawReplies(first.port, [`AUTH ${first.password}`, 'SET k0 v0'], 2)).toEqual(['+OK', '+OK']);

    const authed = new Redis(first.url);
    expect(await authed.set('k', 'v')).toBe('OK');
    await first.stop();

    const second = await start(dataDir, first.port);
    expect(second.password).toBe(first.password);
    expect(await authed.get('k')).toBe('v'); // the first client, reconnected with the first password
    authed.disconnect();
  });

  it('puts no password on its command line', async () => {
    const r = await start(path.join(dir, 'cmdline'));
    const cmdline = await readFile(`/proc/${r.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('redis-server'); // it is the right process
    expect(cmdline).not.toContain(r.password);
    const environ = await readFile(`/proc/${r.pid}/environ`, 'utf8');
    expect(environ).not.toContain(r.password);
  });

  it('refuses a password file other users may read, saying which file and what to do', async () => {
    const dataDir = path.join(dir, 'wide');
    await mkdir(dataDir, { recursive: true });
    const file = path.join(dataDir, 'password');
    const secret = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';
    await writeFile(file, `${secret}\n`);
    await chmod(file, 0o644);
    const err = await start(dataDir).then(
      () => new Error('started'),
      (e: Error) => e,
    );
    expect(err.message).toContain(`${file} (the password of the embedded redis-server) may be read or changed by other users (mode 0644)`);
    expect(err.message).toContain(`chmod 600 ${file}`);
    expect(err.message).not.toContain(secret);
  });
});
