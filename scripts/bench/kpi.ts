// KPI benchmarks (issue 5):
// - at growing history sizes (it should stay flat, since windows read rollups, not history): the time to compute every
//   snapshot of every active scope for one recomputation (from the worker's in-memory rollup), next to the same
//   snapshots computed by queries on ClickHouse (the baseline); and the whole recomputation (materialise what
//   arrived, move the rollup, compute, store and publish);
// - event-to-snapshot latency: single events posted at a steady rate, from the acknowledgement of a POST to the
//   publication on Redis of the first snapshot that counts it.
// History is generated inside ClickHouse (INSERT … SELECT FROM numbers(), through the same materialized views),
// spread over the 90 days before today, so "today" holds only what the latency phase sends.
import type { ClickHouseClient } from '@clickhouse/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClickHouse } from '../../server/clickhouse/client.ts';
import { createLogger } from '../../server/log.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { rebuildMeasures } from '../../server/kpi/materialize.ts';
import { computeSnapshots } from '../../server/kpi/compute.ts';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { startKpiWorker } from '../../server/kpi/pipeline.ts';
import type { BenchResult } from './embedded-clickhouse.ts';
import { BENCH_KEYS, mergesSettled, percentile, postBody, startBenchStack, startPartProcess, type BenchStack, type PartProcess } from './stack.ts';

const CHUNK = 250_000;

/** Appends `count` historical events (3 per contact: offered, answered|abandoned, ended|ivr) numbered from `from`. */
async function addHistory(bulk: ClickHouseClient, from: number, count: number): Promise<void> {
  for (let start = from; start < from + count; start += CHUNK) {
    const n = Math.min(CHUNK, from + count - start);
    await bulk.command({
      query: `
        INSERT INTO events (source, id, type, occurred_at, received_at, contact_id, queue, team, channel, agent_id,
                            customer_id, talk_ms, hold_ms, acw_ms, resolved, outcome)
        WITH intDiv(number, 3) AS c, number % 3 AS k, c % 5 = 0 AS lost,
             multiIf(k = 0, 'contact.offered', k = 1 AND lost, 'contact.abandoned', k = 1, 'contact.answered',
                     lost, 'ivr.ended', 'contact.ended') AS t,
             toDateTime64(toStartOfDay(now(), 'UTC'), 3, 'UTC') - toIntervalSecond(1 + (c * 7919) % (89 * 86400)) + toIntervalSecond(k * 40) AS at
        SELECT if(t = 'ivr.ended', 'ivr', 'acd'), concat('hist-', toString(number)), t, at, at,
               concat('hc-', toString(c)), ['billing', 'support', 'sales'][c % 3 + 1], ['red', 'blue'][c % 2 + 1],
               'voice', if(t IN ('contact.answered', 'contact.ended'), concat('a', toString(c % 200)), ''),
               concat('cust-', toString(c % 50000)),
               if(t = 'contact.ended', 180000, NULL), if(t = 'contact.ended', 5000, NULL), if(t = 'contact.ended', 30000, NULL),
               if(t = 'contact.ended', c % 3 != 0, NULL), if(t = 'ivr.ended', 'contained', '')
        FROM numbers({start:UInt64}, {n:UInt64})`,
      query_params: { start, n },
    });
  }
}

async function post(stack: BenchStack, events: unknown[]): Promise<void> {
  const res = await postBody(`${stack.baseUrl}/v1/events`, JSON.stringify(events), {
    authorization: `Bearer ${BENCH_KEYS.acd}`,
    'content-type': 'application/json',
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body}`);
}

export async function benchKpi(opts: { sizes: number[]; rate: number; latencySeconds: number }): Promise<BenchResult[]> {
  const stack = await startBenchStack();
  const results: BenchResult[] = [];
  const total = opts.rate * opts.latencySeconds;
  // Bulk loading and rebuilding take minutes at 10M events: their own client, without the 30 s request timeout.
  const log = createLogger(stack.config);
  const bulk = createClickHouse(stack.target, { requestTimeoutMs: 30 * 60_000, log });
  // Recomputations are timed on a worker in this process, without its schedulers (no pass runs during the bulk loads);
  // the latency phase runs the workers in their own process, as in production.
  const worker = await startKpiWorker({ config: stack.config, log, clickhouse: bulk, redisUrl: stack.redisUrl, schedulers: false });
  let workers: PartProcess | undefined;
  try {
    // 1. One recomputation at each history size.
    let stored = 0;
    for (const size of opts.sizes) {
      await addHistory(bulk, stored, size - stored);
      stored = size;
      const backfill = await rebuildMeasures(bulk, { lookbackDays: stack.config.FCR_LOOKBACK_DAYS });
      process.stderr.write(`  ${size.toLocaleString('en-US')} events stored, measures rebuilt in ${Math.round(backfill.elapsedMs)} ms\n`);
      await worker.recomputeNow('bench warm-up');
      // today gets a little traffic, so the recomputation has something to materialise
      const now = Date.now();
      const times: number[] = [];
      const snapshots: number[] = [];
      const computeOnly: number[] = [];
      for (let i = 0; i < 5; i++) {
        await post(stack, Array.from({ length: 200 }, (_, j) => ({
          id: `r-${size}-${i}-${j}`, source: 'acd', type: 'contact.offered', occurredAt: new Date(now - 1000 * j).toISOString(),
          contactId: `rc-${size}-${i}-${j}`, queue: 'billing', channel: 'voice',
        })));
        const r = await worker.recomputeNow('bench');
        times.push(r.materializeMs + r.computeMs);
        snapshots.push(r.snapshotsMs);
        const t0 = performance.now();
        await computeSnapshots(stack.clickhouse, { now: Date.now(), tz: 'UTC', waitingLookbackHours: stack.config.WAITING_LOOKBACK_HOURS });
        computeOnly.push(performance.now() - t0);
      }
      for (const a of [times, snapshots, computeOnly]) a.sort((x, y) => x - y);
      const at = size.toLocaleString('en-US');
      const fromMemory = percentile(snapshots, 50);
      const fromQueries = percentile(computeOnly, 50);
      results.push(
        { name: `kpi: snapshots of one recomputation at ${at} events (median of 5)`, value: Number(fromMemory.toFixed(1)), unit: 'ms', note: 'target < 50 at 10M' },
        { name: `kpi: … the same from ClickHouse queries (baseline)`, value: Math.round(fromQueries), unit: 'ms', note: `rollup ÷ queries ${(fromMemory / fromQueries).toFixed(3)}` },
        { name: `kpi: whole recomputation at ${at} events (200 new)`, value: Math.round(percentile(times, 50)), unit: 'ms', note: 'pass + rollup + snapshots + Redis' },
      );
    }

    await worker.close();
    // Steady state: the bulk load and rebuild leave minutes of background merges behind them; the latency phase
    // measures a center at 1,000 events/s with this history, not one still digesting a 10M-row backfill.
    const settled = await mergesSettled(bulk, 300_000);
    process.stderr.write(`  background merges settled in ${Math.round(settled)} ms\n`);
    workers = await startPartProcess(stack, { role: 'worker' });

    // 2. Event-to-snapshot latency at a steady rate: single contact.offered events; the center's `offered` today
    //    counts them, so the first published snapshot whose count reaches k covers the k-th event.
    const sub = createRedis(stack.redisUrl, 'subscriber');
    const names = kpiRedisNames(stack.config.REDIS_PREFIX);
    const acked: number[] = [];
    const seen: number[] = [];
    let baseline: number | null = null;
    await sub.subscribe(names.snapshotsChannel);
    sub.on('message', (_channel, raw) => {
      const msg = JSON.parse(raw) as { snapshots: { window: string; scope: string; values: { offered: { value: number } } }[] };
      const center = msg.snapshots.find((s) => s.window === 'today' && s.scope === 'center');
      if (!center || baseline === null) return;
      const k = Math.min(center.values.offered.value - baseline, total);
      const t = performance.now();
      for (let i = seen.length; i < k; i++) seen.push(t);
    });
    const before = await computeSnapshots(stack.clickhouse, { now: Date.now(), tz: 'UTC', waitingLookbackHours: 24, scopes: ['center'] });
    baseline = before.find((s) => s.window === 'today')?.values.offered.value ?? 0;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / opts.rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const event = { id: `lat-${i}`, source: 'acd', type: 'contact.offered', occurredAt: new Date().toISOString(), contactId: `lat-c-${i}`, queue: 'sales', channel: 'chat' };
      pending.push(post(stack, [event]).then(() => void (acked[i] = performance.now())));
    }
    await Promise.all(pending);
    for (let i = 0; i < 50 && seen.length < total; i++) await sleep(100);
    await sub.quit();
    // The k-th publication count covers the first k events committed, which are the first k acknowledged (a pass
    // takes blocks in commit order), not the first k sent: acknowledgements come back out of order under load. So the
    // k-th acknowledgement is paired with the first publication counting k (as the live bench does). A snapshot may
    // be published before the client has read its POST's answer: that counts as no delay.
    const ackTimes = [...acked].sort((a, b) => a - b);
    const latencies = seen.map((t, k) => Math.max(0, t - ackTimes[k]!)).sort((a, b) => a - b);
    results.push(
      { name: `kpi: event → snapshot p50 @ ${opts.rate} events/s`, value: Math.round(percentile(latencies, 50)), unit: 'ms', note: `${seen.length}/${total} events seen` },
      { name: `kpi: event → snapshot p99 @ ${opts.rate} events/s`, value: Math.round(percentile(latencies, 99)), unit: 'ms', note: 'target < 500' },
    );
    return results;
  } finally {
    await worker.close();
    await workers?.stop();
    await bulk.close();
    await stack.close();
  }
}
