// The README contract: one command starts everything (embedded ClickHouse and Redis, migrations, API, wallboard)
// and Ctrl-C/SIGTERM stops all of it in order.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/redis/embedded.ts';
import { startNabiz } from '../support/process.ts';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-proc-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('npm start (all-in-one)', () => {
  it('brings up embedded ClickHouse, Redis, the API and the wallboard, then shuts all of it down on SIGTERM', async () => {
    const [port, chPort] = [await freePort(), await freePort()];
    const nabiz = await startNabiz({ PORT: String(port), CLICKHOUSE_HTTP_PORT: String(chPort), DATA_DIR: dataDir, LOG_LEVEL: 'info' });

    const ready = await fetch(`${nabiz.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    // analysts' view: plain HTTP against the embedded ClickHouse
    const version = await fetch(`http://127.0.0.1:${chPort}/?query=SELECT+version()`);
    expect(version.status).toBe(200);
    expect((await version.text()).trim()).toMatch(/^2\d\.\d+\.\d+/);
    const tables = await fetch(`http://127.0.0.1:${chPort}/?query=${encodeURIComponent("SELECT name FROM system.tables WHERE database='nabiz' ORDER BY name")}`);
    expect((await tables.text()).split('\n')).toContain('events');
    // the wallboard shell is served without credentials
    const shell = await fetch(`${nabiz.baseUrl}/`);
    expect(shell.status).toBe(200);
    expect(await shell.text()).toContain('<div id="root">');

    const redisPort = Number(/"url":"redis:\/\/127\.0\.0\.1:(\d+)"/.exec(nabiz.output.join('\n'))?.[1]);
    expect(redisPort).toBeGreaterThan(0);
    expect(await nabiz.stop('SIGTERM')).toBe(0);

    const lines = nabiz.output.join('\n');
    const order = ['"step":"http server"', '"step":"clickhouse and redis clients"', '"step":"embedded services"'].map((s) => lines.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(await portOpen(chPort)).toBe(false);
    expect(await portOpen(redisPort)).toBe(false);
    expect(await portOpen(port)).toBe(false);
  });
});
