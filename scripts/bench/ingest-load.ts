// The load of the ingest latency benchmark, in a process of its own (as integrations are): single-event POSTs at a
// steady rate (a batch of 10 every 10 ms for 1,000/s), then one JSON line on stdout with the acknowledgement latencies.
//   node --import tsx scripts/bench/ingest-load.ts <base url> <seed> <events> <events per second>
//   → {"p50":…,"p99":…,"achieved":…}
import { setTimeout as sleep } from 'node:timers/promises';
import { generateEvents } from '../../server/simulator/index.ts';
import { BENCH_KEYS, percentile, postBody } from './stack.ts';

const [baseUrl, seed, countText, rateText] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText);
if (!baseUrl || !seed || !(count > 0) || !(rate > 0)) {
  process.stderr.write('usage: ingest-load.ts <base url> <seed> <events> <events per second>\n');
  process.exit(2);
}
const singles = generateEvents({ seed, count, agents: 500, duplicateRate: 0, lateRate: 0 });
const latencies: number[] = [];
const pending: Promise<void>[] = [];
const perTick = Math.max(1, Math.round(rate / 100));
const start = performance.now();
for (let i = 0; i < singles.length; i += perTick) {
  const wait = start + (i * 1000) / rate - performance.now();
  if (wait > 0) await sleep(wait);
  for (const event of singles.slice(i, i + perTick)) {
    const sent = performance.now();
    const headers = { authorization: `Bearer ${BENCH_KEYS[event.source]}`, 'content-type': 'application/json' };
    pending.push(
      postBody(`${baseUrl}/v1/events`, JSON.stringify(event), headers).then((res) => {
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body}`);
        latencies.push(performance.now() - sent);
      }),
    );
  }
}
await Promise.all(pending);
const achieved = Math.round(singles.length / ((performance.now() - start) / 1000));
latencies.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ p50: Number(percentile(latencies, 50).toFixed(1)), p99: Number(percentile(latencies, 99).toFixed(1)), achieved })}\n`);
