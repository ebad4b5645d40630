// The request body as the engine needs it: decompressed (Content-Encoding gzip/deflate/br), as a stream or whole.
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ClickHouseHttpError, ErrorCode } from './errors.ts';

export function decodedBody(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return req;
  const decompressor =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  if (decompressor === undefined) {
    throw new ClickHouseHttpError(ErrorCode.UNKNOWN_COMPRESSION_METHOD, `Unknown HTTP Content-Encoding: ${encoding}`);
  }
  // pipeline() forwards a corrupt-input error to the decompressor, where the consumer sees it.
  return pipeline(req, decompressor, () => {});
}

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
