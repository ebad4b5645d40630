// npm run simulate -- [flags]: a simulated contact center posting events to a running Nabız (docs/simulator.md).
//   --url http://127.0.0.1:8080   where Nabız listens
//   --keys acd:K,ivr:K,crm:K      ingest keys (default: INGEST_KEYS from the environment)
//   --agents 50                   centre size
//   --load 1                      arrival-rate multiplier (1: the load the centre is staffed for)
//   --speed 1                     simulated seconds per second; above 1 the run starts in the past and catches up
//   --duration 30m                simulated length (s, m, h); default: until Ctrl-C
//   --backfill 30m                start this far in the past (default: --duration when --speed > 1)
//   --seed 1                      same seed and start, same events
//   --surge billing[:3]           multiply a queue's arrivals for a while so its alerts fire, then recover
//   --tz Europe/Istanbul          time zone of the intraday curve (default CENTER_TZ)
//   --demo                        tag every event attributes.demo = "1"
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../server/config.ts';
import { DEFAULT_MODEL, progressLine, SimulationError, startSimulation, type SimulationStats } from '../server/simulator/index.ts';

function fail(message: string): never {
  process.stderr.write(`simulate: ${message}\n`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      keys: { type: 'string' },
      agents: { type: 'string', default: '50' },
      load: { type: 'string', default: '1' },
      speed: { type: 'string', default: '1' },
      duration: { type: 'string' },
      backfill: { type: 'string' },
      seed: { type: 'string', default: '1' },
      surge: { type: 'string' },
      tz: { type: 'string' },
      demo: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (err) {
  fail((err as Error).message);
}

if (values.help) {
  const text = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(`${text.split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n')}\n`);
  process.exit(0);
}

const str = (name: string) => values[name] as string | undefined;

function number(name: string, check: (n: number) => boolean, expected: string): number {
  const raw = str(name)!;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) fail(`--${name}=${raw} is invalid: expected ${expected}`);
  return n;
}

/** 90s, 30m, 2h, 1h30m, or plain milliseconds. */
function duration(name: string): number | undefined {
  const raw = str(name);
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(raw);
  const ms = m ? (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000 : 0;
  if (!m || !(ms > 0)) fail(`--${name}=${raw} is invalid: expected a duration such as 90s, 30m, 2h or 1h30m`);
  return ms;
}

let configKeys: string | undefined;
let centerTz = 'UTC';
try {
  const config = loadConfig();
  configKeys = config.INGEST_KEYS;
  centerTz = config.CENTER_TZ;
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

const url = str('url')!;
if (!/^https?:\/\/[^\s/]+/.test(url)) fail(`--url=${url} is invalid: expected http(s)://host:port`);
const keys = str('keys') ?? configKeys;
if (!keys) fail('--keys is required (acd:K,ivr:K,crm:K), or set INGEST_KEYS');
const agents = number('agents', (n) => Number.isInteger(n) && n >= DEFAULT_MODEL.teams.length && n <= 5000, `an integer from ${DEFAULT_MODEL.teams.length} to 5000`);
const load = number('load', (n) => n > 0 && n <= 10, 'a number above 0 and at most 10');
const speed = number('speed', (n) => n >= 1 && n <= 100_000, 'a number from 1 to 100000');
const durationMs = duration('duration');
const backfillMs = duration('backfill');
if (backfillMs !== undefined && backfillMs > 30 * 86_400_000) fail(`--backfill=${str('backfill')} is invalid: at most 30 days`);

let surge: { queue: string; factor: number } | undefined;
if (str('surge') !== undefined) {
  const [queue = '', factorText] = str('surge')!.split(':');
  const names = DEFAULT_MODEL.queues.map((q) => q.name);
  if (!names.includes(queue)) fail(`--surge=${str('surge')} is invalid: the queue must be one of ${names.join(', ')}`);
  const factor = factorText === undefined ? 3 : Number(factorText);
  if (!(factor > 1 && factor <= 20)) fail(`--surge=${str('surge')} is invalid: the factor after ':' must be a number above 1 and at most 20`);
  surge = { queue, factor };
}
const timeZone = str('tz') ?? centerTz;
try {
  new Intl.DateTimeFormat('en-US', { timeZone });
} catch {
  fail(`--tz=${timeZone} is invalid: expected an IANA time zone such as Europe/Istanbul`);
}

const log = {
  info: (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`),
  warn: (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`),
};

let run;
try {
  run = startSimulation({
    baseUrl: url, keys, agents, load, speed, seed: str('seed')!, timeZone, log, demo: values.demo === true,
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(backfillMs !== undefined ? { backfillMs } : {}),
    ...(surge ? { surge } : {}),
  });
} catch (err) {
  if (err instanceof SimulationError || err instanceof RangeError) fail(err.message);
  throw err;
}

let interrupted = false;
const onSignal = () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log.info('simulate: stopping (closing the floor out: callers waiting abandon, agents sign out; sent within 3 s; Ctrl-C again to quit at once)…');
  void run.stop();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function summary(s: SimulationStats): string {
  const rows = Object.entries(s.queues).map(([name, q]) => {
    const handled = q.answered + q.abandoned;
    const pct = (x: number) => (handled === 0 ? '—' : `${((100 * x) / handled).toFixed(1)}%`);
    return q.tickets > 0
      ? `  ${name.padEnd(14)} tickets ${q.tickets}, solved ${q.solved}, reopened ${q.reopened}`
      : `  ${name.padEnd(14)} arrivals ${q.arrivals}+${q.callbacks} callbacks, offered ${q.offered}, answered ${q.answered}, abandoned ${q.abandoned} (+${q.shortAbandoned} short), SL ${pct(q.answeredInSl)}, ASA ${q.answered ? (q.waitMsSum / q.answered / 1000).toFixed(0) : '—'} s, AHT ${q.ended ? (q.handleMsSum / q.ended / 1000).toFixed(0) : '—'} s${q.ivrEnded ? `, IVR contained ${((100 * q.ivrContained) / q.ivrEnded).toFixed(0)}%` : ''}`;
  });
  return [`run ${s.tag}: ${new Date(s.startAt).toISOString()} → ${s.simTimeIso}`, progressLine(s), ...rows].join('\n');
}

try {
  const final = await run.done;
  process.stdout.write(`\n${summary(final)}\n`);
  process.exit(final.sender.rejected > 0 ? 1 : 0);
} catch (err) {
  process.stderr.write(`simulate: ${(err as Error).message}\n${summary(run.stats())}\n`);
  process.exit(1);
}
