// Wallboard benchmark (issue 7): the built board (dist/wallboard) in headless Chromium, 40 KPI tiles and a roster of
// 40 agents, all updated every second over a websocket by a stand-in for the API (every agent changes state every
// second: far busier than a floor; this measures the board, not the server), a trend chart (uPlot) of the center's
// service level with its threshold lines, redrawn every 5 s, an alerts tile with alerts firing, escalating, being
// acknowledged and clearing every few seconds (more open than it holds; a new critical one flashes), and three floor
// messages taking turns in the banner, one of them replaced by a new urgent one (which flashes) every minute. Reports
//   - frame time while updating: p50/p95/max interval between animation frames (60 Hz → 16.7 ms is perfect),
//   - main-thread work per second (script + style + layout, from Chromium's Performance metrics),
//   - JS heap and DOM nodes after `minutes` of updates vs after the first minute (the least of five samples, each
//     after a forced GC): flat is the target (a TV runs for weeks).
//   - the TV's bundle (what a TV downloads: JS and CSS but the console's lazily loaded chunk), gzipped, built from the
//     source now; test/unit/wallboard-bundle.test.ts fails above TV_BUNDLE_BUDGET_BYTES.
// npm run bench -- --only=wallboard --wallboard-minutes=10      (shorter runs for a quick look: --wallboard-minutes=2)
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify from 'fastify';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Board } from '../../server/boards/schema.ts';
import { KPI_CATALOG } from '../../server/kpi/catalog.ts';
import type { Alert, ServerMessage } from '../../server/live/protocol.ts';
import type { FloorMessage } from '../../server/messages/rules.ts';
import type { BenchResult } from './embedded-clickhouse.ts';

const DIST = fileURLToPath(new URL('../../dist/wallboard/', import.meta.url));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const KPIS = ['offered', 'answered', 'service_level', 'asa', 'aht', 'abandon_rate', 'waiting', 'longest_wait'] as const;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const execFileP = promisify(execFile);

/** The TV's bundle budget: JS and CSS a TV downloads, gzipped (docs/performance.md). */
export const TV_BUNDLE_BUDGET_BYTES = 100_000;

export interface TvBundle {
  /** Each file a TV downloads, with its size and its gzipped size in bytes. */
  files: { name: string; bytes: number; gzip: number }[];
  gzipBytes: number;
}

/** A file of the build, as the child in measureTvBundle describes it. */
interface BuiltFile {
  fileName: string;
  type: 'chunk' | 'asset';
  isEntry: boolean;
  facadeModuleId: string | null;
  imports: string[];
  dynamicImports: string[];
  importedCss: string[];
  bytes: number;
  gzip: number;
}

// Vite's build() run in a plain Node child: under tsx's loader (the bench) it fails to resolve its own
// modulepreload polyfill. The child builds in memory (nothing written: dist/wallboard, which e2e tests may be reading,
// is left alone) and prints the files with their sizes, gzipped at zlib's default level (the budget's measure; the API
// serves the build's brotli copies, a tenth smaller still, to browsers that accept them: vite.config.ts).
const BUILD_IN_MEMORY = `
import { build } from 'vite';
import { gzipSync } from 'node:zlib';
const [configFile, root] = process.argv.slice(-2);
const result = await build({ configFile, root, logLevel: 'silent', build: { write: false } });
const files = (Array.isArray(result) ? result : [result]).flatMap((o) => o.output).map((f) => {
  const data = Buffer.from(f.type === 'chunk' ? f.code : f.source);
  return {
    fileName: f.fileName, type: f.type, isEntry: f.type === 'chunk' && f.isEntry, facadeModuleId: f.facadeModuleId ?? null,
    imports: f.imports ?? [], dynamicImports: f.dynamicImports ?? [], importedCss: [...(f.viteMetadata?.importedCss ?? [])],
    bytes: data.length, gzip: gzipSync(data).length,
  };
});
process.stdout.write(JSON.stringify(files));
`;

/**
 * Builds the wallboard from its source, in memory, and measures what a TV downloads: the entry chunk, every chunk it
 * imports, statically or lazily, except the console's (console/Console.tsx, loaded only at /#/console), and their CSS.
 */
export async function measureTvBundle(): Promise<TvBundle> {
  const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', BUILD_IN_MEMORY, `${ROOT}vite.config.ts`, `${ROOT}wallboard`], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const byName = new Map((JSON.parse(stdout) as BuiltFile[]).map((f) => [f.fileName, f]));
  const seen = new Set<string>();
  const visit = (name: string) => {
    const f = byName.get(name);
    if (!f || seen.has(name) || (f.facadeModuleId ?? '').endsWith('/console/Console.tsx')) return;
    seen.add(name);
    for (const next of [...f.importedCss, ...f.imports, ...f.dynamicImports]) visit(next);
  };
  for (const f of byName.values()) if (f.isEntry) visit(f.fileName);
  const files = [...seen].map((name) => ({ name, bytes: byName.get(name)!.bytes, gzip: byName.get(name)!.gzip }));
  if (!files.some((f) => f.name.endsWith('.js')) || !files.some((f) => f.name.endsWith('.css'))) throw new Error(`the TV bundle has no JS or no CSS: ${files.map((f) => f.name).join(', ')}`);
  return { files, gzipBytes: files.reduce((sum, f) => sum + f.gzip, 0) };
}

export interface WallboardBenchOptions {
  /** Total minutes of updates (default 10); the heap is compared with the one after min(1, minutes / 2). */
  minutes?: number;
  tiles?: number;
  viewport?: { width: number; height: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function benchWallboard(opts: WallboardBenchOptions = {}): Promise<BenchResult[]> {
  if (!existsSync(`${DIST}index.html`)) throw new Error('build the wallboard first: npm run build');
  const bundle = await measureTvBundle();
  const minutes = opts.minutes ?? 10;
  const baselineMinutes = Math.min(1, minutes / 2);
  const n = opts.tiles ?? 40;
  const scopes = Array.from({ length: n / KPIS.length > 1 ? Math.ceil(n / KPIS.length) : 1 }, (_, i) => (i === 0 ? 'center' : `queue:q${i}`));
  const tiles = Array.from({ length: n }, (_, i) => ({ kind: 'kpi' as const, kpi: KPIS[i % KPIS.length]!, scope: scopes[Math.floor(i / KPIS.length)]!, window: 'today' as const }));
  const board: Board = {
    name: 'bench',
    title: `Bench — ${n} tiles, a roster, a trend and alerts`,
    type: 'grid',
    columns: 8,
    tiles: [...tiles, { kind: 'roster', scope: 'team:bench', width: 8 }, { kind: 'trend', kpi: 'service_level', scope: 'center', width: 4 }, { kind: 'alerts', width: 4 }],
    updatedAt: new Date().toISOString(),
    updatedBy: 'bench',
  };

  // --- a stand-in for the API ---
  const app = Fastify();
  await app.register(fastifyWebsocket);
  await app.register(fastifyStatic, { root: DIST });
  app.get('/v1/auth/me', async () => ({ principal: { kind: 'display', displayId: 'bench', name: 'bench', board: 'bench' } }));
  app.get('/v1/kpis/catalog', async () => ({ kpis: KPI_CATALOG, windows: ['today', '1h', '15m'], timeZone: 'UTC' }));
  app.get('/v1/boards', async () => ({ boards: [board], display: { id: 'bench', name: 'bench', board: 'bench', sound: false } }));
  app.get('/v1/thresholds', async () => ({
    thresholds: [{ id: 't1', kpi: 'service_level', scope: 'center', window: 'today', direction: 'below', warning: 80, critical: 70, forSeconds: 0, clearBand: 0, enabled: true }],
  }));
  // three messages up; the urgent one is a new message every minute (the banner shows it at once and flashes it)
  const message = (id: string, level: FloorMessage['level'], text: string): FloorMessage => ({
    id, text, level, boards: [], startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), createdBy: 'bench', endedBy: '',
  });
  app.get('/v1/messages', async () => {
    const minute = Math.floor(Date.now() / 60_000);
    return {
      messages: [
        message(`u${minute}`, 'urgent', `Bench urgent message number ${minute}: the billing system is down, use the backup form`),
        message('i1', 'info', 'Team huddle at 14:30 in room B'),
        message('i2', 'info', 'Reminder: the new refund policy starts Monday; read the one-page summary before your shift'),
      ],
    };
  });
  let tick = 0;
  const sockets = new Set<{ send(d: string): void }>();
  const snapshot = (scope: string): ServerMessage => {
    const values: Record<string, { value: number | null; n: number }> = {};
    for (const [i, k] of KPIS.entries()) values[k] = { value: k === 'service_level' ? 60 + ((tick * 7 + i) % 40) : (tick * 13 + i * 101) % 5000, n: 100 + tick };
    return { type: 'snapshot', window: 'today', scope, asOf: new Date().toISOString(), values };
  };
  const series = (scope: string): ServerMessage => {
    const start = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const points = Array.from({ length: 64 }, (_, i) => ({
      start: new Date(start + i * 900_000).toISOString(),
      end: new Date(start + (i + 1) * 900_000).toISOString(),
      values: Object.fromEntries(KPIS.map((k, j) => [k, { value: (i * 17 + j * 5 + tick) % 100, n: 10 }])),
    }));
    return { type: 'series', window: 'today', scope, asOf: new Date().toISOString(), intervalMinutes: 15, points };
  };
  // Alerts on the board's tiles: one fires every 2 s (every third one critical, which flashes its tile and its row), one
  // of those open is acknowledged every 6 s, and the oldest clears once 8 are open, more than the tile holds (it says
  // "+N more"). The tiles they name change colour as they fire and clear.
  const openAlerts: Alert[] = [];
  let fired = 0;
  const alertChanges = (): Alert[] => {
    const changed: Alert[] = [];
    const at = new Date().toISOString();
    if (tick % 2 === 0) {
      const i = fired++;
      const level = i % 3 === 0 ? 'critical' : 'warning';
      const kpi = KPIS[i % KPIS.length]!;
      const a: Alert = {
        id: `bench-alert-${i}`, thresholdId: `bench-${kpi}`, kpi, scope: scopes[i % scopes.length]!, window: 'today', level, peak: level,
        value: 50 + (i % 50), threshold: 40, direction: 'above', startedAt: at, endedAt: null, acknowledgedBy: null, acknowledgedAt: null,
      };
      openAlerts.push(a);
      changed.push(a);
    }
    const unacked = openAlerts.find((a) => a.acknowledgedBy === null);
    if (tick % 6 === 0 && unacked) {
      Object.assign(unacked, { acknowledgedBy: 'bench', acknowledgedAt: at });
      changed.push(unacked);
    }
    while (openAlerts.length > 8) changed.push({ ...openAlerts.shift()!, level: 'ok', endedAt: at });
    return changed;
  };
  const STATES = ['available', 'busy', 'acw', 'aux'] as const;
  const roster = (): ServerMessage => {
    const agents = Array.from({ length: 40 }, (_, i) => ({
      agentId: `agent-${String(i + 1).padStart(3, '0')}`,
      name: i % 2 === 0 ? `Agent ${i + 1}` : '',
      state: STATES[(i + tick) % STATES.length]!,
      since: new Date(Date.now() - ((i * 37 + tick) % 900) * 1000).toISOString(),
      reason: (i + tick) % STATES.length === 3 ? 'lunch' : '',
      queue: 'billing',
      team: 'bench',
      channel: 'voice',
    }));
    const counts = { available: 10, busy: 10, acw: 10, aux: 10 };
    return { type: 'roster', scope: 'team:bench', asOf: new Date().toISOString(), counts, agents };
  };
  app.get('/v1/stream', { websocket: true }, (socket) => {
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as { type: string; id?: string };
      if (m.type === 'ping') socket.send(JSON.stringify({ type: 'pong', id: m.id, serverTime: new Date().toISOString() }));
      if (m.type === 'subscribe' && (m as { roster?: boolean }).roster) socket.send(JSON.stringify(roster()));
      else if (m.type === 'subscribe') {
        for (const s of scopes) socket.send(JSON.stringify(snapshot(s)));
        for (const s of scopes) socket.send(JSON.stringify(series(s)));
        socket.send(JSON.stringify({ type: 'alerts', alerts: openAlerts }));
      }
    });
    sockets.add(socket);
    socket.send(JSON.stringify({ type: 'welcome', serverTime: new Date().toISOString(), principal: { kind: 'display', name: 'bench', board: 'bench' } }));
  });
  // every second: a new snapshot for every scope (every tile changes) and the alerts that changed; every 5 s a new
  // series of the center (the trend chart redraws), every 15 s of every scope (the sparklines)
  const timer = setInterval(() => {
    tick++;
    const alerts = alertChanges();
    for (const ws of sockets) {
      for (const s of scopes) ws.send(JSON.stringify(snapshot(s)));
      ws.send(JSON.stringify(roster()));
      for (const a of alerts) ws.send(JSON.stringify({ type: 'alert', alert: a } satisfies ServerMessage));
      if (tick % 15 === 0) for (const s of scopes) ws.send(JSON.stringify(series(s)));
      else if (tick % 5 === 0) ws.send(JSON.stringify(series('center')));
    }
  }, 1000);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1920, height: 1080 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('section.tile.kpi[data-stale="false"]').nth(n - 1).waitFor({ timeout: 30_000 });
    await page.locator('section.tile.roster[data-stale="false"] .roster-agent').first().waitFor({ timeout: 30_000 });
    await page.locator('aside.floor-message').waitFor({ timeout: 30_000 });
    await page.locator('section.tile.trend .trend-plot canvas').waitFor({ timeout: 30_000 });
    await page.locator('section.tile.alerts .alert-list li').first().waitFor({ timeout: 30_000 });

    const metrics = async () => {
      const { metrics: m } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      return Object.fromEntries(m.map((x) => [x.name, x.value])) as Record<string, number>;
    };
    // The heap after a forced GC still holds what is in flight at that instant (the latest messages, a frame's data):
    // it swings by ±10 % from one second to the next. The floor of five samples a second apart is what stays.
    const heapAfterGc = async () => {
      let floor = { heap: Number.POSITIVE_INFINITY, nodes: 0, listeners: 0 };
      for (let i = 0; i < 5; i++) {
        if (i > 0) await sleep(1000);
        await cdp.send('HeapProfiler.collectGarbage');
        await sleep(200);
        const m = await metrics();
        if (m.JSHeapUsedSize! < floor.heap) floor = { heap: m.JSHeapUsedSize!, nodes: m.Nodes!, listeners: m.JSEventListeners! };
      }
      return floor;
    };

    // frame intervals over 20 s of updates
    const m0 = await metrics();
    // a string, not a function: tsx would wrap named functions in a helper the page does not have
    const frames = (await page.evaluate(`new Promise((resolve) => {
      const out = [];
      let last = performance.now();
      const end = last + 20000;
      const step = (t) => { out.push(t - last); last = t; if (t < end) requestAnimationFrame(step); else resolve(out); };
      requestAnimationFrame(step);
    })`)) as number[];
    const m1 = await metrics();
    const busyMsPerSecond = (((m1.ScriptDuration! - m0.ScriptDuration!) + (m1.LayoutDuration! - m0.LayoutDuration!) + (m1.RecalcStyleDuration! - m0.RecalcStyleDuration!)) * 1000) / ((m1.Timestamp! - m0.Timestamp!) || 1);
    const sorted = frames.slice(1).sort((a, b) => a - b);

    const started = Date.now();
    await sleep(Math.max(0, baselineMinutes * 60_000 - 20_000));
    const early = await heapAfterGc();
    process.stderr.write(`  wallboard: heap after ${baselineMinutes} min ${(early.heap / 1e6).toFixed(2)} MB, running to ${minutes} min…\n`);
    await sleep(Math.max(0, minutes * 60_000 - (Date.now() - started) - baselineMinutes * 60_000 + 20_000));
    const late = await heapAfterGc();
    const staleTiles = await page.locator('section.tile[data-stale="true"]').count();
    const growth = ((late.heap - early.heap) / early.heap) * 100;
    return [
      { name: `wallboard frame interval p50 (${n} tiles + roster of 40, 1 update/s; trend, alerts, 3 floor messages)`, value: Number(percentile(sorted, 50).toFixed(1)), unit: 'ms', note: '60 Hz = 16.7 ms' },
      { name: 'wallboard frame interval p95', value: Number(percentile(sorted, 95).toFixed(1)), unit: 'ms' },
      { name: 'wallboard frame interval max', value: Number((sorted.at(-1) ?? 0).toFixed(1)), unit: 'ms' },
      { name: 'wallboard main-thread work', value: Number(busyMsPerSecond.toFixed(1)), unit: 'ms/s', note: 'script + style + layout per second of updates' },
      { name: `wallboard JS heap after ${baselineMinutes} min`, value: Number((early.heap / 1e6).toFixed(2)), unit: 'MB' },
      { name: `wallboard JS heap after ${minutes} min`, value: Number((late.heap / 1e6).toFixed(2)), unit: 'MB', note: `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % (flat is the target)` },
      { name: `wallboard DOM nodes after ${baselineMinutes} / ${minutes} min`, value: late.nodes, unit: 'nodes', note: `${early.nodes} → ${late.nodes}; listeners ${early.listeners} → ${late.listeners}; stale tiles at the end: ${staleTiles}; alerts fired ${fired}, open ${openAlerts.length}` },
      { name: 'wallboard TV bundle, JS + CSS gzipped', value: Number((bundle.gzipBytes / 1000).toFixed(1)), unit: 'kB', note: `budget ${TV_BUNDLE_BUDGET_BYTES / 1000} kB (test/unit/wallboard-bundle.test.ts); ${bundle.files.map((f) => `${f.name.replace(/^assets\//, '')} ${(f.gzip / 1000).toFixed(1)}`).join(', ')}` },
    ];
  } finally {
    clearInterval(timer);
    await browser.close();
    await app.close();
  }
}
