// Ingest benchmarks (issue 4):
// - throughput of NDJSON batches of 1,000 events through POST /v1/events into the embedded ClickHouse, next to a
//   direct @clickhouse/client insert of the same rows (batches of 10,000) into a copy of the events table;
// - acknowledgement latency of single-event posts at a steady 1,000 events/s.
import { setTimeout as sleep } from 'node:timers/promises';
import { validateEvent, type IngestEvent } from '../../server/ingest/contract.ts';
import { toEventRow } from '../../server/ingest/rows.ts';
import type { BenchResult } from './embedded-clickhouse.ts';
import { BENCH_KEYS, percentile, startBenchStack } from './stack.ts';

function makeEvents(n: number, tag: string): IngestEvent[] {
  const queues = ['billing', 'support', 'sales'];
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const occurredAt = new Date(now - 3_600_000 + (i % 3_600_000)).toISOString();
    const base = { id: `${tag}-${i}`, source: 'acd' as const, occurredAt, contactId: `c-${tag}-${i >> 2}`, queue: queues[i % 3]! };
    return i % 4 === 0
      ? { ...base, type: 'contact.offered' as const, channel: 'voice' as const }
      : i % 4 === 1
        ? { ...base, type: 'contact.answered' as const, agentId: `a${i % 50}` }
        : i % 4 === 2
          ? { ...base, type: 'contact.ended' as const, agentId: `a${i % 50}`, talkMs: 180_000, holdMs: 5_000, acwMs: 30_000 }
          : { ...base, type: 'contact.abandoned' as const };
  });
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
  try {
    const auth = { authorization: `Bearer ${BENCH_KEYS.acd}` };

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
      await stack.clickhouse.insert({ table: 'events_direct', values: rows.slice(i, i + 10_000), format: 'JSONEachRow' });
    }
    const directRate = rows.length / ((performance.now() - t0) / 1000);

    process.stderr.write(`  direct insert: ${Math.round(directRate)} events/s\n`);
    // Through the API: NDJSON batches of 1,000, four requests in flight.
    const bodies: string[] = [];
    for (let i = 0; i < events.length; i += 1_000) bodies.push(events.slice(i, i + 1_000).map((e) => JSON.stringify(e)).join('\n'));
    t0 = performance.now();
    let accepted = 0;
    await runPool(bodies, 4, async (body) => {
      const res = await fetch(`${stack.baseUrl}/v1/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      accepted += ((await res.json()) as { accepted: number }).accepted;
    });
    const apiRate = accepted / ((performance.now() - t0) / 1000);

    process.stderr.write(`  API batches: ${Math.round(apiRate)} events/s\n`);
    // Latency: one event per request, 1,000 requests a second (a batch of 10 every 10 ms), for latencySeconds.
    const singles = makeEvents(opts.latencySeconds * 1000, 'lat').map((e) => JSON.stringify(e));
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < singles.length; i += 10) {
      const due = start + (i / 1000) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      for (const body of singles.slice(i, i + 10)) {
        const sent = performance.now();
        pending.push(
          fetch(`${stack.baseUrl}/v1/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body }).then(async (res) => {
            await res.arrayBuffer();
            if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
            latencies.push(performance.now() - sent);
          }),
        );
      }
    }
    await Promise.all(pending);
    const achieved = singles.length / ((performance.now() - start) / 1000);
    latencies.sort((a, b) => a - b);

    return [
      { name: 'ingest: direct insert (baseline, batches of 10k)', value: Math.round(directRate), unit: 'events/s' },
      { name: 'ingest: POST /v1/events, NDJSON batches of 1k', value: Math.round(apiRate), unit: 'events/s', note: 'target ≥ 100,000' },
      { name: 'ingest: API ÷ direct', value: Number((apiRate / directRate).toFixed(2)), unit: 'ratio', note: 'target ≥ 0.40' },
      { name: 'ingest: single-event ack p50 @ 1k events/s', value: Number(percentile(latencies, 50).toFixed(1)), unit: 'ms', note: `achieved ${Math.round(achieved)} req/s` },
      { name: 'ingest: single-event ack p99 @ 1k events/s', value: Number(percentile(latencies, 99).toFixed(1)), unit: 'ms', note: 'target < 50' },
    ];
  } finally {
    await stack.close();
  }
}
