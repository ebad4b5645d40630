// Live-stream benchmark (issue 6): event-to-screen latency at a steady rate of single-event POSTs, with 1, 100 and
// 1,000 connected sockets. The API runs in this process (with the load generator, as the other benches), the worker
// in its own (`server/main.ts --only=worker`), the screens in a third (scripts/bench/live-clients.ts), each subscribed
// to today's center figures.
// Events go as POSTs of 10 every 10 ms (a steady 1,000 events/s without 1,000 HTTP requests a second: the ingest
// bench measures those). Latency of event k = when a sampled screen received the first snapshot whose `offered` count reaches k − when the
// POST of the k-th event was acknowledged (epoch ms, high resolution, comparable across the two processes). Up to 21
// screens per run are sampled, spread over the connection order (the last one connected is always among them: it is
// served last in a fan-out).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { kpiRedisNames } from '../../server/kpi/snapshots.ts';
import { createRedis } from '../../server/redis/connections.ts';
import type { BenchResult } from './embedded-clickhouse.ts';
import { BENCH_KEYS, percentile, startBenchStack, startPartProcess, type BenchStack } from './stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_PASSWORD = 'bench-admin-password-0123';
const epoch = () => performance.timeOrigin + performance.now();

const BATCH = 10;

async function post(stack: BenchStack, event: unknown): Promise<void> {
  const res = await fetch(`${stack.baseUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_KEYS.acd}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
}

interface Crowd {
  baseline: number;
  /** per sampled socket: [offered, epoch ms] in arrival order */
  seen: Map<number, Array<[number, number]>>;
  stop(): void;
}

async function startCrowd(wsUrl: string, token: string, sockets: number): Promise<Crowd> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/live-clients.ts', wsUrl, token, String(sockets)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = new Map<number, Array<[number, number]>>();
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the screens exited early (${code})`)));
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { ready?: boolean; baseline?: number; s?: number; v?: number; t?: number };
      if (m.ready) return resolve(m.baseline!);
      const list = seen.get(m.s!) ?? [];
      list.push([m.v!, m.t!]);
      seen.set(m.s!, list);
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const baseline = await ready.finally(() => clearTimeout(timer));
  return { baseline, seen, stop: () => child.kill('SIGKILL') };
}

export async function benchLive(opts: { rate: number; seconds: number; sockets: number[] }): Promise<BenchResult[]> {
  // the crowd is one person's sockets (one sign-in), far past the cap a credential gets in production
  const stack = await startBenchStack({ ADMIN_PASSWORD, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error', STREAM_MAX_SOCKETS_PER_CREDENTIAL: '100000' });
  // The workers in a process of their own, as `npm run worker` runs them in production (one core each on 2 cores).
  const workers = await startPartProcess(stack, { role: 'worker' });
  const results: BenchResult[] = [];
  try {
    const login = await stack.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    const token = login.json<{ token: string }>().token;
    const wsUrl = `${stack.baseUrl.replace('http', 'ws')}/v1/stream`;
    let seq = 0;
    for (const n of opts.sockets) {
      await sleep(1500); // let the previous run's last recomputation land
      const crowd = await startCrowd(wsUrl, token, n);
      const total = opts.rate * opts.seconds;
      // The publications of the center's figures, seen from here at the same time as the API processes see them.
      const published = new Map<number, number>();
      const sub = createRedis(stack.redisUrl, 'subscriber');
      await sub.subscribe(kpiRedisNames(stack.config.REDIS_PREFIX).snapshotsChannel);
      sub.on('message', (_c: string, raw: string) => {
        const t = epoch();
        const m = JSON.parse(raw) as { snapshots: Array<{ window: string; scope: string; values: { offered?: { value: number } } }> };
        const center = m.snapshots.find((x) => x.window === 'today' && x.scope === 'center');
        const v = center?.values.offered?.value;
        if (v !== undefined && !published.has(v)) published.set(v, t);
      });
      // A steady rate: a POST of BATCH events every BATCH/rate seconds (100 POSTs of 10 at 1,000 events/s).
      const acked: number[] = [];
      const start = performance.now();
      const pending: Promise<void>[] = [];
      const failures: string[] = [];
      for (let i = 0; i < total; i += BATCH) {
        const due = start + (i * 1000) / opts.rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        const events = Array.from({ length: Math.min(BATCH, total - i) }, () => {
          seq++;
          return { id: `live-${seq}`, source: 'acd', type: 'contact.offered', occurredAt: new Date().toISOString(), contactId: `live-c-${seq}`, queue: 'sales', channel: 'chat' };
        });
        pending.push(post(stack, events).then(() => {
          const t = epoch();
          for (let j = 0; j < events.length; j++) acked.push(t);
        }, (err: Error) => void failures.push(err.message)));
      }
      await Promise.all(pending);
      const achieved = total / ((performance.now() - start) / 1000);
      if (failures.length > 0) process.stderr.write(`  ${failures.length} POSTs failed (e.g. ${failures[0]}): is the machine overloaded?\n`);
      // The snapshot that counts k events covers the first k acknowledged ones.
      const ackTimes = acked.sort((a, b) => a - b);
      const stored = ackTimes.length;
      const done = () => [...crowd.seen.values()].every((l) => (l.at(-1)?.[0] ?? 0) - crowd.baseline >= stored);
      for (let i = 0; i < 100 && !done(); i++) await sleep(100);
      crowd.stop();
      await sub.quit();

      const latencies: number[] = [];
      const fanout: number[] = [];
      let missing = 0;
      for (const list of crowd.seen.values()) {
        let counted = 0;
        for (const [v, t] of list) {
          const p = published.get(v);
          if (p !== undefined) fanout.push(Math.max(0, t - p));
          const upTo = Math.min(v - crowd.baseline, stored);
          for (; counted < upTo; counted++) latencies.push(Math.max(0, t - ackTimes[counted]!));
        }
        missing += stored - counted;
      }
      latencies.sort((a, b) => a - b);
      // The KPI pipeline's share: acknowledgement → publication on Redis.
      const pipeline: number[] = [];
      let counted = 0;
      for (const [v, t] of [...published.entries()].sort((a, b) => a[0] - b[0])) {
        for (; counted < Math.min(v - crowd.baseline, stored); counted++) pipeline.push(Math.max(0, t - ackTimes[counted]!));
      }
      pipeline.sort((a, b) => a - b);
      const hub = stack.app.liveHub.stats();
      const note = `${crowd.seen.size} screens sampled, ${Math.round(achieved)} events/s achieved${failures.length ? `, ${failures.length} POSTs failed` : ''}${missing ? `, ${missing} (event, screen) pairs never seen` : ''}${hub.dropped ? `, ${hub.dropped} sockets dropped` : ''}`;
      results.push(
        { name: `live: event → screen p50 @ ${opts.rate} events/s, ${n} socket${n === 1 ? '' : 's'}`, value: Math.round(percentile(latencies, 50)), unit: 'ms', note: `${note}; target < 250` },
        { name: `live: event → screen p99 @ ${opts.rate} events/s, ${n} socket${n === 1 ? '' : 's'}`, value: Math.round(percentile(latencies, 99)), unit: 'ms', note: 'target < 1000' },
        { name: `live: event → publication p50/p99 (KPI pipeline), ${n} socket${n === 1 ? '' : 's'}`, value: Math.round(percentile(pipeline, 50)), unit: 'ms', note: `p99 ${Math.round(percentile(pipeline, 99))} ms` },
        { name: `live: publication → screen p50/p99, ${n} socket${n === 1 ? '' : 's'}`, value: Math.round(percentile(fanout.sort((a, b) => a - b), 50)), unit: 'ms', note: `p99 ${Math.round(percentile(fanout, 99))} ms: the stream's own share (Redis → hub → socket)` },
      );
      process.stderr.write(`  ${n} sockets: p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms (${note})\n`);
      // wait for the server to notice the screens left
      for (let i = 0; i < 50 && stack.app.liveHub.size > 0; i++) await sleep(100);
    }
    return results;
  } finally {
    await workers.stop();
    await stack.close();
  }
}

// Run alone: npx tsx scripts/bench/live.ts [seconds]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seconds = Number(process.argv[2] ?? 10);
  const rows = await benchLive({ rate: 1000, seconds, sockets: [1, 100, 1000] });
  for (const r of rows) console.log(`| ${r.name} | ${r.value} | ${r.unit} | ${r.note ?? ''} |`);
  process.exit(0);
}
