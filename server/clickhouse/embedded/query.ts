// One query over HTTP: what to run (an INSERT with rows in the body, or a statement), the connection state it runs
// with (database, bound parameters, settings, readonly), and how its result reaches the client.
import type { Readable } from 'node:stream';
import type { Session } from 'chdb';
import type { Principal } from './auth.ts';
import { ClickHouseHttpError, ErrorCode, toClickHouseError } from './errors.ts';
import { addParam, parseMultipart, type RequestParams } from './http-params.ts';
import { readAll } from './request-body.ts';
import type { ResponseWriter, Summary } from './response.ts';
import {
  isBlank,
  isLineDelimited,
  parseInsertTarget,
  quoteIdentifier,
  quoteString,
  returnsRows,
  trailingFormat,
  type InsertTarget,
  type StreamInsertFormat,
} from './sql-text.ts';

export type QueryPlan =
  | { kind: 'insert'; target: InsertTarget; rows: Buffer }
  | { kind: 'stream-insert'; target: InsertTarget & { format: StreamInsertFormat }; rows: Readable }
  | { kind: 'statement'; sql: string };

/**
 * Splits a request into a plan. As on ClickHouse, the `query` parameter is the beginning of the query and the body
 * its continuation; after `INSERT … FORMAT <fmt>` the rest is rows, which go to chdb's raw insert untouched (the
 * engine parses them, JS never does). A body-only request (curl) is read whole first.
 */
export async function planQuery(params: RequestParams, body: Readable, contentType: string): Promise<QueryPlan> {
  let head = params.query;
  if (/^multipart\/form-data/i.test(contentType)) {
    const parts = parseMultipart(await readAll(body), contentType);
    for (const [name, value] of parts) if (name.startsWith('param_')) addParam(params, name.slice('param_'.length), value);
    return statement(joinQuery(head, parts.get('query') ?? ''));
  }
  if (head !== undefined) {
    const target = parseInsertTarget(head);
    if (target && isBlank(head.slice(target.dataOffset))) {
      const { format } = target;
      // Line-delimited rows are stream-inserted in bounded chunks, so memory stays flat for any body size; CSV and
      // *WithNames cannot be re-chunked safely (quoted newlines, one header), so they are read whole.
      if (isLineDelimited(format)) return { kind: 'stream-insert', target: { ...target, format }, rows: body };
      return { kind: 'insert', target, rows: await readAll(body) };
    }
    return statement(joinQuery(head, (await readAll(body)).toString('utf8')));
  }
  const whole = await readAll(body);
  // latin1 maps bytes 1:1 to chars, so the match offset is a byte offset into `whole`.
  const target = parseInsertTarget(whole.subarray(0, 64 * 1024).toString('latin1'));
  if (target) return { kind: 'insert', target, rows: whole.subarray(target.dataOffset) };
  return statement(whole.toString('utf8'));
}

function joinQuery(head: string | undefined, rest: string): string {
  if (head === undefined || head === '') return rest;
  return rest === '' ? head : `${head}\n${rest}`;
}

function statement(sql: string): QueryPlan {
  if (isBlank(sql)) throw new ClickHouseHttpError(ErrorCode.SYNTAX_ERROR, 'Empty query', 'Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)');
  return { kind: 'statement', sql };
}

/**
 * The statements that give a fresh connection the request's state. Order matters: settings before parameters (so
 * max_query_size applies to long parameter values), and `readonly` last, because
 * with readonly=1 no further SET is allowed. Query parameters are SET on the connection rather than bound per call:
 * chdb's per-call binding raced across concurrent connections (wrong substitutions); SET was reliable.
 */
export function connectionSetup(params: RequestParams, principal: Principal, method: string): string[] {
  const statements: string[] = [];
  const database = params.database ?? principal.database;
  if (database !== undefined) statements.push(`USE ${quoteIdentifier(database)}`);
  const settings = new Map(params.settings);
  for (const [name, value] of Object.entries(principal.forcedSettings)) settings.set(name, value);
  // As on ClickHouse, a GET is read-only (readonly=2: settings may still change); a read-only user stays at 1.
  let readonly = settings.get('readonly');
  settings.delete('readonly');
  if (method === 'GET' && readonly === undefined) readonly = '2';
  if (settings.size > 0) statements.push(`SET ${[...settings].map(([k, v]) => `${k} = ${quoteString(v)}`).join(', ')}`);
  // Parameters after the settings: a long value is parsed under the request's max_query_size, as on a server.
  for (const [name, value] of params.params) statements.push(`SET param_${name} = ${quoteString(value)}`);
  if (readonly !== undefined) statements.push(`SET readonly = ${quoteString(readonly)}`);
  return statements;
}

/**
 * Functions a read-only user may not call. In chdb (ClickHouse's local mode) the scalar `file(path)` skips both the
 * access check and the user_files_path restriction a server applies: `SELECT file('<DATA_DIR>/clickhouse/password')`
 * read the `default` user's password, and from it everything. readonly=1 stops its table-function form only.
 */
const DENIED_TO_READERS = new Set(['file']);

/**
 * Refuses a read-only user's statement that calls a denied function: its syntax tree (EXPLAIN AST, by the engine's own
 * parser, so no spelling, comment or alias hides a call) is searched for it. A statement the parser refuses (several
 * statements at once, say) is refused with its error, as a server would.
 */
async function vetForReader(session: Session, sql: string): Promise<void> {
  const ast = (await session.queryAsync(`EXPLAIN AST ${sql}`, { format: 'TabSeparatedRaw' })).text();
  for (const line of ast.split('\n')) {
    const name = /^\s*Function\s+([^\s(]+)/.exec(line)?.[1];
    if (name !== undefined && DENIED_TO_READERS.has(name.toLowerCase())) {
      throw new ClickHouseHttpError(ErrorCode.ACCESS_DENIED, `${name}() is not allowed for a read-only user: it reads the server's files`);
    }
  }
}

export interface RunOptions {
  plan: QueryPlan;
  /** The user is read-only (the analyst): its statements are vetted first (vetForReader). */
  reader?: boolean;
  setup: string[];
  defaultFormat: string;
  out: ResponseWriter;
  /** Aborted when the client goes away: stops a streamed result between chunks. */
  signal: AbortSignal;
}

/** Runs a plan on a (fresh) connection and writes its response; errors are written in ClickHouse's format too. */
export async function runQuery(session: Session, opts: RunOptions): Promise<void> {
  const { plan, out } = opts;
  const summary: Summary = {};
  try {
    if (opts.setup.length > 0) await session.queryAsync(opts.setup.join(';\n'));
    if (plan.kind !== 'statement') {
      const { table, columns, format } = plan.target;
      const target = { table, ...(columns ? { columns } : {}) };
      // Two calls for chdb's two overloads: one Buffer (raw insert) or a stream inserted in bounded chunks.
      const result =
        plan.kind === 'insert'
          ? await session.insert({ ...target, format, values: plan.rows })
          : await session.insert({ ...target, format: plan.target.format, values: plan.rows });
      summary.writtenRows = result.rowsWritten;
      summary.writtenBytes = result.bytesWritten;
      await out.send(format, summary, new Uint8Array(0));
      return;
    }
    if (opts.reader) await vetForReader(session, plan.sql);
    const format = trailingFormat(plan.sql) ?? opts.defaultFormat;
    if (!returnsRows(plan.sql)) {
      const result = await session.queryAsync(plan.sql, { format });
      const bytes = result.bytes();
      Object.assign(summary, { readRows: result.rowsRead, readBytes: result.bytesRead, resultBytes: bytes.length });
      await out.send(format, summary, bytes);
      return;
    }
    await streamRows(session, plan.sql, format, opts, summary);
  } catch (err) {
    await out.fail(toClickHouseError(err), summary);
  }
}

/**
 * Streams a result chunk by chunk (memory stays bounded, whatever the result size). The headers wait for the first
 * chunk, so an error the engine finds early (unknown table, bad syntax) still gets its proper HTTP status.
 */
async function streamRows(session: Session, sql: string, format: string, opts: RunOptions, summary: Summary): Promise<void> {
  const { out } = opts;
  const chunks = session.queryStream(sql, { format, signal: opts.signal })[Symbol.asyncIterator]();
  summary.resultRows = 0;
  summary.resultBytes = 0;
  let next = await chunks.next();
  if (!next.done) {
    summary.resultRows += next.value.numRows;
    summary.resultBytes += next.value.numBytes;
  }
  out.begin(format, summary, true);
  while (!next.done) {
    await out.write(next.value.raw());
    if (opts.signal.aborted) {
      await chunks.return?.();
      return;
    }
    next = await chunks.next();
  }
  await out.end();
}
