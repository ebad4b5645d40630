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

  it('a released migration is never edited: installations that applied it refuse a changed checksum at start-up', async () => {
    // A new migration adds its line here. An edit to a listed file (even to a comment) breaks every installation
    // that applied it: change the schema with a new file instead.
    const released: Record<string, string> = {
      '001_events.sql': '6d1affa95a6db27bafece524cd992fe603509d48d0d9bf57e94d788e334bcd8c',
      '002_access.sql': '530b497aceb9c4bd9809c6a5b753e2fdb5529bfe9ab90dc54650c7f7f7259bd7',
      '003_ingest.sql': '68fce62759957ba8fabc5d0d8e263ce0bbc236e13a8fd77258944f225d849020',
      '004_kpi_rollups.sql': '002afaa6ee1ab333c27c3755e89f6be47cc390d8829a94faf9e1e1197791e8a9',
      '005_analyst_views.sql': '04a3c6b7ccb8cd601a7c0cc8b74e6be7cb149ee0794d34036b54d4507097fca1',
      '006_thresholds_alerts.sql': 'ef7f82581682d3e5a859e0e927a254d849994590569f0d4e4f6f506e440765c7',
      '007_boards.sql': '568d218452243620319c96b903ab4171d2c40b2b1f37e53054167a218de941a2',
      '008_fanout.sql': '1fdfd99aba2f88932922b36b61745eba5b47322b87aba50dac9c1b1ac73993b2',
      '009_ingest_check.sql': '03683464c65771d4f35d805eb7907fba6cd0d8b542ceb29106308afb56a24531',
      '010_waiting_transfers.sql': 'd5bafcf7d3757b3fdf05fc9f9ad8e0f30a0878c51994ebe402710eb073a5e895',
      '011_agent_roster.sql': '88f1e3c53f7b9c155368317e651ac7c3b48b8c9080a4c9bf40dd87c5d3156bb3',
      '012_floor_messages.sql': 'fd6e718cb42268b881ab2cae2eca3cefb9f78d5f181473bd5d38e33c7f77c952',
      '013_agent_state_cutoff.sql': 'e56f9543dac35551667db24492bd3a1cffbc74b19ea34f0306eaef3a8844a459',
      '014_customer_contacts.sql': '18414cfd02fa74ac9bc98b861b957ebdc0fd0d439585927101f7904562edc3b4',
      '015_waiting_lookback.sql': '66e91eb67e52948d43f1be5d1be7d004792c84164589d2f9a9c2a884d3d673da',
      '016_measure_settings.sql': '9b7bb9e7e7bfc00a650dcaa0ead55793d938a21d560af220708b99671f7e9c9d',
      '017_views_until_now.sql': 'd72f890958a9bc6cbe4fde372707f5d3c521e16b11a6f055c146d56856df2428',
      '018_alerts_current_ack_race.sql': '5e3b32b655db231a222e059514257f5b8b5634f1313866190b16ef8469ad7409',
      '019_threshold_min_count.sql': 'ae5d1147c55bd00625d0a978ac46b2e658b2209177b6d5f5c3a29412f0891da4',
      '020_rejected_key_id.sql': '0270a4fff910ef2a2e93b1471767720f0ba3fbc128d8de05a1eb8a80320f7c42',
      '021_center_time_zone.sql': 'd97424a4e08cd972fd0eeef56d37b27a5679afe266c1f6d0eda41d6b8cb22bcd',
      '022_durable_inserts.sql': '765d021d0649073218add20eb864f2b206b8eb59cf0afe0148e9ec932b4a0b19',
    };
    const ms = await readMigrations(SQL_DIR);
    expect(Object.fromEntries(ms.map((m) => [m.file, m.checksum]))).toEqual(released);
  });
});
