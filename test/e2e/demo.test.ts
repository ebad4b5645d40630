// The README contract for the demo: `npm run demo` (server/main.ts --demo) prints a wallboard link, and that link
// shows a live board whose values move while you watch (its queue table filled), in real headless Chromium, with
// nothing else set up; and a backup can be taken while it runs (docs/operations.md).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/redis/embedded.ts';
import { launchChromium } from '../support/browser.ts';
import { DEMO_MESSAGE } from '../../server/demo.ts';
import { ROOT, startNabiz, type RunningNabiz } from '../support/process.ts';

let nabiz: RunningNabiz | undefined;
let browser: Browser | undefined;
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-demo-'));

afterAll(async () => {
  await browser?.close();
  if (nabiz) expect(await nabiz.stop()).toBe(0);
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  it('prints a wallboard link that shows a live board whose values move, and is backed up while it runs', async () => {
    const clickhousePort = String(await freePort());
    nabiz = await startNabiz(
      { PORT: String(await freePort()), CLICKHOUSE_HTTP_PORT: clickhousePort, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      ['--demo'],
    );
    let url: string | undefined;
    for (let i = 0; i < 100 && !url; i++) {
      url = /Wallboard \(TV\):\s+(\S+)/.exec(nabiz.output.join('\n'))?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 200));
    }
    expect(url, nabiz.output.slice(-20).join('\n')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?display=nbz_dt_/);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(url!);
    await expect.poll(() => page.locator('section.tile.kpi').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(8);
    await expect.poll(() => page.locator('.board-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('live');
    // the queues at a glance: a row per queue, with figures (the simulator backfilled the last half hour)
    const table = page.locator('section.tile.table');
    expect(await table.locator('tbody th').allTextContents()).toEqual(['billing', 'tech-support', 'sales', 'chat-support']);
    await expect.poll(() => table.locator('td[data-kpi="service_level"] .cell-value').allTextContents(), { timeout: 20_000 }).toContainEqual(expect.stringMatching(/^\d+\.\d$/));

    // the demo's floor message along the bottom
    await expect.poll(() => page.locator('.floor-message .fm-text').textContent(), { timeout: 20_000 }).toBe(DEMO_MESSAGE);

    // Values move: the KPI tiles and the queue table change while the simulator runs (figures sent by the server; not
    // the roster, whose time in state the TV itself counts up every second).
    const text = async () => (await page.locator('section.tile.kpi .tile-value, section.tile.kpi .tile-n, section.tile.table tbody').allInnerTexts()).join('|');
    // (the simulator runs at 60×: a minute of the floor each second; 30 s is a wait, not a speed limit)
    const first = await text();
    await expect.poll(text, { timeout: 30_000, interval: 500 }).not.toBe(first);
    await mkdir(path.join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'demo-1920x1080.png') });

    // The CLI beside the running demo, with its DATA_DIR and port (as a shell in the same directory would have them)
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/nabiz.ts', ...args], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: clickhousePort },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });

    // An ingest key for one's own events, as the banner says: it works on the demo. Without --demo the CLI says so
    // rather than make a key in another database, where the demo would never find it.
    const command = /Your own events: npm run nabiz -- (.+?)  \(/.exec(nabiz.output.join('\n'))?.[1];
    expect(command).toBe('keys create acd --name mine --demo');
    for (const astray of [await cli('keys', 'create', 'acd', '--name', 'astray'), await cli('backup', 'prune', '--dry-run')]) {
      expect([astray.code, astray.out]).toEqual([2, expect.stringContaining("there is no database nabiz here, but a demo's (nabiz_demo): add --demo")]);
    }
    const made = await cli(...command!.split(' '), '--json');
    expect(made.code, made.out).toBe(0);
    const { token } = JSON.parse(made.out) as { token: string };
    const sent = await fetch(`${new URL(url!).origin}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'mine-1', source: 'acd', type: 'contact.offered', occurredAt: new Date().toISOString(), contactId: 'mine-c1', queue: 'billing', channel: 'voice' }),
    });
    expect(sent.status).toBe(202);

    // A backup taken while it runs, as docs/operations.md says: through its embedded ClickHouse, into DATA_DIR/backups.
    const backup = await cli('backup', 'create', '--json', '--demo');
    expect(backup.code, backup.out).toBe(0);
    const taken = JSON.parse(backup.out) as { name: string; bytes: number };
    expect(taken.name).toMatch(/^nabiz_demo-\d{8}-\d{6}$/);
    expect(taken.bytes).toBeGreaterThan(10_000); // the demo's events, not an empty database
    expect(existsSync(path.join(dataDir, 'backups', taken.name, '.backup'))).toBe(true);
  }, 120_000);
});
