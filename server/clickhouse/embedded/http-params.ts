// The URL parameters of ClickHouse's HTTP interface: the query, its default database and format, its id, bound
// parameters (`param_<name>`), and everything else as an engine setting.
import { ClickHouseHttpError, ErrorCode } from './errors.ts';
import { isEngineSetting } from './settings.ts';
import { isPlainName } from './sql-text.ts';

export interface RequestParams {
  /** The query (or its beginning, the rest being the body), from the `query` parameter. */
  query: string | undefined;
  database: string | undefined;
  defaultFormat: string | undefined;
  queryId: string | undefined;
  /** Bound query parameters by name (without the `param_` prefix), in ClickHouse's text form. */
  params: Map<string, string>;
  /** Engine settings, HTTP-only ones already removed. */
  settings: Map<string, string>;
  /** `enable_http_compression=1`: compress the response if the client accepts it. */
  compressResponse: boolean;
  /** `http_zlib_compression_level` (1–9), when given. */
  compressionLevel: number | undefined;
}

export function parseRequestParams(search: URLSearchParams): RequestParams {
  const out: RequestParams = {
    query: search.get('query') ?? undefined,
    database: search.get('database') || undefined,
    defaultFormat: search.get('default_format') || undefined,
    queryId: search.get('query_id') || undefined,
    params: new Map(),
    settings: new Map(),
    compressResponse: search.get('enable_http_compression') === '1',
    compressionLevel: undefined,
  };
  const level = Number(search.get('http_zlib_compression_level'));
  if (Number.isInteger(level) && level >= 1 && level <= 9) out.compressionLevel = level;
  for (const [name, value] of search) {
    if (name.startsWith('param_')) addParam(out, name.slice('param_'.length), value);
    else if (isEngineSetting(name)) {
      if (!isPlainName(name)) throw new ClickHouseHttpError(ErrorCode.UNKNOWN_SETTING, `Unknown setting '${name}'`);
      out.settings.set(name, value);
    }
  }
  return out;
}

export function addParam(out: RequestParams, name: string, value: string): void {
  if (!isPlainName(name)) throw new ClickHouseHttpError(ErrorCode.BAD_ARGUMENTS, `Invalid query parameter name '${name}'`);
  out.params.set(name, value);
}

/**
 * The parts of a `multipart/form-data` body, as `@clickhouse/client` sends them when query parameters are too long
 * for the URL (`query` and `param_<name>` parts; external-table parts are not supported).
 */
export function parseMultipart(body: Buffer, contentType: string): Map<string, string> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const delimiter = boundary?.[1] ?? boundary?.[2];
  if (delimiter === undefined) throw new ClickHouseHttpError(ErrorCode.BAD_ARGUMENTS, 'multipart/form-data without a boundary');
  const parts = new Map<string, string>();
  for (const part of body.toString('utf8').split(`--${delimiter}`)) {
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const name = /name="([^"]*)"/i.exec(part.slice(0, headerEnd))?.[1];
    if (name === undefined) continue;
    parts.set(name, part.slice(headerEnd + 4).replace(/\r\n$/, ''));
  }
  return parts;
}
