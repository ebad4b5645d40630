// The built wallboard as the API serves it: the build's brotli and gzip copies go to browsers that accept them (a TV
// downloads about a third of the bytes), the same bytes once decoded; hashed assets are cached for a year, the shell
// is revalidated. Reads dist/wallboard, which `npm test` builds first.
import Fastify, { type FastifyInstance } from 'fastify';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WALLBOARD_DIR, wallboardRoutes } from '../../server/wallboard.ts';

let app: FastifyInstance;
let entry: string; // the TV's script, e.g. assets/index-BlH0PMh1.js

beforeAll(async () => {
  app = Fastify();
  await app.register(wallboardRoutes, {});
  const assets = await readdir(path.join(WALLBOARD_DIR, 'assets'));
  entry = `assets/${assets.find((f) => /^index-.*\.js$/.test(f))}`;
});
afterAll(() => app.close());

const get = (url: string, acceptEncoding?: string) =>
  app.inject({ method: 'GET', url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

describe('the built wallboard', () => {
  it('sends brotli, then gzip, to a browser that accepts them, and the plain file otherwise: the same script once decoded', async () => {
    const plain = await readFile(path.join(WALLBOARD_DIR, entry));
    const br = await get(`/${entry}`, 'gzip, deflate, br');
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.rawPayload.length).toBeLessThan(plain.length / 2);
    expect(brotliDecompressSync(br.rawPayload).equals(plain)).toBe(true);

    const gz = await get(`/${entry}`, 'gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).equals(plain)).toBe(true);

    const none = await get(`/${entry}`);
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(none.rawPayload.equals(plain)).toBe(true);
  });

  it('caches hashed assets for a year, compressed or not, and has the shell revalidated', async () => {
    for (const enc of ['br', undefined]) {
      expect((await get(`/${entry}`, enc)).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
    const shell = await get('/', 'br, gzip');
    expect(shell.statusCode).toBe(200);
    expect(shell.headers['cache-control']).toBe('no-cache');
    expect(shell.body).toContain(`/${entry}`);
    // the service worker (wallboard/src/sw.ts) keeps its one name, is revalidated like the shell, and is a classic
    // script (no import or export), as navigator.serviceWorker.register('/sw.js') runs it
    const sw = await get('/sw.js');
    expect(sw.statusCode).toBe(200);
    expect(sw.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
    expect(sw.headers['cache-control']).toBe('no-cache');
    expect(sw.body).toMatch(/addEventListener\(.fetch./);
    expect(sw.body).not.toMatch(/^\s*(import|export)\b|\bimport\(/m);
    // its icon is inline: a TV asks for no /favicon.ico (a 404 in its console, and in the log, at every load)
    expect(shell.body).toMatch(/<link rel="icon" href="data:image\/svg\+xml,/);
  });
});
