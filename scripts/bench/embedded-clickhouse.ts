// Insert throughput of the embedded ClickHouse: @clickhouse/client → our HTTP server → chdb, against the same rows
// inserted directly into chdb in-process (serialised to JSONEachRow and raw-inserted, as the client serialises too).
//   tsx scripts/bench/embedded-clickhouse.ts [rows]
import { createClient } from '@clickhouse/client';
import { Session } from 'chdb';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnEmbeddedClickHouse } from '../../server/clickhouse/embedded/spawn.ts';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const BATCH = 100_000;
const TABLE_DDL = `CREATE TABLE events (
  id String,
  ts DateTime64(3, 'UTC'),
  queue LowCardinality(String),
  type LowCardinality(String),
  agent String,
  value UInt32
) ENGINE = MergeTree ORDER BY (queue, ts)`;

interface EventRow {
  id: string;
  ts: string;
  queue: string;
  type: string;
  agent: string;
  value: number;
}

const TYPES = ['offered', 'answered', 'abandoned', 'transferred', 'wrapup'];
const START_MS = Date.UTC(2026, 0, 1);

function makeBatches(rows: number): EventRow[][] {
  const batches: EventRow[][] = [];
  for (let start = 0; start < rows; start += BATCH) {
    const batch: EventRow[] = [];
    for (let i = start; i < Math.min(rows, start + BATCH); i++) {
      batch.push({
        id: `ev-${i}`,
        ts: new Date(START_MS + i * 37).toISOString().replace('T', ' ').replace('Z', ''),
        queue: `queue-${i % 20}`,
        type: TYPES[i % TYPES.length] ?? 'offered',
        agent: `agent-${i % 500}`,
        value: i % 1000,
      });
    }
    batches.push(batch);
  }
  return batches;
}

async function viaServer(dataDir: string, batches: EventRow[][]): Promise<number> {
  const server = await spawnEmbeddedClickHouse({ dataDir });
  const client = createClient({ url: server.url });
  try {
    await client.command({ query: TABLE_DDL });
    const started = performance.now();
    for (const values of batches) await client.insert({ table: 'events', values, format: 'JSONEachRow' });
    const seconds = (performance.now() - started) / 1000;
    const rs = await client.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' });
    const [row] = await rs.json<{ n: string }>();
    if (Number(row?.n) !== batches.flat().length) throw new Error(`server stored ${row?.n} rows`);
    return seconds;
  } finally {
    await client.close();
    await server.stop();
  }
}

async function direct(dataDir: string, batches: EventRow[][]): Promise<number> {
  const session = new Session(dataDir, { connectionArgs: ['--async_insert=0'] });
  try {
    await session.queryAsync(TABLE_DDL);
    const started = performance.now();
    for (const batch of batches) {
      const values = Buffer.from(`${batch.map((r) => JSON.stringify(r)).join('\n')}\n`);
      await session.insert({ table: 'events', values, format: 'JSONEachRow' });
    }
    return (performance.now() - started) / 1000;
  } finally {
    session.close();
  }
}

export async function benchEmbeddedClickHouse(opts: { rows: number } = { rows: 1_000_000 }): Promise<BenchResult[]> {
  const batches = makeBatches(opts.rows);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nabiz-bench-ch-'));
  try {
    const serverSeconds = await viaServer(path.join(dir, 'server'), batches);
    const directSeconds = await direct(path.join(dir, 'direct'), batches);
    const serverRate = opts.rows / serverSeconds;
    const directRate = opts.rows / directSeconds;
    const note = `${opts.rows} rows in batches of ${BATCH}`;
    return [
      { name: 'embedded ClickHouse insert via @clickhouse/client', value: Math.round(serverRate), unit: 'rows/s', note },
      { name: 'direct in-process chdb insert (baseline)', value: Math.round(directRate), unit: 'rows/s', note },
      { name: 'server / direct throughput', value: Number((serverRate / directRate).toFixed(2)), unit: 'ratio' },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  if (!Number.isInteger(rows) || rows <= 0) {
    console.error(`usage: tsx scripts/bench/embedded-clickhouse.ts [rows]  (got '${process.argv[2]}')`);
    process.exit(2);
  }
  console.table(await benchEmbeddedClickHouse({ rows }));
}
