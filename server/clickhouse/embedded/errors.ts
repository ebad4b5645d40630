// ClickHouse's error format over HTTP: a `Code: N. DB::Exception: … (TYPE_NAME)` body, the exception code in the
// `X-ClickHouse-Exception-Code` header, and an HTTP status derived from the code — which is what
// `@clickhouse/client` parses into `ClickHouseError { code, type }`.

/** Exception codes this server raises itself (the engine's own errors arrive already formatted). */
export const ErrorCode = {
  BAD_ARGUMENTS: 36,
  SYNTAX_ERROR: 62,
  UNKNOWN_SETTING: 115,
  AUTHENTICATION_FAILED: 516,
  UNKNOWN_COMPRESSION_METHOD: 89,
  ACCESS_DENIED: 497,
  UNKNOWN_EXCEPTION: 1002,
} as const;

const ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** An error to report to the HTTP client in ClickHouse's format. */
export class ClickHouseHttpError extends Error {
  readonly code: number;
  /** The complete `Code: N. DB::Exception: …` text, exactly as the real server writes it. */
  readonly text: string;

  constructor(code: number, message: string, text?: string) {
    super(message);
    this.name = 'ClickHouseHttpError';
    this.code = code;
    this.text = text ?? `Code: ${code}. DB::Exception: ${message}. (${ERROR_NAMES[code] ?? 'UNKNOWN_EXCEPTION'})`;
  }
}

const CODE_PREFIX = /^Code:\s*(\d+)\./;

/**
 * Normalises anything thrown while serving a request. chdb's errors carry the engine's message verbatim (already
 * `Code: N. DB::Exception: …`); a stream error does not set `clickhouseCode`, so the code is read from the text.
 */
export function toClickHouseError(err: unknown): ClickHouseHttpError {
  if (err instanceof ClickHouseHttpError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const match = CODE_PREFIX.exec(message);
  if (match?.[1] !== undefined) return new ClickHouseHttpError(Number(match[1]), message, message);
  return new ClickHouseHttpError(ErrorCode.UNKNOWN_EXCEPTION, message);
}

// ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), code numbers checked
// against this engine's errorCodeToName(); every other code is a 500, as there.
const CODES_BY_STATUS: ReadonlyArray<readonly [status: number, codes: Record<string, number>]> = [
  [401, { REQUIRED_PASSWORD: 194 }],
  [403, { UNKNOWN_USER: 192, WRONG_PASSWORD: 193, AUTHENTICATION_FAILED: 516, SET_NON_GRANTED_ROLE: 512, ACCESS_DENIED: 497 }],
  [
    400,
    {
      BAD_ARGUMENTS: 36, CANNOT_COMPILE_REGEXP: 427, CANNOT_PARSE_TEXT: 6, CANNOT_PARSE_ESCAPE_SEQUENCE: 25,
      CANNOT_PARSE_QUOTED_STRING: 26, CANNOT_PARSE_DATE: 38, CANNOT_PARSE_DATETIME: 41, CANNOT_PARSE_NUMBER: 72,
      CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING: 441, CANNOT_PARSE_IPV4: 675, CANNOT_PARSE_IPV6: 676,
      CANNOT_PARSE_INPUT_ASSERTION_FAILED: 27, CANNOT_PARSE_UUID: 376, DUPLICATE_COLUMN: 15, ILLEGAL_COLUMN: 44,
      UNKNOWN_ELEMENT_IN_AST: 37, UNKNOWN_TYPE_OF_AST_NODE: 123, THERE_IS_NO_COLUMN: 8, TOO_DEEP_AST: 167,
      TOO_BIG_AST: 168, UNEXPECTED_AST_STRUCTURE: 223, SYNTAX_ERROR: 62, INCORRECT_DATA: 117, TYPE_MISMATCH: 53,
      VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE: 321,
    },
  ],
  [
    404,
    {
      UNKNOWN_TABLE: 60, UNKNOWN_FUNCTION: 46, UNKNOWN_IDENTIFIER: 47, UNKNOWN_TYPE: 50, UNKNOWN_STORAGE: 56,
      UNKNOWN_DATABASE: 81, UNKNOWN_SETTING: 115, UNKNOWN_DIRECTION_OF_SORTING: 152, UNKNOWN_AGGREGATE_FUNCTION: 63,
      UNKNOWN_FORMAT: 73, UNKNOWN_DATABASE_ENGINE: 336, UNKNOWN_TYPE_OF_QUERY: 78, UNKNOWN_ROLE: 511,
    },
  ],
  [413, { QUERY_IS_TOO_LARGE: 229 }],
  [501, { NOT_IMPLEMENTED: 48 }],
  [503, { SOCKET_TIMEOUT: 209, CANNOT_OPEN_FILE: 76, CANNOT_SCHEDULE_TASK: 439 }],
  [411, { HTTP_LENGTH_REQUIRED: 381 }],
  [408, { TIMEOUT_EXCEEDED: 159 }],
  [415, { UNSUPPORTED_MEDIA_TYPE: 779 }],
];

const STATUS_BY_CODE = new Map<number, number>(
  CODES_BY_STATUS.flatMap(([status, codes]) => Object.values(codes).map((code) => [code, status] as const)),
);

export function httpStatusForCode(code: number): number {
  return STATUS_BY_CODE.get(code) ?? 500;
}
