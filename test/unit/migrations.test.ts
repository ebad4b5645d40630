import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readMigrations, splitStatements, SQL_DIR } from '../../server/clickhouse/migrate.ts';

const dirs: string[] = [];
async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-sql-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('migration files', () => {
  it('splits at semicolons that end a line and drops comment-only pieces', () => {
    const sql = "-- header\nCREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory;\n\n-- only a comment;\nSELECT 1;";
    expect(splitStatements(sql)).toEqual(["-- header\nCREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory", 'SELECT 1']);
  });

  it('reads files in version order with checksums', async () => {
    const dir = await dirWith({ '002_b.sql': 'SELECT 2;', '001_a.sql': 'SELECT 1;' });
    const ms = await readMigrations(dir);
    expect(ms.map((m) => [m.version, m.name, m.statements])).toEqual([
      [1, 'a', ['SELECT 1']],
      [2, 'b', ['SELECT 2']],
    ]);
    expect(ms[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a badly named file, a reused version and an empty file', async () => {
    await expect(readMigrations(await dirWith({ 'events.sql': 'SELECT 1;' }))).rejects.toThrow(/events.sql: migration files must be named/);
    await expect(readMigrations(await dirWith({ '001_a.sql': 'SELECT 1;', '001_b.sql': 'SELECT 1;' }))).rejects.toThrow(
      /001_b.sql: version 001 is also used by 001_a.sql/,
    );
    await expect(readMigrations(await dirWith({ '001_a.sql': '-- nothing\n' }))).rejects.toThrow(/001_a.sql: no SQL statement/);
  });

  it("the project's own migrations are well formed", async () => {
    const ms = await readMigrations(SQL_DIR);
    expect(ms.length).toBeGreaterThan(0);
    expect(ms.map((m) => m.version)).toEqual(ms.map((_, i) => i + 1));
  });
});
