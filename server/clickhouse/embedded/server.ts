// The embedded ClickHouse: an HTTP server speaking the subset of ClickHouse's HTTP interface that
// `@clickhouse/client` and curl use, backed by chdb (the ClickHouse engine in-process) on one data directory.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { authenticate, type EmbeddedUser } from './auth.ts';
import { toClickHouseError } from './errors.ts';
import { parseRequestParams } from './http-params.ts';
import { ConnectionPool } from './pool.ts';
import { Slots } from './slots.ts';
import { connectionSetup, planQuery, runQuery } from './query.ts';
import { decodedBody } from './request-body.ts';
import { ResponseWriter, responseEncoding } from './response.ts';
import { DEFAULT_CONNECTIONS, RESERVED_FOR_WRITERS } from './settings.ts';

export type { EmbeddedUser } from './auth.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EmbeddedClickHouseOptions {
  dataDir: string;
  /** Interface to listen on; loopback (127.0.0.1) is the intended one. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Queries running at once, each on its own engine connection (default 4). */
  connections?: number;
  /** Password of the `default` user (full rights); must not be empty. */
  defaultPassword: string;
  /** Users besides `default`, e.g. a read-only analyst. */
  users?: EmbeddedUser[];
  /** Where BACKUP … TO File(…) may write and RESTORE read (absolute); unset: nowhere. */
  backupDir?: string;
  /** Never receives passwords. */
  log?: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;
}

export interface EmbeddedClickHouse {
  url: string;
  port: number;
  /** The engine's version, e.g. 26.7.2.1. */
  version: string;
  /** Stops accepting, lets in-flight queries finish (until the deadline), then releases the data directory. */
  close(deadlineMs?: number): Promise<void>;
}

/** The engine configuration that lets BACKUP and RESTORE use File(…) under `backupDir`; returns its path. */
async function writeBackupConfig(dataDir: string, backupDir: string): Promise<string> {
  await mkdir(backupDir, { recursive: true });
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const file = path.join(dataDir, 'nabiz-backups.xml');
  await writeFile(file, `<clickhouse><backups><allowed_path>${xml(path.join(backupDir, '/'))}</allowed_path></backups></clickhouse>\n`);
  return file;
}

export async function startEmbeddedClickHouse(opts: EmbeddedClickHouseOptions): Promise<EmbeddedClickHouse> {
  const log = opts.log ?? (() => {});
  if (!opts.defaultPassword) throw new Error('the embedded ClickHouse needs a password for its `default` user');
  if ((opts.users ?? []).some((u) => u.name === 'default' || u.password === '')) throw new Error('users: `default` is given by defaultPassword, and no password may be empty');
  const users: EmbeddedUser[] = [{ name: 'default', password: opts.defaultPassword, readonly: false }, ...(opts.users ?? [])];
  await mkdir(opts.dataDir, { recursive: true });
  const pool = ConnectionPool.open(opts.dataDir, opts.connections ?? DEFAULT_CONNECTIONS, opts.backupDir && (await writeBackupConfig(opts.dataDir, opts.backupDir)));
  const { version, timezone } = await pool.info();
  // read-only users (analysts) share what the app does not keep for itself (at least one connection)
  const readers = new Slots(Math.max(1, pool.size - RESERVED_FOR_WRITERS));
  const displayName = os.hostname();
  const inFlight = new Set<Promise<void>>();

  async function serveQuery(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const startedNs = process.hrtime.bigint();
    const queryId = url.searchParams.get('query_id') || randomUUID();
    const out = new ResponseWriter(res, { queryId, timezone, displayName, startedNs });
    let user = 'default';
    try {
      const params = parseRequestParams(url.searchParams);
      out.compress(responseEncoding(req.headers, params.compressResponse), params.compressionLevel);
      const principal = authenticate(req.headers, url.searchParams, users);
      user = principal.name;
      const plan = await planQuery(params, decodedBody(req), req.headers['content-type'] ?? '');
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      const run = () =>
        pool.run((session) =>
          runQuery(session, {
            plan,
            reader: principal.readonly,
            setup: connectionSetup(params, principal, req.method ?? 'POST'),
            defaultFormat: params.defaultFormat ?? 'TabSeparated',
            out,
            signal: abort.signal,
          }),
        );
      await (principal.readonly ? readers.use(run) : run());
    } catch (err) {
      await out.fail(toClickHouseError(err));
    }
    const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
    const exceptionCode = res.getHeader('X-ClickHouse-Exception-Code');
    if (exceptionCode !== undefined) log('warn', 'query failed', { queryId, user, code: Number(exceptionCode), elapsedMs });
    else log('debug', 'query', { queryId, user, status: res.statusCode, elapsedMs });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://embedded');
    if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'POST')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(`There is no handle ${url.pathname}\n`);
      return;
    }
    const served = serveQuery(req, res, url).catch((err: unknown) => {
      log('error', 'unexpected failure serving a query', { error: String(err) });
      res.destroy();
    });
    inFlight.add(served);
    void served.finally(() => inFlight.delete(served));
  }

  // Query parameters travel in the URL; ClickHouse accepts URIs up to 1 MiB (http_max_uri_size), so do we.
  const server = http.createServer({ maxHeaderSize: 1024 * 1024 }, handle);
  server.listen(opts.port, opts.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    await pool.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  log('info', 'embedded ClickHouse listening', { host: opts.host, port, version, dataDir: opts.dataDir });

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    version,
    close: (deadlineMs = 10_000) =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
        const outcome = await Promise.race([Promise.allSettled([...inFlight]), deadline]);
        clearTimeout(timer);
        if (outcome === 'deadline') log('warn', 'shutdown deadline reached; dropping in-flight queries', { inFlight: inFlight.size });
        server.closeAllConnections();
        await stopped;
        // The engine finishes what it started (no interrupt in chdb's C API); pool.close() waits for it.
        await pool.close();
        log('info', 'embedded ClickHouse stopped');
      })()),
  };
}
