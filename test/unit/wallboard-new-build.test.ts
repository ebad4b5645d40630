// A TV takes a new build up by itself (wallboard/src/lib/new-build.ts): the entry script index.html names now, against
// the one the page runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryOf, newBuildServed } from '../../wallboard/src/lib/new-build.ts';
import { ROOT } from '../support/process.ts';

const page = (entry: string) => `<!doctype html><html><head><script type="module" crossorigin src="${entry}"></script>
<link rel="stylesheet" crossorigin href="/assets/index-D8dzz0_9.css"></head><body><div id="root"></div></body></html>`;
const answer = (status: number, body: string) => async () => ({ ok: status >= 200 && status < 300, text: async () => body });

describe('a new build', () => {
  it("finds the entry script in the build's own index.html", () => {
    const built = readFileSync(path.join(ROOT, 'dist/wallboard/index.html'), 'utf8');
    expect(entryOf(built)).toMatch(/^\/assets\/index-[\w-]+\.js$/);
    expect(entryOf('<html><body>502 Bad Gateway</body></html>')).toBeNull();
  });

  it('is served when index.html names another entry script; not when it names the same, cannot be read, or is no build', async () => {
    const current = '/assets/index-BvnBsWR2.js';
    expect(await newBuildServed(current, answer(200, page('/assets/index-Xy12ab34.js')))).toBe(true);
    expect(await newBuildServed(current, answer(200, page(current)))).toBe(false);
    // the server away, a proxy's page, an error: asked again later, never a reload into nothing
    expect(await newBuildServed(current, answer(502, page('/assets/index-Xy12ab34.js')))).toBe(false);
    expect(await newBuildServed(current, answer(200, '<h1>Maintenance</h1>'))).toBe(false);
    expect(await newBuildServed(current, async () => Promise.reject(new TypeError('Failed to fetch')))).toBe(false);
    // a development server's page runs no built entry: nothing to compare
    expect(await newBuildServed(null, answer(200, page('/assets/index-Xy12ab34.js')))).toBe(false);
  });

  it('is not taken up until its entry script loads: a reload into a script that fails would run nothing', async () => {
    const current = '/assets/index-BvnBsWR2.js';
    const next = '/assets/index-Xy12ab34.js';
    const asked: string[] = [];
    // index.html from an upgraded process, its script asked of an older one (a rolling deploy): 404
    const split = (scriptStatus: number) => async (url: string) => {
      asked.push(url);
      return url === '/' ? { ok: true, text: async () => page(next) } : { ok: scriptStatus === 200, text: async () => '' };
    };
    expect(await newBuildServed(current, split(404))).toBe(false);
    expect(asked).toEqual(['/', next]);
    expect(await newBuildServed(current, split(200))).toBe(true);
  });

  it('asks for index.html itself, never a cached copy', async () => {
    const asked: Array<[string, RequestInit]> = [];
    await newBuildServed('/assets/index-a.js', async (url, init) => (asked.push([url, init]), { ok: true, text: async () => page('/assets/index-a.js') }));
    expect(asked).toEqual([['/', { cache: 'no-store' }]]);
  });
});
