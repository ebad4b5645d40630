// The little SQL this server has to understand without a parser: literals and identifiers it writes itself, the
// leading keyword of a statement, its FORMAT clause, and the target of an `INSERT … FORMAT` whose rows follow.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isPlainName(name: string): boolean {
  return NAME.test(name);
}

/** A ClickHouse string literal whose value is exactly `value` (backslash escapes, so NUL cannot truncate the SQL). */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

/** Skips whitespace and comments (`-- …`, `# …`, `/* … *\/`) from the start of `sql`. */
function skipTrivia(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql.charAt(i))) i++;
    if (sql.startsWith('--', i) || sql.startsWith('#', i)) {
      const end = sql.indexOf('\n', i);
      if (end < 0) return sql.length;
      i = end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return sql.length;
      i = end + 2;
    } else {
      return i;
    }
  }
}

/**
 * Statements whose result is rows to stream to the client; everything else (DDL, INSERT, SET …) runs buffered. EXPLAIN
 * is buffered too: the engine refuses to stream it, and its result is small.
 */
const ROW_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESC', 'DESCRIBE', 'EXISTS', 'VALUES', '(']);

export function returnsRows(sql: string): boolean {
  const rest = sql.slice(skipTrivia(sql));
  const keyword = rest.startsWith('(') ? '(' : (/^[A-Za-z]+/.exec(rest)?.[0] ?? '').toUpperCase();
  return ROW_STATEMENTS.has(keyword);
}

export function isBlank(sql: string): boolean {
  return skipTrivia(sql) >= sql.length;
}

/** The output format named by a trailing `FORMAT <name>` clause, if any. */
export function trailingFormat(sql: string): string | undefined {
  return /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql)?.[1];
}

/** The formats chdb's raw (Buffer) insert accepts; the first four can also be stream-inserted line by line. */
const RAW_INSERT_FORMATS = ['JSONEachRow', 'JSONCompactEachRow', 'TSV', 'TabSeparated', 'CSV', 'CSVWithNames', 'TSVWithNames', 'TabSeparatedWithNames'] as const;
export type RawInsertFormat = (typeof RAW_INSERT_FORMATS)[number];
const LINE_DELIMITED_FORMATS = ['JSONEachRow', 'JSONCompactEachRow', 'TSV', 'TabSeparated'] as const;
export type StreamInsertFormat = (typeof LINE_DELIMITED_FORMATS)[number];

/** Formats that escape raw newlines, so a newline always ends a row and the rows can be inserted in chunks. */
export function isLineDelimited(format: RawInsertFormat): format is StreamInsertFormat {
  return (LINE_DELIMITED_FORMATS as readonly string[]).includes(format);
}

export interface InsertTarget {
  /** `table` or `database.table`, plain names only. */
  table: string;
  columns: string[] | undefined;
  format: RawInsertFormat;
  /** Offset in the text where the rows begin (after the format name, blanks and one line break). */
  dataOffset: number;
}

const IDENT = '(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)';
const INSERT_FORMAT = new RegExp(
  `^\\s*INSERT\\s+INTO\\s+(?:TABLE\\s+)?(${IDENT}(?:\\.${IDENT})?)\\s*(?:\\(([^()]*)\\)\\s*)?FORMAT\\s+([A-Za-z0-9_]+)`,
  'i',
);

/** Removes the backticks around a name, or returns undefined when the name is not a plain one. */
function plainName(identifier: string): string | undefined {
  const name = identifier.trim().replace(/^`(.*)`$/, '$1');
  return isPlainName(name) ? name : undefined;
}

/**
 * Recognises `INSERT INTO [TABLE] [db.]table [(c1, c2, …)] FORMAT <raw format>` at the start of `text`, the shape
 * `@clickhouse/client` and most tools send. Anything else (SETTINGS, SELECT, quoted names with odd characters, other
 * formats) yields undefined and runs as ordinary SQL with the data appended — slower, but ClickHouse's own parsing.
 */
export function parseInsertTarget(text: string): InsertTarget | undefined {
  const match = INSERT_FORMAT.exec(text);
  if (!match?.[1] || !match[3]) return undefined;
  const format = RAW_INSERT_FORMATS.find((f) => f === match[3]);
  if (format === undefined) return undefined;
  const parts = match[1].match(new RegExp(IDENT, 'g')) ?? [];
  const tableParts = parts.map(plainName);
  if (tableParts.some((p) => p === undefined)) return undefined;
  let columns: string[] | undefined;
  if (match[2] !== undefined) {
    const names = match[2].split(',').map(plainName);
    if (names.some((n) => n === undefined)) return undefined;
    columns = names as string[];
  }
  let dataOffset = match[0].length;
  while (text[dataOffset] === ' ' || text[dataOffset] === '\t') dataOffset++;
  if (text[dataOffset] === '\r') dataOffset++;
  if (text[dataOffset] === '\n') dataOffset++;
  return { table: tableParts.join('.'), columns, format, dataOffset };
}
