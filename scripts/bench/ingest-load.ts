// The load of the ingest benchmarks, in a process of its own (as integrations are), so the API's process does not
// also pay for the sender. Events are the simulator's, deterministic by seed (the bench builds the same ones for its
// direct-insert baselines). Prints one JSON line on stdout.
//   node --import tsx scripts/bench/ingest-load.ts singles <base url> <seed> <events> <events per second> [warm-up s]
//     single-event POSTs at a steady rate (a batch of 10 every 10 ms for 1,000/s) → {"p50":…,"p99":…,"achieved":…};
//     the first seconds at that rate warm up (connections opened, code compiled) and are not measured
//   node --import tsx scripts/bench/ingest-load.ts direct <clickhouse url>/<database> <seed> <events> <events per second> [warm-up s]
//     the latency baseline: the same events arriving at the same rate, inserted straight into `events_direct` with the
//     ingest writer's coalescing (an idle writer inserts at once, events arriving meanwhile go in the next insert), and
//     no HTTP, no Redis, no duplicate check (each event is still validated and made a row) → the same JSON line,
//     latency from arrival to the insert's confirmation
//   node --import tsx scripts/bench/ingest-load.ts batches <base url> <seed> <events> <requests in flight>
//     NDJSON bodies of 1,000 events, each of one source → {"accepted":…,"seconds":…}
// BENCH_TIMELINE=1: singles and direct also print, on stderr, the latencies of each second's events (p50, p99, max),
// to see whether a tail is spread out or comes in bursts (and when).
import { setTimeout as sleep } from 'node:timers/promises';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { validateEvent, type IngestEvent } from '../../server/ingest/contract.ts';
import { insertEventRows, toEventRow, type EventRow } from '../../server/ingest/rows.ts';
import { BENCH_KEYS, benchEvents, percentile, postBody } from './stack.ts';

const [mode, baseUrl, seed, countText, paceText, warmUpText = '0'] = process.argv.slice(2);
const count = Number(countText);
const pace = Number(paceText);
const warmUpSeconds = Number(warmUpText);
if ((mode !== 'singles' && mode !== 'direct' && mode !== 'batches') || !baseUrl || !seed || !(count > 0) || !(pace > 0) || !(warmUpSeconds >= 0)) {
  process.stderr.write('usage: ingest-load.ts singles|direct|batches <base url> <seed> <events> <events per second | requests in flight> [warm-up seconds]\n');
  process.exit(2);
}

const warmUp = mode !== 'batches' ? Math.round(warmUpSeconds * pace) : 0;
const events = benchEvents(warmUp + count, seed);
const url = `${baseUrl}/v1/events`;
const auth = (source: IngestEvent['source']) => `Bearer ${BENCH_KEYS[source]}`;

/**
 * Hands the events over at a steady `pace` (a batch of pace/100 every 10 ms); `send` resolves when the event is
 * acknowledged. Prints the latency percentiles of all but the warm-up events, and the rate achieved.
 */
async function paced(send: (event: IngestEvent) => Promise<void>): Promise<void> {
  const latencies: number[] = [];
  /** Measured latencies by the second they were sent in (BENCH_TIMELINE). */
  const bySecond: number[][] = [];
  const pending: Promise<void>[] = [];
  const perTick = Math.max(1, Math.round(pace / 100));
  const start = performance.now();
  for (let i = 0; i < events.length; i += perTick) {
    const wait = start + (i * 1000) / pace - performance.now();
    if (wait > 0) await sleep(wait);
    events.slice(i, i + perTick).forEach((event, k) => {
      const sent = performance.now();
      const measured = i + k >= warmUp;
      pending.push(
        send(event).then(() => {
          if (!measured) return;
          const ms = performance.now() - sent;
          latencies.push(ms);
          (bySecond[Math.floor((sent - start) / 1000)] ??= []).push(ms);
        }),
      );
    });
  }
  await Promise.all(pending);
  const achieved = Math.round(events.length / ((performance.now() - start) / 1000));
  latencies.sort((a, b) => a - b);
  if (process.env.BENCH_TIMELINE === '1') {
    bySecond.forEach((list, second) => {
      list.sort((a, b) => a - b);
      process.stderr.write(`    ${mode} second ${second}: p50 ${percentile(list, 50).toFixed(0)} p99 ${percentile(list, 99).toFixed(0)} max ${list.at(-1)!.toFixed(0)} ms (${list.length})\n`);
    });
  }
  process.stdout.write(`${JSON.stringify({ p50: Number(percentile(latencies, 50).toFixed(1)), p99: Number(percentile(latencies, 99).toFixed(1)), achieved })}\n`);
}

if (mode === 'singles') {
  await paced(async (event) => {
    const res = await postBody(url, JSON.stringify(event), { authorization: auth(event.source), 'content-type': 'application/json' });
    if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body}`);
  });
} else if (mode === 'direct') {
  const target = new URL(baseUrl);
  const clickhouse = createClickHouse({ url: target.origin, database: target.pathname.slice(1), username: decodeURIComponent(target.username) || 'default', password: decodeURIComponent(target.password) });
  const queued: Array<{ row: EventRow; done: () => void }> = [];
  let inserting = false;
  const insertQueued = async (): Promise<void> => {
    inserting = true;
    while (queued.length > 0) {
      const batch = queued.splice(0);
      await insertEventRows(clickhouse, 'events_direct', batch.map((q) => q.row));
      for (const q of batch) q.done();
    }
    inserting = false;
  };
  await paced((event) => {
    const now = Date.now();
    const v = validateEvent(event, { now, retentionDays: 400 });
    if (!v.ok) throw new Error(`bench event invalid: ${JSON.stringify(v.errors)}`);
    const acked = new Promise<void>((resolve) => queued.push({ row: toEventRow(v.event, now), done: resolve }));
    if (!inserting) void insertQueued();
    return acked;
  });
  await clickhouse.close();
} else {
  const bodies: Array<{ source: IngestEvent['source']; body: string }> = [];
  for (const source of Object.keys(BENCH_KEYS) as Array<IngestEvent['source']>) {
    const mine = events.filter((e) => e.source === source);
    for (let i = 0; i < mine.length; i += 1_000) bodies.push({ source, body: mine.slice(i, i + 1_000).map((e) => JSON.stringify(e)).join('\n') });
  }
  let next = 0;
  let accepted = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: pace }, async () => {
      while (next < bodies.length) {
        const { source, body } = bodies[next++]!;
        const res = await postBody(url, body, { authorization: auth(source), 'content-type': 'application/x-ndjson' });
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body}`);
        accepted += (JSON.parse(res.body) as { accepted: number }).accepted;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ accepted, seconds: (performance.now() - start) / 1000 })}\n`);
}
