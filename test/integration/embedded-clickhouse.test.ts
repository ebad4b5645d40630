// The embedded ClickHouse through the unmodified @clickhouse/client (and plain HTTP), against servers this file spawns.
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseError } from '@clickhouse/client';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnEmbeddedClickHouse, type EmbeddedClickHouseProcess } from '../../server/clickhouse/embedded/spawn.ts';

const ANALYST_PASSWORD = 'analyst-pw';
const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-embedded-ch-'));
const servers: EmbeddedClickHouseProcess[] = [];
const clients: ClickHouseClient[] = [];
let server: EmbeddedClickHouseProcess;
let ch: ClickHouseClient;

function client(url: string, extra: Parameters<typeof createClient>[0] = {}): ClickHouseClient {
  // The client logs every failed request; the failures here are the expected ones.
  const c = createClient({ url, request_timeout: 60_000, log: { level: ClickHouseLogLevel.OFF }, ...extra });
  clients.push(c);
  return c;
}

async function spawnServer(dataDir: string, port?: number): Promise<EmbeddedClickHouseProcess> {
  const s = await spawnEmbeddedClickHouse({ dataDir, port, connections: 4, analystPassword: ANALYST_PASSWORD, analystDatabase: 'analytics' });
  servers.push(s);
  return s;
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<ClickHouseError> {
  try {
    await promise;
  } catch (err) {
    return err as ClickHouseError;
  }
  throw new Error('expected a rejection');
}

async function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function count(c: ClickHouseClient, table: string): Promise<number> {
  const rs = await c.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n);
}

beforeAll(async () => {
  server = await spawnServer(path.join(dir, 'main'));
  ch = client(server.url);
  await ch.command({ query: 'CREATE TABLE events (id String, n UInt32, note String) ENGINE = MergeTree ORDER BY id' });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('embedded ClickHouse over HTTP', () => {
  it('answers ping, /ping and a curl-style GET with its 26.x version', async () => {
    expect((await ch.ping()).success).toBe(true);
    const ping = await rawGet(`${server.url}/ping`);
    expect(ping.body.toString()).toBe('Ok.\n');
    const version = await rawGet(`${server.url}/?query=SELECT+version()`);
    expect(version.status).toBe(200);
    expect(version.body.toString()).toMatch(/^26\.\d+\.\d+\.\d+\n$/);
    expect(server.version).toMatch(/^26\./);
    expect(server.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).toBe(server.address.replace('http://', `http://default:${server.password}@`));
  });

  it('inserts 100k JSONEachRow rows and reports written_rows in X-ClickHouse-Summary', async () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: `e${i}`, n: i, note: i % 2 ? 'odd' : 'even' }));
    const started = performance.now();
    const result = await ch.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
    console.log(`insert of 100k rows through the server: ${(performance.now() - started).toFixed(0)} ms`);
    expect(result.summary?.written_rows).toBe('100000');
    expect(result.response_headers['x-clickhouse-query-id']).toBe(result.query_id);
    expect(await count(ch, 'events')).toBe(100_000);
  });

  it('binds query_params server-side in JSONEachRow and JSON, with no injection', async () => {
    const nasty = `x' OR 1=1; DROP TABLE events; -- \\' "quoted" \\\\ {n:UInt32}`;
    const rs = await ch.query({
      query: 'SELECT {s:String} AS s, {n:UInt32} + 1 AS n, count() AS c FROM events WHERE id = {s:String}',
      query_params: { s: nasty, n: 41 },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ s: nasty, n: '42', c: '0' }]);
    const json = await ch.query({ query: 'SELECT id, n FROM events WHERE n IN {ns:Array(UInt32)} ORDER BY n', query_params: { ns: [3, 5] }, format: 'JSON' });
    const body = await json.json<{ id: string; n: number }>();
    expect(body.data).toEqual([{ id: 'e3', n: 3 }, { id: 'e5', n: 5 }]);
    expect(body.rows).toBe(2);
    expect(await count(ch, 'events')).toBe(100_000);
  });

  it('answers EXPLAIN (analysts read query plans), with parameters', async () => {
    const rs = await ch.query({ query: 'EXPLAIN indexes = 1 SELECT id FROM events WHERE n > {n:UInt32}', query_params: { n: 5 }, format: 'TabSeparated' });
    const plan = await rs.text();
    expect(plan).toMatch(/ReadFromMergeTree/);
    expect(plan).toMatch(/n > 5|greater\(n, 5/);
  });

  it('surfaces ClickHouse error codes and HTTP statuses', async () => {
    const unknown = await rejection(ch.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' }));
    expect(unknown.code).toBe('60');
    expect(unknown.type).toBe('UNKNOWN_TABLE');
    const syntax = await rejection(ch.query({ query: 'SELEC 1', format: 'JSONEachRow' }));
    expect(syntax.code).toBe('62');
    const raw = await rawGet(`${server.url}/?query=SELECT+*+FROM+no_such_table`);
    expect(raw.status).toBe(404);
    expect(raw.headers['x-clickhouse-exception-code']).toBe('60');
    expect(raw.body.toString()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
    const badSyntax = await rawGet(`${server.url}/?query=SELEC+1`);
    expect(badSyntax.status).toBe(400);
  });

  it('reports an error in the middle of a streamed result in-band', async () => {
    const rs = await ch.query({ query: "SELECT number, throwIf(number = 900000, 'boom') AS x FROM numbers(1000000)", format: 'JSONEachRow' });
    const err = await rejection(rs.json());
    expect(err.code).toBe('395');
    expect(err.message).toContain('boom');
  });

  it('runs 20 concurrent parameterised queries, each with its own values', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const rs = await ch.query({ query: 'SELECT {i:UInt32} AS i, {s:String} AS s, count() AS c FROM events WHERE n < {i:UInt32}', query_params: { i, s: `v${i}` }, format: 'JSONEachRow' });
        return rs.json<{ i: number; s: string; c: string }>();
      }),
    );
    results.forEach((rows, i) => expect(rows).toEqual([{ i, s: `v${i}`, c: String(i) }]));
  });

  it('does not leak settings, parameters or the database from one request to the next', async () => {
    await ch.command({ query: 'CREATE DATABASE IF NOT EXISTS other' });
    const scoped = client(server.url, { database: 'other', max_open_connections: 1 });
    const plain = client(server.url, { max_open_connections: 1 });
    for (let round = 0; round < 3; round++) {
      const first = await scoped.query({
        query: "SELECT toString(getSetting('max_result_rows')) AS m, currentDatabase() AS db, {p:String} AS p",
        query_params: { p: 'set' },
        clickhouse_settings: { max_result_rows: '12345' },
        format: 'JSONEachRow',
      });
      expect(await first.json()).toEqual([{ m: '12345', db: 'other', p: 'set' }]);
      const next = await plain.query({ query: "SELECT toString(getSetting('max_result_rows')) AS m, currentDatabase() AS db", format: 'JSONEachRow' });
      expect(await next.json()).toEqual([{ m: '0', db: 'default' }]);
      const unbound = await rejection(plain.query({ query: 'SELECT {p:String}', format: 'JSONEachRow' }));
      expect(unbound.code).toBe('456');
    }
  });

  it('pins 64-bit integers as JSON strings and synchronous inserts', async () => {
    const rs = await ch.query({ query: "SELECT toUInt64(1) AS u, getSetting('async_insert') AS a", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ u: '1', a: false }]);
  });

  it('decompresses gzip request bodies and gzips responses when asked', async () => {
    const gz = client(server.url, { compression: { request: true, response: true } });
    await gz.insert({ table: 'events', values: [{ id: 'gz', n: 7, note: 'gzip' }], format: 'JSONEachRow' });
    const rs = await gz.query({ query: "SELECT note FROM events WHERE id = 'gz'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ note: 'gzip' }]);

    const raw = await rawGet(`${server.url}/?query=SELECT+note+FROM+events+WHERE+id%3D'gz'&enable_http_compression=1`, { 'Accept-Encoding': 'gzip' });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe('gzip\n');
    const plain = await rawGet(`${server.url}/?query=SELECT+1`, { 'Accept-Encoding': 'gzip' });
    expect(plain.headers['content-encoding']).toBeUndefined();

    const body = gzipSync('INSERT INTO events FORMAT CSV\n"gz2",8,"curl"\n');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.url}/`, { method: 'POST', headers: { 'Content-Encoding': 'gzip' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect(await count(ch, "events WHERE id = 'gz2'")).toBe(1);
  });

  it('streams a 2M-row result while a ping still answers', async () => {
    const { stream } = await ch.exec({ query: 'SELECT number FROM numbers(2000000) FORMAT TabSeparated' });
    let lines = 0;
    let pingedAtLine = -1;
    let ping: Promise<void> | undefined;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const byte of chunk) if (byte === 10) lines++;
      ping ??= ch.ping().then((r) => {
        expect(r.success).toBe(true);
        pingedAtLine = lines;
      });
    }
    await ping;
    expect(lines).toBe(2_000_000);
    expect(pingedAtLine).toBeGreaterThanOrEqual(0);
    expect(pingedAtLine).toBeLessThan(2_000_000);
  });

  it('keeps answering pings and small inserts while a long query runs', async () => {
    await ch.command({ query: 'CREATE TABLE big (k UInt64, v UInt64) ENGINE = MergeTree ORDER BY tuple()' });
    await ch.command({ query: 'INSERT INTO big SELECT number % 1000003, number FROM numbers(10000000)' });
    const t0 = performance.now();
    let heavyDoneAt = 0;
    const heavy = ch
      .query({ query: 'SELECT k, sum(v) AS s FROM big GROUP BY k ORDER BY s DESC LIMIT 3', format: 'JSONEachRow' })
      .then((rs) => rs.json())
      .then((rows) => {
        heavyDoneAt = performance.now() - t0;
        return rows;
      });
    const pings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const p0 = performance.now();
      expect((await ch.ping()).success).toBe(true);
      pings.push(performance.now() - p0);
    }
    const pingsDoneAt = performance.now() - t0;
    await ch.insert({ table: 'events', values: [{ id: 'during-heavy', n: 1, note: '' }], format: 'JSONEachRow' });
    const insertDoneAt = performance.now() - t0;
    expect(await heavy).toHaveLength(3);
    console.log(
      `long query ${heavyDoneAt.toFixed(0)} ms; 20 pings done at ${pingsDoneAt.toFixed(0)} ms ` +
        `(max ${Math.max(...pings).toFixed(1)} ms, median ${pings.sort((a, b) => a - b)[10]?.toFixed(1)} ms); ` +
        `small insert done at ${insertDoneAt.toFixed(0)} ms`,
    );
    expect(heavyDoneAt).toBeGreaterThan(insertDoneAt);
    expect(heavyDoneAt).toBeGreaterThan(pingsDoneAt);
    await ch.command({ query: 'DROP TABLE big' });
  });

  it("runs an analyst's query that names no database in Nabız's (CLICKHOUSE_DATABASE), as a server user's DEFAULT DATABASE", async () => {
    // curl, as the analyst guide shows it, without ?database=: it ran in `default`, where no view of Nabız is
    await ch.command({ query: 'CREATE DATABASE IF NOT EXISTS analytics' });
    await ch.command({ query: 'CREATE TABLE IF NOT EXISTS analytics.figures (n UInt8) ENGINE = Memory' });
    const ask = async (sql: string, search = '') => {
      const r = await fetch(`${server.address}/?user=analyst&password=${ANALYST_PASSWORD}${search}`, { method: 'POST', body: sql });
      return [r.status, (await r.text()).trim()];
    };
    expect(await ask('SELECT currentDatabase()')).toEqual([200, 'analytics']);
    expect(await ask('SELECT count() FROM figures')).toEqual([200, '0']);
    // a request that names one runs there
    expect(await ask('SELECT currentDatabase()', '&database=default')).toEqual([200, 'default']);
  });

  it('gives the analyst read-only access with forced limits, and rejects a wrong password', async () => {
    const analyst = client(server.address, { username: 'analyst', password: ANALYST_PASSWORD });
    const rs = await analyst.query({
      query: "SELECT count() AS c, getSetting('max_execution_time') AS t FROM default.events WHERE startsWith(id, 'e') AND n < 10",
      clickhouse_settings: { max_execution_time: 9999 },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ c: '10', t: 60 }]);
    expect((await rejection(analyst.insert({ table: 'default.events', values: [{ id: 'no', n: 0, note: '' }], format: 'JSONEachRow' }))).code).toBe('164');
    expect((await rejection(analyst.command({ query: 'CREATE TABLE nope (a UInt8) ENGINE = Memory' }))).code).toBe('164');
    expect((await rejection(analyst.query({ query: 'SELECT 1 SETTINGS readonly = 0', format: 'JSONEachRow' }))).code).toBe('164');
    // nor the engine's files: in chdb (local mode) the scalar file() skips the checks a server makes, and read the
    // `default` user's password. Refused however it is written; `default` keeps it
    for (const query of ["SELECT file('/etc/hostname')", 'SELECT /* x */ `FILE`(\'/etc/hostname\') AS f', "WITH arrayMap(x -> file(x), ['/etc/hostname']) AS f SELECT f"]) {
      const refused = await rejection(analyst.query({ query, format: 'JSONEachRow' }));
      expect([refused.code, refused.message], query).toEqual(['497', expect.stringContaining('is not allowed for a read-only user')]);
    }
    expect((await rejection(analyst.query({ query: "SELECT 1; SELECT file('/etc/hostname')", format: 'JSONEachRow' }))).code).toBe('62');
    expect(await (await ch.query({ query: "SELECT length(file('/etc/hostname')) > 0 AS read", format: 'JSONEachRow' })).json()).toEqual([{ read: 1 }]);

    const wrong = client(server.address, { username: 'analyst', password: 'nope' });
    expect((await rejection(wrong.query({ query: 'SELECT 1', format: 'JSONEachRow' }))).code).toBe('516');
    const raw = await rawGet(`${server.address}/?query=SELECT+1&user=nobody&password=x`);
    expect(raw.status).toBe(403);
    expect(raw.headers['x-clickhouse-exception-code']).toBe('516');
  });

  it('keeps connections for the app however many long queries analysts run: theirs wait their turn', async () => {
    // 4 connections (beforeAll): analysts share 4 − 2 (RESERVED_FOR_WRITERS). Four slow analyst queries (2 s each)
    // take the two, and two wait; a query of the app's user still finds a free connection and is answered first.
    const analyst = client(server.address, { username: 'analyst', password: ANALYST_PASSWORD });
    const done: string[] = [];
    const slow = Array.from({ length: 4 }, (_, i) =>
      analyst.query({ query: 'SELECT sum(sleepEachRow(0.5)) AS s FROM numbers(4)', format: 'JSONEachRow' }).then(() => void done.push(`analyst ${i}`)),
    );
    await new Promise((r) => setTimeout(r, 300)); // the analysts' queries are in
    await (await ch.query({ query: 'SELECT 1', format: 'JSONEachRow' })).json();
    done.push('app');
    await Promise.all(slow);
    expect(done[0]).toBe('app');
    expect(done).toHaveLength(5);
  });

  it('loses no acknowledged rows when killed with SIGKILL, and drains in-flight queries on SIGTERM', async () => {
    const dataDir = path.join(dir, 'crash');
    const first = await spawnServer(dataDir);
    const c1 = client(first.url);
    await c1.command({ query: 'CREATE TABLE acked (id UInt32) ENGINE = MergeTree ORDER BY id' });
    for (let batch = 0; batch < 5; batch++) {
      await c1.insert({ table: 'acked', values: Array.from({ length: 10_000 }, (_, i) => ({ id: batch * 10_000 + i })), format: 'JSONEachRow' });
    }
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const started = performance.now();
    const second = await spawnServer(dataDir);
    console.log(`restart after SIGKILL: ready in ${(performance.now() - started).toFixed(0)} ms`);
    const c2 = client(second.url);
    expect(await count(c2, 'acked')).toBe(50_000);

    // SIGTERM while a query runs: the query still completes, then the process exits 0.
    const inFlight = c2.query({ query: 'SELECT sum(number) AS s FROM numbers(300000000)', format: 'JSONEachRow' }).then((rs) => rs.json());
    expect((await client(second.url).ping()).success).toBe(true);
    await second.stop();
    expect(await inFlight).toEqual([{ s: '44999999850000000' }]);
    expect(await second.exited).toBe(0);
  });
});

describe('embedded ClickHouse credentials', () => {
  /** ClickHouse's answer to bad credentials: 403 with exception code 516, AUTHENTICATION_FAILED. */
  function expectAuthenticationFailed(res: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }): void {
    expect(res.status).toBe(403);
    expect(res.headers['x-clickhouse-exception-code']).toBe('516');
    expect(res.body.toString()).toMatch(/^Code: 516\. DB::Exception: default: Authentication failed.*\(AUTHENTICATION_FAILED\)/);
  }

  it('refuses `default` with no, an empty or a wrong password (516, as ClickHouse does), and accepts the generated one', async () => {
    const query = `${server.address}/?query=SELECT+1`;
    expectAuthenticationFailed(await rawGet(query));
    expectAuthenticationFailed(await rawGet(query, { Authorization: `Basic ${Buffer.from('default:').toString('base64')}` }));
    expectAuthenticationFailed(await rawGet(query, { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': '' }));
    expectAuthenticationFailed(await rawGet(`${query}&user=default&password=`));
    expectAuthenticationFailed(await rawGet(query, { Authorization: `Basic ${Buffer.from('default:not-the-password').toString('base64')}` }));
    expect((await rejection(client(server.address).query({ query: 'SELECT 1', format: 'JSONEachRow' }))).code).toBe('516');
    expect((await rejection(client(server.address, { password: `${server.password}x` }).query({ query: 'SELECT 1' }))).code).toBe('516');
    // /ping stays open, as on ClickHouse (health checks)
    expect((await rawGet(`${server.address}/ping`)).status).toBe(200);

    const ok = await rawGet(query, { Authorization: `Basic ${Buffer.from(`default:${server.password}`).toString('base64')}` });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('1\n');
    expect((await client(server.address, { password: server.password }).ping()).success).toBe(true);
    expect(await count(client(server.url), 'system.one')).toBe(1);
  });

  it('keeps the generated password in a 0600 file under its data directory and reuses it on restart', async () => {
    const dataDir = path.join(dir, 'restart');
    const first = await spawnServer(dataDir);
    expect(first.passwordFile).toBe(path.join(dataDir, 'password'));
    expect((await stat(first.passwordFile!)).mode & 0o777).toBe(0o600);
    expect(await readFile(first.passwordFile!, 'utf8')).toBe(`${first.password}\n`);
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const c = client(first.url);
    await c.command({ query: 'CREATE TABLE kept (id UInt8) ENGINE = MergeTree ORDER BY id' });
    await first.stop();

    const second = await spawnServer(dataDir, first.port);
    expect(second.password).toBe(first.password);
    expect(await count(c, 'kept')).toBe(0); // the first client, with the first password, on the restarted server
  });

  it('uses a given password instead of the file', async () => {
    const given = await spawnEmbeddedClickHouse({ dataDir: path.join(dir, 'given'), password: 'a-given-password-0123' });
    servers.push(given);
    expect(given.passwordFile).toBeUndefined();
    expect(given.password).toBe('a-given-password-0123');
    expect((await client(given.address, { password: 'a-given-password-0123' }).ping()).success).toBe(true);
    expect(await count(client(given.address, { password: 'a-given-password-0123' }), 'system.one')).toBe(1);
    expectAuthenticationFailed(await rawGet(`${given.address}/?query=SELECT+1`));
  });

  it('puts no password on its command line or in its environment', async () => {
    const cmdline = await readFile(`/proc/${server.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('--data-dir'); // it is the right process
    const environ = await readFile(`/proc/${server.pid}/environ`, 'utf8');
    for (const secret of [server.password, ANALYST_PASSWORD]) {
      expect(cmdline).not.toContain(secret);
      expect(environ).not.toContain(secret);
    }
  });

  it('refuses a password file other users may read, or one holding no password, saying which file and what to do', async () => {
    const cases: Array<{ name: string; content: string; mode: number; message: RegExp }> = [
      { name: 'wide', content: 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde\n', mode: 0o644, message: /mode 0644\); it must be 0600\. Run `chmod 600 .*wide\/password`/ },
      { name: 'group', content: 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde\n', mode: 0o640, message: /mode 0640/ },
      { name: 'empty', content: '', mode: 0o600, message: /is empty\. Delete it to have a new one generated/ },
      { name: 'corrupt', content: 'two words\n', mode: 0o600, message: /does not hold a valid secret .*Delete it/ },
    ];
    for (const c of cases) {
      const dataDir = path.join(dir, c.name);
      await mkdir(dataDir, { recursive: true });
      const file = path.join(dataDir, 'password');
      await writeFile(file, c.content);
      await chmod(file, c.mode);
      const err = await spawnEmbeddedClickHouse({ dataDir }).then(
        (s) => {
          servers.push(s);
          throw new Error(`${c.name}: started`);
        },
        (e: Error) => e,
      );
      expect(err.message, c.name).toContain(file);
      expect(err.message, c.name).toContain("the password of the embedded ClickHouse's `default` user");
      expect(err.message, c.name).toMatch(c.message);
      if (c.content.trim()) expect(err.message, c.name).not.toContain(c.content.trim());
      expect(await readFile(file, 'utf8'), `${c.name}: left as it was`).toBe(c.content);
    }
  });
});
