// The README contract: one command starts everything (embedded ClickHouse and Redis, migrations, API, wallboard)
// and Ctrl-C/SIGTERM stops all of it in order.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/redis/embedded.ts';
import { startNabiz } from '../support/process.ts';
import { sampleEvent } from '../support/events.ts';
import { setTimeout as sleep } from 'node:timers/promises';

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
    const nabiz = await startNabiz({
      PORT: String(port),
      CLICKHOUSE_HTTP_PORT: String(chPort),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      INGEST_KEYS: 'acd:proc-acd-key-0123456789',
      ADMIN_PASSWORD: 'proc-admin-password-1',
    });

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

    // The whole path in one process: ingest → rollup worker (answers need its materialisation) → snapshot via API.
    const t0 = Date.now();
    const offer = sampleEvent('contact.offered', { queue: 'proc', occurredAt: new Date(t0 - 20_000).toISOString() });
    const answer = sampleEvent('contact.answered', { contactId: offer.contactId, queue: 'proc', occurredAt: new Date(t0 - 8_000).toISOString() });
    const posted = await fetch(`${nabiz.baseUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer proc-acd-key-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify([offer, answer]),
    });
    expect(posted.status).toBe(202);
    const login = await fetch(`${nabiz.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'proc-admin-password-1' }),
    });
    const { token } = (await login.json()) as { token: string };
    type Values = { offered: { value: number }; answered: { value: number }; asa: { value: number | null } };
    let values: Values | undefined;
    for (let i = 0; i < 100 && values?.answered.value !== 1; i++) {
      const kpis = await fetch(`${nabiz.baseUrl}/v1/kpis?window=today&scope=queue:proc`, { headers: { authorization: `Bearer ${token}` } });
      values = ((await kpis.json()) as { snapshots: { values: Values }[] }).snapshots[0]?.values;
      if (values?.answered.value !== 1) await sleep(100);
    }
    // offered 20 s ago, answered 8 s ago: one answer with a 12 s wait
    expect(values).toMatchObject({ offered: { value: 1 }, answered: { value: 1 }, asa: { value: 12 } });

    const redisPort = Number(/"url":"redis:\/\/127\.0\.0\.1:(\d+)"/.exec(nabiz.output.join('\n'))?.[1]);
    expect(redisPort).toBeGreaterThan(0);
    expect(await nabiz.stop('SIGTERM')).toBe(0);

    const lines = nabiz.output.join('\n');
    const order = ['"step":"http server"', '"step":"workers"', '"step":"clickhouse and redis clients"', '"step":"embedded services"'].map((s) => lines.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(await portOpen(chPort)).toBe(false);
    expect(await portOpen(redisPort)).toBe(false);
    expect(await portOpen(port)).toBe(false);
  });
});
