// Writing a query's response the way ClickHouse does: X-ClickHouse-* headers, optional gzip/deflate, an error as
// status + `X-ClickHouse-Exception-Code` + text before the body starts, or in-band (tagged) once it has started.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { httpStatusForCode, type ClickHouseHttpError } from './errors.ts';

/** Counters of X-ClickHouse-Summary; the real server sends them all as decimal strings. */
export interface Summary {
  readRows?: number;
  readBytes?: number;
  writtenRows?: number;
  writtenBytes?: number;
  resultRows?: number;
  resultBytes?: number;
}

export interface ResponseContext {
  queryId: string;
  timezone: string;
  displayName: string;
  /** process.hrtime.bigint() when the request arrived, for elapsed_ns. */
  startedNs: bigint;
}

type Encoding = 'gzip' | 'deflate';

/** The response encoding, when the request enabled compression and accepts one we produce. */
export function responseEncoding(headers: IncomingHttpHeaders, enabled: boolean): Encoding | undefined {
  if (!enabled) return undefined;
  const accepted = (headers['accept-encoding'] ?? '').toLowerCase();
  if (/\bgzip\b/.test(accepted)) return 'gzip';
  if (/\bdeflate\b/.test(accepted)) return 'deflate';
  return undefined;
}

export function contentTypeFor(format: string): string {
  if (/^(JSON|NDJSON|JSONL)/i.test(format)) return 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8';
  if (/^(Parquet|Arrow|ORC|Avro|Native|RowBinary|Protobuf|CapnProto|MsgPack|BSON|Npy)/i.test(format)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

export class ResponseWriter {
  readonly #res: ServerResponse;
  readonly #ctx: ResponseContext;
  #encoding: Encoding | undefined;
  #level: number | undefined;
  #sink: Writable | undefined;
  #exceptionTag: string | undefined;

  constructor(res: ServerResponse, ctx: ResponseContext) {
    this.#res = res;
    this.#ctx = ctx;
  }

  /** Compresses the body (not error texts) from begin() on. */
  compress(encoding: Encoding | undefined, level: number | undefined): void {
    this.#encoding = encoding;
    this.#level = level;
  }

  #summaryHeader(s: Summary): string {
    const n = (v: number | undefined) => String(v ?? 0);
    return JSON.stringify({
      read_rows: n(s.readRows),
      read_bytes: n(s.readBytes),
      written_rows: n(s.writtenRows),
      written_bytes: n(s.writtenBytes),
      total_rows_to_read: n(s.readRows),
      result_rows: n(s.resultRows),
      result_bytes: n(s.resultBytes),
      elapsed_ns: String(process.hrtime.bigint() - this.#ctx.startedNs),
    });
  }

  #commonHeaders(summary: Summary): OutgoingHttpHeaders {
    return {
      'X-ClickHouse-Query-Id': this.#ctx.queryId,
      'X-ClickHouse-Timezone': this.#ctx.timezone,
      'X-ClickHouse-Server-Display-Name': this.#ctx.displayName,
      'X-ClickHouse-Summary': this.#summaryHeader(summary),
    };
  }

  /**
   * Sends the headers and opens the body. `streaming` responses carry an `X-ClickHouse-Exception-Tag`, so that an
   * error after the first bytes can be reported in-band in the form clients parse (ClickHouse 25.11+).
   */
  begin(format: string, summary: Summary, streaming: boolean): void {
    const headers: OutgoingHttpHeaders = {
      ...this.#commonHeaders(summary),
      'X-ClickHouse-Format': format,
      'Content-Type': contentTypeFor(format),
    };
    if (streaming) {
      this.#exceptionTag = randomBytes(8).toString('hex');
      headers['X-ClickHouse-Exception-Tag'] = this.#exceptionTag;
    }
    if (this.#encoding) headers['Content-Encoding'] = this.#encoding;
    this.#res.writeHead(200, headers);
    if (this.#encoding === undefined) {
      this.#sink = this.#res;
    } else {
      const options = this.#level === undefined ? {} : { level: this.#level };
      const compressor = this.#encoding === 'gzip' ? zlib.createGzip(options) : zlib.createDeflate(options);
      compressor.on('error', (err) => this.#res.destroy(err));
      compressor.pipe(this.#res);
      this.#sink = compressor;
    }
  }

  /** Writes a body chunk, waiting while the client is slower than the engine. */
  async write(chunk: Uint8Array): Promise<void> {
    const sink = this.#sink;
    if (!sink) throw new Error('write() before begin()');
    if (this.#res.destroyed || chunk.length === 0 || sink.write(chunk)) return;
    await Promise.race([once(sink, 'drain'), once(this.#res, 'close')]);
  }

  async end(): Promise<void> {
    const sink = this.#sink;
    if (!sink) throw new Error('end() before begin()');
    if (this.#res.writableEnded || this.#res.destroyed) return;
    const finished = Promise.race([once(this.#res, 'finish'), once(this.#res, 'close')]);
    sink.end();
    await finished;
  }

  /** A complete response with `body` (possibly empty). */
  async send(format: string, summary: Summary, body: Uint8Array): Promise<void> {
    this.begin(format, summary, false);
    await this.write(body);
    await this.end();
  }

  /**
   * Reports an error: with its HTTP status and the exception code header if nothing was sent yet, otherwise appended
   * to the body as `__exception__` block tagged with the response's exception tag (then the response ends).
   */
  async fail(error: ClickHouseHttpError, summary: Summary = {}): Promise<void> {
    const text = `${error.text}\n`;
    if (!this.#sink) {
      if (this.#res.headersSent || this.#res.destroyed) return;
      this.#res.writeHead(httpStatusForCode(error.code), {
        ...this.#commonHeaders(summary),
        'X-ClickHouse-Exception-Code': String(error.code),
        'Content-Type': 'text/plain; charset=UTF-8',
      });
      this.#res.end(text);
      return;
    }
    if (this.#res.destroyed) return;
    const tag = this.#exceptionTag ?? '';
    const block = `\r\n__exception__\r\n${tag}\r\n${text}${Buffer.byteLength(text)} ${tag}\r\n__exception__\r\n`;
    await this.write(Buffer.from(block));
    await this.end();
  }
}
