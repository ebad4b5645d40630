import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { migrate, readMigrations, SQL_DIR } from '../../server/clickhouse/migrate.ts';
import { readMeasureSettings } from '../../server/kpi/settings.ts';
import { testConfig } from '../support/context.ts';

const config = testConfig();
const target = { url: config.CLICKHOUSE_URL!, database: config.CLICKHOUSE_DATABASE, username: 'default', password: '' };
const client = createClickHouse(target);
const tmp: string[] = [];

afterAll(async () => {
  await client.command({ query: 'DROP DATABASE IF EXISTS {db:Identifier}', query_params: { db: target.database } });
  await client.close();
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

async function sqlDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-mig-'));
  tmp.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** A directory holding the project's migrations of the versions `pick` picks (an installation at that point). */
async function projectMigrations(pick: (version: number) => boolean): Promise<string> {
  const released = (await readMigrations()).filter((m) => pick(m.version));
  return sqlDir(Object.fromEntries(await Promise.all(released.map(async (m) => [m.file, await readFile(path.join(SQL_DIR, m.file), 'utf8')] as const))));
}

describe('migrations against ClickHouse', () => {
  it('creates the database, applies every file once and records it', async () => {
    const first = await migrate(target);
    const all = await readMigrations();
    expect(first.applied).toEqual(all.map((m) => m.file));
    const second = await migrate(target);
    expect(second.applied).toEqual([]);

    const rs = await client.query({ query: 'SELECT version, name FROM schema_migrations FINAL ORDER BY version', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual(all.map((m) => ({ version: m.version, name: m.name })));
    const tables = await client.query({
      query: "SELECT name FROM system.tables WHERE database = {db:String} AND name = 'events'",
      query_params: { db: target.database },
      format: 'JSONEachRow',
    });
    expect(await tables.json()).toEqual([{ name: 'events' }]);
  });

  it('every table but scratch fsyncs its inserts and keeps a merge\'s old parts (022): confirmed means on disk', async () => {
    await migrate(target);
    const rs = await client.query({
      query: `SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree' ORDER BY name`,
      query_params: { db: target.database },
      format: 'JSONEachRow',
    });
    const tables = await rs.json<{ name: string; engine_full: string }>();
    expect(tables.length).toBeGreaterThan(20);
    const scratch = ['kpi_rebuild_interactions', 'schema_migrations'];
    const lax = tables.filter((t) => !scratch.includes(t.name) && !['fsync_after_insert = 1', 'fsync_part_directory = 1', 'old_parts_lifetime = 480'].every((s) => t.engine_full.includes(s)));
    // a table added later must say these settings in its CREATE
    expect(lax.map((t) => t.name)).toEqual([]);
  });

  it('fails loudly on a bad statement, naming the file and statement', async () => {
    const own = { ...target, database: `${target.database}_bad` };
    const dir = await sqlDir({ '001_ok.sql': 'CREATE TABLE IF NOT EXISTS ok (x UInt8) ENGINE = Memory;', '002_bad.sql': 'CREATE TABLE broken (;' });
    const console_ = (['error', 'warn', 'info', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {}));
    try {
      await expect(migrate(own, () => {}, dir)).rejects.toThrow(/002_bad.sql, statement 1: .*Syntax error/s);
      // said once, by the error above: no dump of the ClickHouse client's on the console beside it (npm run migrate)
      for (const spy of console_) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of console_) spy.mockRestore();
    }
    // the good file before it stays applied; the bad one is not recorded, so a fixed file applies next time
    await writeFile(path.join(dir, '002_bad.sql'), 'CREATE TABLE IF NOT EXISTS fixed (x UInt8) ENGINE = Memory;');
    expect((await migrate(own, () => {}, dir)).applied).toEqual(['002_bad.sql']);
    await client.command({ query: 'DROP DATABASE {db:Identifier}', query_params: { db: own.database } });
  });

  it('011 upgrades an installation with agents: their states are kept (reason and name empty), new states carry both', async () => {
    const own = { ...target, database: `${target.database}_roster` };
    await migrate(own, () => {}, await projectMigrations((v) => v <= 10));
    const db = createClickHouse(own);
    try {
      // an agent.state fanned out before the upgrade, the way the KPI worker does (into events_fanout)
      const fanOut = (id: string, at: string, state: string, reason: string, name = '') =>
        db.command({
          query: `INSERT INTO events_fanout (source, id, type, occurred_at, received_at, agent_id, team, state, reason, attributes)
                  VALUES ('acd', {id:String}, 'agent.state', {at:DateTime64(3)}, {at:DateTime64(3)}, 'old-1', 'red', {state:String}, {reason:String},
                          if({name:String} = '', map(), map('agentName', {name:String})))`,
          query_params: { id, at, state, reason, name },
        });
      await fanOut('s1', '2026-11-24 08:00:00.000', 'aux', 'lunch', 'Ada L.');
      // 011 alone (later migrations are not what this test is about: 013 would also read these states against the clock)
      expect((await migrate(own, () => {}, await projectMigrations((v) => v <= 11))).applied).toEqual(['011_agent_roster.sql']);
      const now = async () =>
        (await db.query({ query: 'SELECT agent_id, agent_name, state, reason, toString(since) AS since FROM kpi_agent_states_now', format: 'JSONEachRow' })).json();
      // the reason and the name were not kept before 011: empty until the agent's next state
      expect(await now()).toEqual([{ agent_id: 'old-1', agent_name: '', state: 'aux', reason: '', since: '2026-11-24 08:00:00.000' }]);
      await fanOut('s2', '2026-11-24 09:00:00.000', 'aux', 'training', 'Ada L.');
      expect(await now()).toEqual([{ agent_id: 'old-1', agent_name: 'Ada L.', state: 'aux', reason: 'training', since: '2026-11-24 09:00:00.000' }]);
      // a later state without a reason or a name has neither (the latest event's, not the latest non-empty ones)
      await fanOut('s3', '2026-11-24 09:30:00.000', 'available', '');
      expect(await now()).toEqual([{ agent_id: 'old-1', agent_name: '', state: 'available', reason: '', since: '2026-11-24 09:30:00.000' }]);
    } finally {
      await db.close();
      await client.command({ query: 'DROP DATABASE {db:Identifier}', query_params: { db: own.database } });
    }
  });

  it('013 upgrades an installation with agents: one silent for 12 h or more reads offline in kpi_agent_states_now', async () => {
    const own = { ...target, database: `${target.database}_cutoff` };
    await migrate(own, () => {}, await projectMigrations((v) => v <= 11));
    const db = createClickHouse(own);
    try {
      const at = (agoMs: number) => new Date(Date.now() - agoMs).toISOString().replace('T', ' ').replace('Z', '');
      const fanOut = (id: string, agent: string, agoMs: number, state: string) =>
        db.command({
          query: `INSERT INTO events_fanout (source, id, type, occurred_at, received_at, agent_id, team, state)
                  VALUES ('acd', {id:String}, 'agent.state', {at:DateTime64(3)}, {at:DateTime64(3)}, {agent:String}, 'red', {state:String})`,
          query_params: { id, agent, at: at(agoMs), state },
        });
      await fanOut('s1', 'ghost', 13 * 3_600_000, 'available'); // 13 h ago: an hour past the default cutoff
      await fanOut('s2', 'here', 3_600_000, 'busy');
      const states = async () =>
        (await db.query({ query: 'SELECT * FROM kpi_agent_states_now ORDER BY agent_id', format: 'JSONEachRow' })).json<Record<string, unknown>>();
      expect((await states()).map((r) => [r.agent_id, r.state])).toEqual([['ghost', 'available'], ['here', 'busy']]);
      expect((await migrate(own, () => {}, await projectMigrations((v) => v <= 11 || v === 13))).applied).toEqual(['013_agent_state_cutoff.sql']);
      // the columns of before, in their order, then reported_state and expired
      const after = await states();
      expect(Object.keys(after[0]!)).toEqual(['agent_id', 'state', 'team', 'queue', 'channel', 'since', 'reason', 'agent_name', 'reported_state', 'expired']);
      expect(after.map((r) => [r.agent_id, r.state, r.reported_state, r.expired])).toEqual([
        ['ghost', 'offline', 'available', 1],
        ['here', 'busy', 'busy', 0],
      ]);
    } finally {
      await db.close();
      await client.command({ query: 'DROP DATABASE {db:Identifier}', query_params: { db: own.database } });
    }
  });

  it('014 upgrades an installation with contacts: a customer named on other events than the offer is listed too, marked not an interaction', async () => {
    const own = { ...target, database: `${target.database}_customers` };
    await migrate(own, () => {}, await projectMigrations((v) => v <= 13));
    const db = createClickHouse(own);
    try {
      const fanOut = (id: string, type: string, contact: string, at: string, customer: string) =>
        db.command({
          query: `INSERT INTO events_fanout (source, id, type, occurred_at, received_at, contact_id, customer_id)
                  VALUES ('acd', {id:String}, {type:String}, {at:DateTime64(3)}, {at:DateTime64(3)}, {contact:String}, {customer:String})`,
          query_params: { id, type, contact, at, customer },
        });
      // before 014: an offer naming the customer, and an outbound call named on its answer only
      await fanOut('e1', 'contact.offered', 'in-1', '2026-11-24 08:00:00.000', 'cu-1');
      await fanOut('e2', 'contact.answered', 'out-1', '2026-11-24 09:00:00.000', 'cu-1');
      const rows = async () =>
        (await db.query({ query: 'SELECT id, contact_id, interaction FROM kpi_customer_events FINAL ORDER BY id', format: 'JSONEachRow' })).json();
      expect(await (await db.query({ query: 'SELECT id FROM kpi_customer_events', format: 'JSONEachRow' })).json()).toEqual([{ id: 'e1' }]);
      expect((await migrate(own, () => {}, await projectMigrations((v) => v <= 14))).applied).toEqual(['014_customer_contacts.sql']);
      // the answer, copied from kpi_contact_events; the offer stays one row, an interaction
      expect(await rows()).toEqual([{ id: 'e1', contact_id: 'in-1', interaction: 1 }, { id: 'e2', contact_id: 'out-1', interaction: 0 }]);
      // and from now on the fan-out lists both kinds
      await fanOut('e3', 'ticket.created', 't-1', '2026-11-24 10:00:00.000', 'cu-1');
      await fanOut('e4', 'survey.response', 't-1', '2026-11-24 10:30:00.000', 'cu-1');
      expect((await rows()).slice(2)).toEqual([{ id: 'e3', contact_id: 't-1', interaction: 1 }, { id: 'e4', contact_id: 't-1', interaction: 0 }]);
    } finally {
      await db.close();
      await client.command({ query: 'DROP DATABASE {db:Identifier}', query_params: { db: own.database } });
    }
  });

  it('016 records that an installation with measures has them from definition 1, so its worker rebuilds them; a new one records nothing', async () => {
    for (const withMeasures of [false, true]) {
      const own = { ...target, database: `${target.database}_measures_${Number(withMeasures)}` };
      await migrate(own, () => {}, await projectMigrations((v) => v <= 15));
      const db = createClickHouse(own);
      try {
        if (withMeasures) {
          await db.command({ query: `INSERT INTO kpi_measures (at, contact_id, source, event_id, kind) VALUES ('2026-11-24 08:00:00.000', 'c-1', 'acd', 'e1', 'offer')` });
        }
        expect((await migrate(own, () => {}, await projectMigrations((v) => v <= 16))).applied).toEqual(['016_measure_settings.sql']);
        expect(await readMeasureSettings(db)).toEqual(withMeasures ? { fcrLookbackDays: 0, definition: 1 } : null);
      } finally {
        await db.close();
        await client.command({ query: 'DROP DATABASE {db:Identifier}', query_params: { db: own.database } });
      }
    }
  });

  it('refuses a file that was edited after it was applied', async () => {
    const own = { ...target, database: `${target.database}_edit` };
    const dir = await sqlDir({ '001_a.sql': 'CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory;' });
    await migrate(own, () => {}, dir);
    await writeFile(path.join(dir, '001_a.sql'), 'CREATE TABLE IF NOT EXISTS a (x UInt16) ENGINE = Memory;');
    await expect(migrate(own, () => {}, dir)).rejects.toThrow(/001_a.sql was changed after it was applied/);
    await client.command({ query: 'DROP DATABASE {db:Identifier}', query_params: { db: own.database } });
  });
});
