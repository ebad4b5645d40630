// Ingest benchmarks (issue 4), on the simulator's realistic traffic:
// - throughput of NDJSON batches of 1,000 events through POST /v1/events into the embedded ClickHouse, next to a
//   direct @clickhouse/client insert of the same rows, in the same format (batches of 10,000), into a copy of the
//   events table (ingest alone: the KPI worker is not running);
// - acknowledgement latency of single-event posts at a steady 1,000 events/s: the ingest path alone, then with the
//   workers running in their own process beside the API, as in production. The single events are sent by a process
//   of their own (scripts/bench/ingest-load.ts).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateEvent, type IngestEvent } from '../../server/ingest/contract.ts';
import { generateEvents } from '../../server/simulator/index.ts';
import { insertEventRows, toEventRow } from '../../server/ingest/rows.ts';
import { catchUp } from '../../server/kpi/materialize.ts';
import type { BenchResult } from './embedded-clickhouse.ts';
import { BENCH_KEYS, postBody, startBenchStack, startWorkerProcess, type BenchStack, type WorkerProcess } from './stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Realistic traffic from the simulator (all three sources), deterministic by seed, with no duplicates. */
function makeEvents(n: number, seed: string): IngestEvent[] {
  return generateEvents({ seed, count: n, agents: 500, duplicateRate: 0, lateRate: 0 });
}

/** NDJSON bodies of at most `size` events, each of one source (a key sends its own source only). */
function bodiesBySource(events: IngestEvent[], size: number): Array<{ source: keyof typeof BENCH_KEYS; body: string; count: number }> {
  const out: Array<{ source: keyof typeof BENCH_KEYS; body: string; count: number }> = [];
  for (const source of Object.keys(BENCH_KEYS) as Array<keyof typeof BENCH_KEYS>) {
    const mine = events.filter((e) => e.source === source);
    for (let i = 0; i < mine.length; i += size) {
      const chunk = mine.slice(i, i + size);
      out.push({ source, body: chunk.map((e) => JSON.stringify(e)).join('\n'), count: chunk.length });
    }
  }
  return out;
}

async function runPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function benchIngest(opts: { events: number; latencySeconds: number }): Promise<BenchResult[]> {
  const stack = await startBenchStack();
  let workers: WorkerProcess | undefined;
  try {

    // Baseline: the same rows, inserted directly.
    const events = makeEvents(opts.events, 'tp');
    await stack.clickhouse.command({ query: 'CREATE TABLE events_direct AS events' });
    const now = Date.now();
    const rows = events.map((e) => {
      const v = validateEvent(e, { now, retentionDays: 400 });
      if (!v.ok) throw new Error(`bench event invalid: ${JSON.stringify(v.errors)}`);
      return toEventRow(v.event, now);
    });
    let t0 = performance.now();
    for (let i = 0; i < rows.length; i += 10_000) {
      await insertEventRows(stack.clickhouse, 'events_direct', rows.slice(i, i + 10_000));
    }
    const directRate = rows.length / ((performance.now() - t0) / 1000);

    process.stderr.write(`  direct insert: ${Math.round(directRate)} events/s\n`);
    // Through the API: NDJSON batches of 1,000, sixteen requests in flight (as from several integrations at once).
    const bodies = bodiesBySource(events, 1_000);
    t0 = performance.now();
    let accepted = 0;
    await runPool(bodies, 16, async ({ source, body }) => {
      const res = await postBody(`${stack.baseUrl}/v1/events`, body, { authorization: `Bearer ${BENCH_KEYS[source]}`, 'content-type': 'application/x-ndjson' });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body}`);
      accepted += (JSON.parse(res.body) as { accepted: number }).accepted;
    });
    const apiRate = accepted / ((performance.now() - t0) / 1000);

    process.stderr.write(`  API batches: ${Math.round(apiRate)} events/s\n`);
    // Latency, twice, each from a steady state (the events so far taken by the fan-out): the ingest path alone, then
    // as in production, with the workers in their own process beside the API (the KPI worker fans the events out,
    // materialises them and recomputes the snapshots), all on the same two cores.
    await catchUp(stack.clickhouse, { lookbackDays: stack.config.FCR_LOOKBACK_DAYS });
    const alone = await singleEventLatency(stack, 'lat-alone', opts.latencySeconds * 1000);
    await catchUp(stack.clickhouse, { lookbackDays: stack.config.FCR_LOOKBACK_DAYS });
    workers = await startWorkerProcess(stack);
    const withWorkers = await singleEventLatency(stack, 'lat', opts.latencySeconds * 1000);

    return [
      { name: 'ingest: direct insert (baseline, batches of 10k)', value: Math.round(directRate), unit: 'events/s' },
      { name: 'ingest: POST /v1/events, NDJSON batches of 1k', value: Math.round(apiRate), unit: 'events/s', note: 'target ≥ 100,000' },
      { name: 'ingest: API ÷ direct', value: Number((apiRate / directRate).toFixed(2)), unit: 'ratio', note: 'target ≥ 0.40' },
      { name: 'ingest: single-event ack p50 @ 1k events/s, ingest alone', value: alone.p50, unit: 'ms', note: `achieved ${alone.achieved} req/s` },
      { name: 'ingest: single-event ack p99 @ 1k events/s, ingest alone', value: alone.p99, unit: 'ms', note: 'target < 50' },
      { name: 'ingest: single-event ack p50 @ 1k events/s, with the workers', value: withWorkers.p50, unit: 'ms', note: `achieved ${withWorkers.achieved} req/s` },
      { name: 'ingest: single-event ack p99 @ 1k events/s, with the workers', value: withWorkers.p99, unit: 'ms', note: 'target < 50' },
    ];
  } finally {
    await workers?.stop();
    await stack.close();
  }
}

/**
 * One event per request, 1,000 requests a second, sent by a process of its own (scripts/bench/ingest-load.ts), as
 * integrations are: acknowledgement latency as the sender sees it, without the sender sharing the API's event loop.
 */
async function singleEventLatency(stack: BenchStack, seed: string, count: number): Promise<{ p50: number; p99: number; achieved: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/bench/ingest-load.ts'), stack.baseUrl, seed, String(count), '1000'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the ingest load process failed (exit ${code})`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { p50: number; p99: number; achieved: number };
}
