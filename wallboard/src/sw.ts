// The wallboard's service worker: it keeps the shell (index.html and the files it names) in the browser, so that a TV
// that boots or reloads while Nabız cannot be reached still starts the wallboard — which says it is waiting for the
// server and carries on by itself once it answers — instead of the browser's error page, which nothing would ever
// leave. It never answers for the API: figures, boards and sign-in always come from the server.
//
// - `/` (a navigation): from the server when it answers, the kept copy when it cannot be reached or answers anything but
//   2xx (Nabız always answers 200 there: another status is a proxy in front of a stopped Nabız, 502 or 404). A new
//   build is thus picked up at the first load that reaches the server.
// - `/boot.js` (the page's boot watchdog, public/boot.js: a fixed name) likewise, from the server first.
// - `/assets/…`: their names change with their contents, so a kept copy is always right; the others are fetched
//   and kept (the console's chunks, loaded lazily). A new index.html replaces what the old one named.
//
// Built to /sw.js by vite.config.ts (a second entry, with no imports: it runs as a classic script). Browsers run
// service workers on https and on localhost only: docs/wallboard.md says how a TV on plain http gets one.
export type {};

// The few service-worker types used here (lib.webworker cannot share a program with lib.dom).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface WorkerScope {
  readonly location: Location;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
}

const worker = self as unknown as WorkerScope;
const CACHE = 'nabiz-shell';
const SHELL = '/';
const BOOT = '/boot.js';
/** The files index.html names: its scripts, its CSS and their preloads. */
const NAMED = /(?:src|href)="(\/assets\/[^"]+|\/boot\.js)"/g;

worker.addEventListener('install', (event) => {
  // keep the shell now, so that the very first boot after this one can do without the server
  event.waitUntil(fetch(SHELL).then((res) => (res.ok ? keep(res) : undefined)).catch(() => undefined).then(() => worker.skipWaiting()));
});

worker.addEventListener('activate', (event) => event.waitUntil(worker.clients.claim()));

worker.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== worker.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === SHELL) event.respondWith(fresh(event, SHELL));
  else if (url.pathname === BOOT) event.respondWith(fresh(event, BOOT));
  else if (url.pathname.startsWith('/assets/')) event.respondWith(asset(event));
});

/** The server's answer when it gives one (the shell's is kept, with what it names), else the kept copy of `path`. */
async function fresh(event: FetchEvent, path: string): Promise<Response> {
  let answer: Response;
  try {
    answer = await fetch(event.request);
  } catch (err) {
    const kept = await caches.match(path);
    if (kept) return kept;
    throw err;
  }
  if (answer.ok) {
    if (path === SHELL) event.waitUntil(keep(answer.clone()).catch(() => undefined));
    return answer;
  }
  return (await caches.match(path)) ?? answer;
}

async function asset(event: FetchEvent): Promise<Response> {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(event.request, { ignoreSearch: true, ignoreVary: true });
  if (kept) return kept;
  const answer = await fetch(event.request);
  if (answer.ok) event.waitUntil(cache.put(event.request, answer.clone()).catch(() => undefined));
  return answer;
}

/** The keep under way: one at a time, so two pages of different builds cannot each delete the other's files. */
let keeping: Promise<void> = Promise.resolve();

/** Keeps index.html and the files it names; a new one (a new build) drops what the previous one needed. */
function keep(answer: Response): Promise<void> {
  const run = keeping.then(() => store(answer));
  keeping = run.catch(() => undefined);
  return run;
}

async function store(answer: Response): Promise<void> {
  const html = await answer.text();
  const cache = await caches.open(CACHE);
  const before = await cache.match(SHELL);
  if (before && (await before.text()) === html) return;
  const named = [...html.matchAll(NAMED)].map((m) => m[1]!);
  await cache.addAll(named); // all or nothing: a kept index.html always has its files
  await cache.put(SHELL, new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
  const wanted = new Set([SHELL, ...named].map((p) => new URL(p, worker.location.origin).href));
  for (const request of await cache.keys()) if (!wanted.has(request.url)) await cache.delete(request);
}
