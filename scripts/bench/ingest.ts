// Ingest benchmarks (issue 4), on the simulator's realistic traffic:
// - throughput of NDJSON batches of 1,000 events through POST /v1/events into the embedded ClickHouse, next to a
//   direct @clickhouse/client insert of the same rows, in the same format (batches of 10,000), into a copy of the
//   events table (ingest alone: the KPI worker is not running); then the same through two API processes at once;
// - acknowledgement latency of single-event posts at a steady 1,000 events/s (after a warm-up at that rate): the
//   ingest path alone, next to its baseline (the same traffic inserted straight into a copy of the events table,
//   coalesced as the writer does; interleaved rounds, medians reported), then with the workers running in their own
//   process beside the API, as in production (once their first recomputation is stored; rounds, medians reported).
// The load (batches and single events) is sent by a process of its own (scripts/bench/ingest-load.ts), as
// integrations are: the API's process does not also pay for the sender.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateEvent } from '../../server/ingest/contract.ts';
import { insertEventRows, toEventRow } from '../../server/ingest/rows.ts';
import { catchUp } from '../../server/kpi/materialize.ts';
import type { BenchResult } from './embedded-clickhouse.ts';
import { freePort } from '../../server/redis/embedded.ts';
import { benchEvents, mergesSettled, percentile, startBenchStack, startPartProcess, type BenchStack, type PartProcess } from './stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function benchIngest(opts: { events: number; latencySeconds: number }): Promise<BenchResult[]> {
  const stack = await startBenchStack();
  let workers: PartProcess | undefined;
  try {

    // Baseline: the same rows, inserted directly.
    const events = benchEvents(opts.events, 'tp');
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
    // Through the API: the same events in NDJSON batches of 1,000, sixteen requests in flight (as from several
    // integrations at once), sent by a process of their own.
    const batchCpu = process.cpuUsage();
    const sent = await runLoad(stack, ['batches', 'tp', String(opts.events), '16']);
    const batchCpuUsPerEvent = cpuMicros(batchCpu) / events.length;
    const apiRate = Number(sent.accepted) / Number(sent.seconds);
    if (Number(sent.accepted) !== events.length) throw new Error(`ingest accepted ${sent.accepted} of ${events.length} events`);

    process.stderr.write(`  API batches: ${Math.round(apiRate)} events/s\n`);
    // Two API processes at once (this one and one more, as behind a load balancer), half the events each, 8 requests
    // in flight each: their inserts take turns under the insert lock (server/ingest/dedupe.ts), and every request
    // must still be answered 202 (runLoad fails otherwise).
    const second = await startPartProcess(stack, { role: 'api', port: await freePort() });
    let pairRate: number;
    try {
      const half = String(Math.floor(opts.events / 2));
      const pair = await Promise.all([
        runLoad(stack, ['batches', 'tp2a', half, '8']),
        runLoad(stack, ['batches', 'tp2b', half, '8'], second.baseUrl!),
      ]);
      pairRate = (Number(pair[0].accepted) + Number(pair[1].accepted)) / Math.max(Number(pair[0].seconds), Number(pair[1].seconds));
    } finally {
      await second.stop();
    }
    process.stderr.write(`  two API processes: ${Math.round(pairRate)} events/s\n`);
    // Latency, each phase from a steady state (the events so far taken by the fan-out, the background merges they
    // left behind settled): the ingest path alone, next to its baseline — the same traffic inserted straight into a
    // copy of the table, coalesced as the writer does, with nothing else (no HTTP, Redis, nor duplicate check) — in
    // interleaved rounds, since this machine's speed drifts over minutes; then as in production, with the workers in
    // their own process beside the API (the KPI worker fans the events out, materialises them and recomputes the
    // snapshots), all on the same two cores.
    const alone: Latency[] = [];
    const direct: Latency[] = [];
    const aloneCpuUsPerRequest: number[] = [];
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      await catchUp(stack.clickhouse, { lookbackDays: stack.config.FCR_LOOKBACK_DAYS });
      await mergesSettled(stack.clickhouse, 120_000);
      const roundCpu = process.cpuUsage();
      alone.push(await singleEventLatency(stack, `lat-alone-${round}`, opts.latencySeconds * 1000));
      aloneCpuUsPerRequest.push(cpuMicros(roundCpu) / (opts.latencySeconds * 1000 + WARM_UP_SECONDS * 1000));
      await mergesSettled(stack.clickhouse, 120_000);
      direct.push(await singleEventLatency(stack, `lat-direct-${round}`, opts.latencySeconds * 1000, `${stack.target.url}/${stack.target.database}`));
      process.stderr.write(`  single events, round ${round + 1}: API p50/p99 ${alone.at(-1)!.p50}/${alone.at(-1)!.p99} ms, direct ${direct.at(-1)!.p50}/${direct.at(-1)!.p99} ms\n`);
    }
    await catchUp(stack.clickhouse, { lookbackDays: stack.config.FCR_LOOKBACK_DAYS });
    await mergesSettled(stack.clickhouse, 120_000);
    workers = await startPartProcess(stack, { role: 'worker' });
    // Rounds here too: one hiccup of the shared machine (a burst of merges, say) fills a single round's 1 %.
    const withWorkers: Latency[] = [];
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      withWorkers.push(await singleEventLatency(stack, `lat-${round}`, opts.latencySeconds * 1000));
      process.stderr.write(`  single events with the workers, round ${round + 1}: p50/p99 ${withWorkers.at(-1)!.p50}/${withWorkers.at(-1)!.p99} ms\n`);
    }

    return [
      { name: 'ingest: direct insert (baseline, batches of 10k)', value: Math.round(directRate), unit: 'events/s' },
      { name: 'ingest: POST /v1/events, NDJSON batches of 1k', value: Math.round(apiRate), unit: 'events/s', note: 'target ≥ 100,000' },
      { name: 'ingest: API ÷ direct', value: Number((apiRate / directRate).toFixed(2)), unit: 'ratio', note: 'target ≥ 0.40' },
      { name: 'ingest: two API processes at once, NDJSON batches of 1k', value: Math.round(pairRate), unit: 'events/s', note: `÷ one process: ${(pairRate / apiRate).toFixed(2)}; inserts take turns, every request 202` },
      { name: 'ingest: API process CPU per event, NDJSON batches', value: Math.round(batchCpuUsPerEvent * 10) / 10, unit: 'µs', note: 'where the API\'s own time goes; the engine, Redis and the sender are other processes' },
      { name: 'ingest: single-event ack p50 @ 1k events/s, ingest alone', value: median(alone.map((l) => l.p50)), unit: 'ms', note: `median of ${LATENCY_ROUNDS} rounds; achieved ${median(alone.map((l) => l.achieved))} req/s, after ${WARM_UP_SECONDS} s of warm-up` },
      { name: 'ingest: single-event ack p99 @ 1k events/s, ingest alone', value: median(alone.map((l) => l.p99)), unit: 'ms', note: `target < 50; rounds ${alone.map((l) => l.p99).join(' / ')}` },
      { name: 'ingest: direct insert ack p50 @ 1k events/s (baseline, coalesced alike)', value: median(direct.map((l) => l.p50)), unit: 'ms', note: `median of ${LATENCY_ROUNDS} rounds, each after the API's` },
      { name: 'ingest: direct insert ack p99 @ 1k events/s (baseline, coalesced alike)', value: median(direct.map((l) => l.p99)), unit: 'ms', note: `rounds ${direct.map((l) => l.p99).join(' / ')}` },
      { name: 'ingest: API process CPU per single-event request', value: Math.round(median(aloneCpuUsPerRequest)), unit: 'µs', note: `median of ${LATENCY_ROUNDS} rounds (warm-up included)` },
      { name: 'ingest: single-event ack p99, ingest alone ÷ direct', value: Number(median(alone.map((l, i) => l.p99 / direct[i]!.p99)).toFixed(2)), unit: 'ratio', note: 'median of the rounds\' ratios' },
      { name: 'ingest: single-event ack p50 @ 1k events/s, with the workers', value: median(withWorkers.map((l) => l.p50)), unit: 'ms', note: `median of ${LATENCY_ROUNDS} rounds; achieved ${median(withWorkers.map((l) => l.achieved))} req/s, after ${WARM_UP_SECONDS} s of warm-up` },
      { name: 'ingest: single-event ack p99 @ 1k events/s, with the workers', value: median(withWorkers.map((l) => l.p99)), unit: 'ms', note: `target < 50; rounds ${withWorkers.map((l) => l.p99).join(' / ')}` },
    ];
  } finally {
    await workers?.stop();
    await stack.close();
  }
}

/** Runs scripts/bench/ingest-load.ts against the stack's API (or `to`) and returns the JSON line it prints. */
async function runLoad(stack: BenchStack, args: string[], to = stack.baseUrl): Promise<Record<string, number>> {
  const [mode, ...rest] = args;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/bench/ingest-load.ts'), mode!, to, ...rest], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the ingest load process failed (exit ${code})`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

/** CPU this process (the API) has used since `since`, in microseconds. */
function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** Interleaved rounds of the single-event latency and its baseline. */
const LATENCY_ROUNDS = 3;

interface Latency {
  p50: number;
  p99: number;
  achieved: number;
}

/** The middle of the rounds' values (an odd number of rounds). */
const median = (values: number[]) => percentile([...values].sort((x, y) => x - y), 50);

/** Seconds at the same rate before latencies are recorded: the sender opens its connections, both sides compile. */
const WARM_UP_SECONDS = 3;

/** One event per request, 1,000 requests a second: acknowledgement latency as the sender sees it, in steady state. */
async function singleEventLatency(stack: BenchStack, seed: string, count: number, directTo?: string): Promise<Latency> {
  const args = [String(count), '1000', String(WARM_UP_SECONDS)];
  const r = directTo ? await runLoad(stack, ['direct', seed, ...args], directTo) : await runLoad(stack, ['singles', seed, ...args]);
  return { p50: r.p50!, p99: r.p99!, achieved: r.achieved! };
}
