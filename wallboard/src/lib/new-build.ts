// A TV runs for weeks: when Nabız is deployed anew, the page must take the new build up by itself (nobody presses F5
// on a TV, and an old page may not understand a newer server). The page compares the script index.html names now with
// the one it runs; a different one is a new build, and the page reloads (index.html is served no-cache, and the
// service worker fetches it from the server first). The page asks when its live socket (re)connects — a deploy
// restarts the server — and every few minutes (a build replaced under a running server).
// DOM-free: the fetch is injected (unit-tested in node).

/** The entry script index.html names (Vite's hashed `/assets/index-<hash>.js`), or null. */
export function entryOf(html: string): string | null {
  return /<script\b[^>]*\bsrc="(\/assets\/index-[^"]+\.js)"/.exec(html)?.[1] ?? null;
}

/**
 * Whether the server now serves another build than `current` (the entry script of the running page; null on a
 * development server, which has none) and its entry script loads. Any failure (the server away, a proxy's error page)
 * is "no": asked again later. The script is fetched first because a page reloaded into a build whose script then fails
 * (the server restarting again, a rolling deploy's older process without it) would run nothing (public/boot.js is the
 * last resort); fetched now, it is in the browser's cache for the reload (hashed assets are cached for a year).
 */
export async function newBuildServed(
  current: string | null,
  fetchFn: (url: string, init: RequestInit) => Promise<Pick<Response, 'ok' | 'text'>> = (url, init) => fetch(url, init),
): Promise<boolean> {
  if (current === null) return false;
  try {
    const answer = await fetchFn('/', { cache: 'no-store' });
    if (!answer.ok) return false;
    const served = entryOf(await answer.text());
    if (served === null || served === current) return false;
    return (await fetchFn(served, {})).ok;
  } catch {
    return false;
  }
}
