// The bytes of an ingest body as text: UTF-8 unless its Content-Type names another charset (ISO-8859-1, windows-1252,
// … as the WHATWG encodings know them; a UTF-8 byte-order mark is dropped), sent as is or compressed with gzip or
// deflate (Content-Encoding; deflate with or without its zlib header, as clients send both). An unknown charset or
// another encoding is refused (415) before anything is read into events; a compressed body larger than
// INGEST_MAX_BYTES once decompressed is refused (413), as a plain one is.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ApiError } from '../errors.ts';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

/** deflate as RFC 9110 means it (zlib-wrapped), or the raw deflate many clients send under that name. */
async function inflateEither(bytes: Buffer, opts: zlib.ZlibOptions): Promise<Buffer> {
  try {
    return await inflate(bytes, opts);
  } catch (err) {
    if ((err as { code?: string }).code !== 'Z_DATA_ERROR') throw err;
    return inflateRaw(bytes, opts);
  }
}

/** The text of a body, or why its bytes could not be read (kept in rejected_events as `raw`: base64, shortened). */
export type BodyText = { text: string } | { unreadable: string; raw: string };

/** A decoder for the charset, or null for one no WHATWG encoding is called (cached: a few senders use a few). */
const decoders = new Map<string, TextDecoder | null>();
function decoderFor(charset: string): TextDecoder | null {
  if (!decoders.has(charset)) {
    let d: TextDecoder | null = null;
    try {
      d = new TextDecoder(charset);
    } catch {
      // not an encoding: refused
    }
    if (decoders.size < 64) decoders.set(charset, d);
    else return d;
  }
  return decoders.get(charset)!;
}

/** The charset parameter of a Content-Type, lower-cased; undefined without one. */
function charsetOf(contentType: string): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m?.[1]?.toLowerCase();
}

export async function bodyText(bytes: Buffer, headers: { 'content-type'?: string; 'content-encoding'?: string }, maxBytes: number): Promise<BodyText> {
  const charset = charsetOf(headers['content-type'] ?? '');
  const decoder = charset === undefined ? null : decoderFor(charset);
  if (charset !== undefined && decoder === null) {
    throw new ApiError(415, 'unsupported_charset', `charset ${JSON.stringify(charset)} is not an encoding known here: send the body in UTF-8`);
  }
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  let plain = bytes;
  if (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate') {
    try {
      plain = await (encoding === 'deflate' ? inflateEither : gunzip)(bytes, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new ApiError(413, 'body_too_large', `the body is larger than ${maxBytes} bytes (INGEST_MAX_BYTES) once decompressed: split the events over several requests`);
      }
      const raw = `(${encoding} body of ${bytes.length} bytes, base64) ${bytes.subarray(0, 48 * 1024).toString('base64')}`;
      return { unreadable: `the body is not valid ${encoding}: ${(err as Error).message}`, raw };
    }
  } else if (encoding !== '' && encoding !== 'identity') {
    throw new ApiError(415, 'unsupported_encoding', `Content-Encoding ${JSON.stringify(encoding)} is not taken here: send the body as is, or compressed with gzip or deflate`);
  }
  // (TextDecoder drops a leading byte-order mark of its own encoding)
  const text = decoder && decoder.encoding !== 'utf-8' ? decoder.decode(plain) : plain.toString('utf8');
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}
