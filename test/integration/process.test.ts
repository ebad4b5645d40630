// The README contract: one command starts everything (embedded ClickHouse and Redis, migrations, API, wallboard)
// and Ctrl-C/SIGTERM stops all of it in order: the app drains first, then stops its children; and the children do not
// outlive an app killed without stopping them.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { insertLockKey } from '../../server/ingest/dedupe.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { freePort } from '../../server/redis/embedded.ts';
import { startNabiz } from '../support/process.ts';
import { sampleEvent } from '../support/events.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-proc-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** Whether `pid` runs (a zombie, dead but not yet reaped by whoever adopted it, does not). */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

interface LogLine {
  msg: string;
  step?: string;
  component?: string;
  pid?: number;
  port?: number;
  reason?: string;
}

/** The app's JSON log lines; a child's forwarded JSON line (the embedded ClickHouse's) is read as its own. */
function logLines(output: string[]): LogLine[] {
  return output.flatMap((text) => {
    try {
      const line = JSON.parse(text) as LogLine;
      if (line.component === 'clickhouse' && line.msg.startsWith('{')) return [{ ...(JSON.parse(line.msg) as LogLine), component: 'clickhouse' }];
      return [line];
    } catch {
      return [];
    }
  });
}

function indexOf(lines: LogLine[], what: string, test: (l: LogLine) => boolean): number {
  const i = lines.findIndex(test);
  // the log's messages in the error, so that a failure says what was logged instead
  if (i < 0) throw new Error(`no log line: ${what}; logged:\n${lines.map((l) => `${l.component ?? ''} ${l.step ?? ''} ${l.msg}`).join('\n')}`);
  return i;
}

/** The pids of the embedded ClickHouse and redis-server, from the app's start-up log. */
function childPids(lines: LogLine[]): { clickhouse: number; redis: number } {
  const clickhouse = lines[indexOf(lines, 'ClickHouse started', (l) => l.msg.startsWith('embedded ClickHouse started'))]!.pid!;
  const redis = lines[indexOf(lines, 'redis started', (l) => l.msg.startsWith('embedded redis-server started'))]!.pid!;
  return { clickhouse, redis };
}

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
    // analysts' view: plain HTTP against the embedded ClickHouse, as `curl -u default:$(cat .data/clickhouse/password)`
    const passwordFile = path.join(dataDir, 'clickhouse', 'password');
    expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
    const password = (await readFile(passwordFile, 'utf8')).trim();
    const basic = { authorization: `Basic ${Buffer.from(`default:${password}`).toString('base64')}` };
    const anonymous = await fetch(`http://127.0.0.1:${chPort}/?query=SELECT+version()`);
    expect(anonymous.status).toBe(403);
    expect(anonymous.headers.get('x-clickhouse-exception-code')).toBe('516');
    const version = await fetch(`http://127.0.0.1:${chPort}/?query=SELECT+version()`, { headers: basic });
    expect(version.status).toBe(200);
    expect((await version.text()).trim()).toMatch(/^2\d\.\d+\.\d+/);
    const tables = await fetch(`http://127.0.0.1:${chPort}/?query=${encodeURIComponent("SELECT name FROM system.tables WHERE database='nabiz' ORDER BY name")}`, { headers: basic });
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
    const deadline = Date.now() + 30_000; // a cold all-in-one on a busy machine: its first pass can take a while
    while (Date.now() < deadline && values?.answered.value !== 1) {
      const kpis = await fetch(`${nabiz.baseUrl}/v1/kpis?window=today&scope=queue:proc`, { headers: { authorization: `Bearer ${token}` } });
      values = ((await kpis.json()) as { snapshots: { values: Values }[] }).snapshots[0]?.values;
      if (values?.answered.value !== 1) await sleep(100);
    }
    // offered 20 s ago, answered 8 s ago: one answer with a 12 s wait
    expect(values).toMatchObject({ offered: { value: 1 }, answered: { value: 1 }, asa: { value: 12 } });

    const redisPort = logLines(nabiz.output).find((l) => l.msg.startsWith('embedded redis-server started'))?.port ?? 0;
    expect(redisPort).toBeGreaterThan(0);
    expect(await nabiz.stop('SIGTERM')).toBe(0);

    const lines = nabiz.output.join('\n');
    // the start-up log says where the passwords are, and never shows them
    // (and whether the analyst user is there: not without CLICKHOUSE_ANALYST_PASSWORD)
    expect(lines).toContain(`embedded ClickHouse started (user default, password in ${passwordFile}; no analyst user: set CLICKHOUSE_ANALYST_PASSWORD)`);
    const redisPassword = (await readFile(path.join(dataDir, 'redis', 'password'), 'utf8')).trim();
    expect(lines).toContain(`embedded redis-server started (password in ${path.join(dataDir, 'redis', 'password')})`);
    expect(lines).not.toContain(password);
    expect(lines).not.toContain(redisPassword);
    const order = ['"step":"http server"', '"step":"workers"', '"step":"clickhouse and redis clients"', '"step":"embedded services"'].map((s) => lines.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(await portOpen(chPort)).toBe(false);
    expect(await portOpen(redisPort)).toBe(false);
    expect(await portOpen(port)).toBe(false);
  });

  it('on Ctrl-C (SIGINT to its process group) drains first, then stops ClickHouse and Redis, which ran until then', async () => {
    const [port, chPort] = [await freePort(), await freePort()];
    const nabiz = await startNabiz(
      { PORT: String(port), CLICKHOUSE_HTTP_PORT: String(chPort), DATA_DIR: path.join(dataDir, 'ctrl-c'), LOG_LEVEL: 'info' },
      [],
      { processGroup: true },
    );
    const pids = childPids(logLines(nabiz.output));
    expect(running(pids.clickhouse) && running(pids.redis)).toBe(true);
    // A terminal signals its foreground process group: the app, and anything else in its group.
    process.kill(-nabiz.child.pid!, 'SIGINT');
    expect(await nabiz.exited).toBe(0);

    const lines = logLines(nabiz.output);
    const order = [
      indexOf(lines, 'app shutting down on SIGINT', (l) => l.msg === 'shutting down' && l.reason === 'SIGINT' && l.component === undefined),
      indexOf(lines, 'http server stopped', (l) => l.step === 'http server'),
      indexOf(lines, 'workers stopped', (l) => l.step === 'workers'),
      indexOf(lines, 'clients closed', (l) => l.step === 'clickhouse and redis clients'),
      indexOf(lines, 'stopping ClickHouse', (l) => l.msg === 'stopping embedded ClickHouse'),
      // the child's own word: stopped by the app's SIGTERM, not by the terminal's SIGINT
      indexOf(lines, 'ClickHouse shutting down', (l) => l.component === 'clickhouse' && l.msg === 'shutting down'),
      indexOf(lines, 'ClickHouse stopped', (l) => l.msg === 'embedded ClickHouse stopped'),
      indexOf(lines, 'stopping redis-server', (l) => l.msg === 'stopping embedded redis-server'),
      indexOf(lines, 'redis-server shutting down', (l) => l.component === 'redis-server' && /Received SIG\w+ scheduling shutdown/.test(l.msg)),
      indexOf(lines, 'redis-server stopped', (l) => l.msg === 'embedded redis-server stopped'),
      indexOf(lines, 'embedded services stopped', (l) => l.step === 'embedded services'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines[order[5]!]!.reason).toBe('SIGTERM');
    expect(lines[order[8]!]!.msg).toContain('Received SIGTERM');
    expect(lines.filter((l) => l.msg === 'shutdown step failed')).toEqual([]);
    expect(running(pids.clickhouse) || running(pids.redis)).toBe(false);
    expect(await portOpen(chPort)).toBe(false);
  });

  it('stops (exit code 1, for its supervisor to restart it) when its ClickHouse dies under it, e.g. picked by the OOM killer', async () => {
    const [port, chPort] = [await freePort(), await freePort()];
    const nabiz = await startNabiz({ PORT: String(port), CLICKHOUSE_HTTP_PORT: String(chPort), DATA_DIR: path.join(dataDir, 'oom'), LOG_LEVEL: 'info' });
    const pids = childPids(logLines(nabiz.output));
    try {
      process.kill(pids.clickhouse, 'SIGKILL');
      // a bound well inside the test's time-out (not a measure of speed), so the clean-up below runs even when it fails
      expect(await Promise.race([nabiz.exited, sleep(20_000).then(() => 'still running')])).toBe(1);
      const lines = logLines(nabiz.output);
      indexOf(lines, 'fatal: ClickHouse exited', (l) => l.msg.startsWith('embedded ClickHouse exited unexpectedly'));
      indexOf(lines, 'redis-server stopped', (l) => l.msg === 'embedded redis-server stopped');
      expect(running(pids.redis)).toBe(false);
    } finally {
      // should it not have stopped (the test failing), nothing is left running
      for (const pid of [nabiz.child.pid!, pids.clickhouse, pids.redis]) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('stops when its Redis dies under it: the workers\' close hangs on the dead Redis, and ClickHouse is still stopped in order at the deadline', async () => {
    const [port, chPort] = [await freePort(), await freePort()];
    const nabiz = await startNabiz({ PORT: String(port), CLICKHOUSE_HTTP_PORT: String(chPort), DATA_DIR: path.join(dataDir, 'redis-died'), LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '3000' });
    const pids = childPids(logLines(nabiz.output));
    try {
      process.kill(pids.redis, 'SIGKILL');
      // a bound well inside the test's time-out (not a measure of speed), so the clean-up below runs even when it fails
      expect(await Promise.race([nabiz.exited, sleep(25_000).then(() => 'still running')])).toBe(1);
      const lines = logLines(nabiz.output);
      indexOf(lines, 'fatal: redis-server exited', (l) => l.msg.startsWith('embedded redis-server exited unexpectedly'));
      // before: the process exited at the deadline without stopping it (the child noticed its stdin close, later)
      indexOf(lines, 'ClickHouse stopped', (l) => l.msg === 'embedded ClickHouse stopped');
      expect(running(pids.clickhouse)).toBe(false);
    } finally {
      for (const pid of [nabiz.child.pid!, pids.clickhouse, pids.redis]) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);

  it('its ClickHouse and Redis stop by themselves when the app is killed (SIGKILL) without stopping them; the restart takes events at once', async () => {
    const [port, chPort] = [await freePort(), await freePort()];
    const env = { PORT: String(port), CLICKHOUSE_HTTP_PORT: String(chPort), DATA_DIR: path.join(dataDir, 'kill'), LOG_LEVEL: 'info', INGEST_KEYS: 'acd:proc-kill-key-0123456789' };
    const nabiz = await startNabiz(env);
    const lines = logLines(nabiz.output);
    const pids = childPids(lines);
    let again: Awaited<ReturnType<typeof startNabiz>> | undefined;
    try {
      expect(running(pids.clickhouse) && running(pids.redis)).toBe(true);
      // killed while an insert holds the ingest insert lock (30-s lease), which Redis's AOF keeps
      const redisPort = (lines.find((l) => l.msg.startsWith('embedded redis-server started')) as LogLine & { port: number }).port;
      const password = (await readFile(path.join(env.DATA_DIR, 'redis', 'password'), 'utf8')).trim();
      const redis = createRedis(`redis://:${encodeURIComponent(password)}@127.0.0.1:${redisPort}`, 'publisher');
      await redis.set(insertLockKey('nabiz'), 'a-dead-insert', 'PX', 60_000);
      redis.disconnect();
      await sleep(1_500); // Redis writes its AOF every second
      expect(await nabiz.stop('SIGKILL')).toBeNull();
      // a generous limit, not a measure of speed: each stops cleanly (the ClickHouse child drains, Redis saves its AOF)
      for (let i = 0; i < 300 && (running(pids.clickhouse) || running(pids.redis)); i++) await sleep(100);
      expect({ clickhouse: running(pids.clickhouse), redis: running(pids.redis) }).toEqual({ clickhouse: false, redis: false });
      expect(await portOpen(chPort)).toBe(false);

      // Started again, it clears the dead process's lock (its ClickHouse is gone: none of its inserts can land), and
      // takes events at once, instead of answering 503 until the lease ran out
      again = await startNabiz(env);
      const sent = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { authorization: 'Bearer proc-kill-key-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify(sampleEvent('contact.offered')),
      });
      expect(sent.status, await sent.clone().text()).toBe(202);
      indexOf(logLines(again.output), 'the lock cleared', (l) => l.msg.startsWith('cleared the ingest insert lock a previous process left'));
    } finally {
      for (const pid of [pids.clickhouse, pids.redis]) if (running(pid)) process.kill(pid, 'SIGKILL');
      if (again) expect(await again.stop()).toBe(0);
    }
  });
});
