// npm run bench: every benchmark, printed as one table. Figures that depend on the machine are reported next to a
// baseline measured in the same run (the ratio is the figure to compare across machines).
//   npm run bench                    all of them
//   npm run bench -- --only=ingest   one group (clickhouse, ingest, kpi, wallboard)
//   sizes: --rows=1000000 --events=200000 --latency-seconds=10 --wallboard-minutes=10 --kpi-sizes=10000,1000000,10000000 --rate=1000
import { parseArgs } from 'node:util';
import { benchEmbeddedClickHouse, type BenchResult } from './bench/embedded-clickhouse.ts';
import { benchIngest } from './bench/ingest.ts';
import { benchWallboard } from './bench/wallboard.ts';
import { benchKpi } from './bench/kpi.ts';
import { benchLive } from './bench/live.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rows: { type: 'string', default: '1000000' },
    events: { type: 'string', default: '200000' },
    'latency-seconds': { type: 'string', default: '10' },
    'wallboard-minutes': { type: 'string', default: '10' },
    'kpi-sizes': { type: 'string', default: '10000,1000000,10000000' },
    rate: { type: 'string', default: '1000' },
  },
});

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: --${name}=${value} is invalid: expected a positive integer`);
    process.exit(2);
  }
  return n;
}

const groups: Record<string, () => Promise<BenchResult[]>> = {
  clickhouse: () => benchEmbeddedClickHouse({ rows: positive('rows', values.rows!) }),
  ingest: () => benchIngest({ events: positive('events', values.events!), latencySeconds: positive('latency-seconds', values['latency-seconds']!) }),
  wallboard: () => benchWallboard({ minutes: positive('wallboard-minutes', values['wallboard-minutes']!) }),
  live: () => benchLive({ rate: positive('rate', values.rate!), seconds: positive('latency-seconds', values['latency-seconds']!), sockets: [1, 100, 1000] }),
  kpi: () =>
    benchKpi({
      sizes: values['kpi-sizes']!.split(',').map((v) => positive('kpi-sizes', v)),
      rate: positive('rate', values.rate!),
      latencySeconds: positive('latency-seconds', values['latency-seconds']!),
    }),
};

if (values.only !== undefined && !(values.only in groups)) {
  console.error(`bench: --only=${values.only} is invalid: expected one of ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}

const results: BenchResult[] = [];
for (const [name, run] of Object.entries(groups)) {
  if (values.only !== undefined && values.only !== name) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    results.push(...(await run()));
  } catch (err) {
    // One failing group must not lose the others' figures.
    process.exitCode = 1;
    process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    results.push({ name: `${name}: FAILED`, value: Number.NaN, unit: '-', note: (err as Error).message.slice(0, 80) });
  }
}

const fmt = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : String(v));
const w = Math.max(...results.map((r) => r.name.length));
const vw = Math.max(...results.map((r) => fmt(r.value).length));
console.log(`| ${'benchmark'.padEnd(w)} | ${'value'.padStart(vw)} | unit | note |`);
console.log(`|${'-'.repeat(w + 2)}|${'-'.repeat(vw + 2)}|------|------|`);
for (const r of results) console.log(`| ${r.name.padEnd(w)} | ${fmt(r.value).padStart(vw)} | ${r.unit} | ${r.note ?? ''} |`);
