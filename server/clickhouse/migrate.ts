// Numbered SQL migrations: sql/NNN_name.sql, applied in order, each recorded (with a checksum) in
// `schema_migrations`. Re-running is a no-op; a changed or malformed file stops the process loudly.
import { createClickHouse, type ClickHouseTarget } from './client.ts';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

const FILE_RE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  file: string;
  checksum: string;
  statements: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Splits a file into statements at semicolons that end a line; `--` comment lines are kept with their statement. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

export async function readMigrations(dir = SQL_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const seen = new Map<number, string>();
  const out: Migration[] = [];
  for (const file of files) {
    const m = FILE_RE.exec(file);
    if (!m) throw new MigrationError(`${file}: migration files must be named NNN_lowercase_name.sql`);
    const version = Number(m[1]);
    const clash = seen.get(version);
    if (clash) throw new MigrationError(`${file}: version ${m[1]} is also used by ${clash}`);
    seen.set(version, file);
    const text = await readFile(path.join(dir, file), 'utf8');
    const statements = splitStatements(text);
    if (statements.length === 0) throw new MigrationError(`${file}: no SQL statement found`);
    out.push({
      version,
      name: m[2]!,
      file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements,
    });
  }
  return out;
}

/**
 * Creates the target database if needed and applies every migration not yet recorded. The files use unqualified
 * table names: they run with the target database as their current database.
 */
export async function migrate(
  target: ClickHouseTarget,
  log: (msg: string) => void = () => {},
  dir = SQL_DIR,
): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(dir);
  const bootstrap = createClickHouse({ ...target, database: 'default' });
  try {
    await bootstrap.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: target.database } });
  } finally {
    await bootstrap.close();
  }
  const client = createClickHouse(target);
  try {
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS schema_migrations (
        version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
    });
    const rs = await client.query({
      query: 'SELECT version, any(name) AS name, any(checksum) AS checksum FROM schema_migrations GROUP BY version',
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ version: number; name: string; checksum: string }>();
    const done = new Map(rows.map((r) => [Number(r.version), r]));

    const applied: string[] = [];
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new MigrationError(
            `${m.file} was changed after it was applied (checksum ${prior.checksum.slice(0, 12)} → ${m.checksum.slice(0, 12)}); ` +
              'add a new migration instead of editing an applied one',
          );
        }
        continue;
      }
      for (const [i, statement] of m.statements.entries()) {
        try {
          await client.command({ query: statement });
        } catch (err) {
          throw new MigrationError(`${m.file}, statement ${i + 1}: ${(err as Error).message}`);
        }
      }
      await client.insert({
        table: 'schema_migrations',
        values: [{ version: m.version, name: m.name, checksum: m.checksum }],
        format: 'JSONEachRow',
      });
      log(`applied migration ${m.file}`);
      applied.push(m.file);
    }
    return { applied };
  } finally {
    await client.close();
  }
}
