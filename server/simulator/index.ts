// The simulator as a library: `startSimulation` feeds a running Nabız through its public ingest API (the CLI
// scripts/simulate.ts and the demo mode use it); `generateEvents` produces realistic events without sending them
// (benchmarks); `runSimulation` runs a whole window synchronously and keeps the ground truth (tests).
//
// Time: the engine only knows simulated time. The sender's clock is
//   simNow = min(wallNow, startAt + (wallNow − wallStart) × speed)
// so a run never produces an event in the future (the API refuses events more than 5 minutes ahead). With a speed
// above 1 the run starts in the past (by default `durationMs` before now, or `backfillMs`) and catches up with the
// wall clock; after that it goes on in real time. A speed above 1 with nothing in the past to catch up with is refused.
//
// End: a run that reaches its end or is stopped closes the floor out (Simulation.closeOut: waiting callers abandon,
// conversations end, agents sign out) and sends that, so a wallboard is not left with contacts waiting and agents on.
import type { IngestEvent } from '../ingest/contract.ts';
import { SOURCES } from '../ingest/source-names.ts';
import { Simulation, type EngineOptions, type EngineStats, type Emission } from './engine.ts';
import { EventSender, parseKeys, SimulationError, type IngestKeys, type SenderStats, type SimLog } from './sender.ts';

export { CLOSE_OUT_REASON, Simulation, runTag, type EngineOptions, type EngineStats, type Emission, type QueueStats } from './engine.ts';
export { EventSender, parseKeys, retryDelayMs, SimulationError, type IngestKeys, type SenderStats, type SimLog } from './sender.ts';
export { DEFAULT_MODEL, INTRADAY_CURVE, expectedArrivals, meanHandleS, type CenterModel, type QueueModel, type SurgeOptions } from './model.ts';
export { GroundTruth, DEFAULT_THRESHOLDS, type Thresholds, type TruthMeasure } from './truth.ts';

export interface StartSimulationOptions extends Omit<EngineOptions, 'startAt'> {
  /** Where Nabız listens, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** Ingest keys per source, or the INGEST_KEYS text `acd:K,ivr:K,crm:K`. */
  keys: IngestKeys | string;
  /** Simulated seconds per wall second (default 1: real time); above 1 needs a start in the past. */
  speed?: number;
  /** Simulated start; default: now − backfillMs. */
  startAt?: number;
  /** How far in the past to start; default `durationMs` when speed > 1 (the run ends now), else 0. */
  backfillMs?: number;
  /** Wall milliseconds between two steps of the loop (default 250). */
  tickMs?: number;
  /** A progress line this often (wall ms, default 10 s); 0: none. */
  progressMs?: number;
  log?: SimLog;
  /** Wall clock (tests). */
  now?: () => number;
  batchSize?: number;
  /** HTTP client (tests). */
  fetch?: typeof fetch;
  /**
   * Retries of one failing request before the run fails (`done` rejects): default 10, about 1 to 1½ minutes of
   * backoff. Infinity: retry for as long as the run lasts (the demo); `stop()` then ends the retrying.
   */
  maxRetries?: number;
  /** First wait and cap of the retries' exponential backoff (default 250 ms and 15 s; tests make them short). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * At its end or when stopped, close the floor out (default true): callers waiting abandon, conversations end, agents
   * go offline (Simulation.closeOut), so nothing is left waiting on the wallboard. false: the floor is left as it is
   * (tests that compare the live figures of a working floor).
   */
  closeOut?: boolean;
  /**
   * How long `stop()` lets the last events (the close-out, what is held back) be sent, retries included, before it
   * gives up on them and cancels the requests in flight (default 3 s: the demo's shutdown has 10 s for everything).
   * If ingest is already failing when stop() is called, it gives up at once.
   */
  stopTimeoutMs?: number;
}

export interface SimulationStats extends EngineStats {
  tag: string;
  startAt: number;
  endAt: number | null;
  /** Sim time the run has reached, as ISO text. */
  simTimeIso: string;
  sender: SenderStats;
  running: boolean;
}

export interface SimulationHandle {
  /**
   * Stops the run: closes the floor out at the simulated time reached (see `closeOut`), sends that and what already
   * happened (late events and duplicates included), and resolves — within `stopTimeoutMs`: past it, or at once if
   * ingest is failing, what is not sent is given up (`done` then rejects saying how many events were not sent).
   */
  stop(): Promise<void>;
  stats(): SimulationStats;
  /** Resolves when the run ends (its duration reached, or stopped); rejects if ingest failed for good. */
  done: Promise<SimulationStats>;
  readonly simulation: Simulation;
}

export function startSimulation(options: StartSimulationOptions): SimulationHandle {
  const now = options.now ?? Date.now;
  const speed = options.speed ?? 1;
  if (!(speed >= 1) || !Number.isFinite(speed)) throw new SimulationError(`speed must be a number ≥ 1, got ${speed}`);
  const keys = typeof options.keys === 'string' ? parseKeys(options.keys) : options.keys;
  for (const s of SOURCES) {
    if (!keys[s]) throw new SimulationError(`an ingest key for ${s} is required (the simulated center sends acd, ivr and crm events)`);
  }
  const wallStart = now();
  const backfill = options.backfillMs ?? (speed > 1 && options.durationMs !== undefined ? options.durationMs : 0);
  const startAt = options.startAt ?? wallStart - backfill;
  if (startAt > wallStart) throw new SimulationError('startAt must not be in the future');
  if (speed > 1 && startAt === wallStart) {
    throw new SimulationError(
      `speed ${speed} needs a start in the past to catch up from: pass --duration (the run then covers the window ending now) or --backfill (it starts that far back); without either it would run in real time`,
    );
  }
  if (speed <= 1 && startAt < wallStart) {
    throw new SimulationError(
      `at speed ${speed} a run that starts in the past never catches up with the clock (it stays that far behind, and never plays live): use --speed above 1 with --backfill, or no --backfill`,
    );
  }
  // Where the run catches up with the wall clock and plays live from then on: startAt + e·speed = wallStart + e at
  // e = (wallStart − startAt) / (speed − 1). The default surge is placed from there (docs/simulator.md, --surge).
  const liveAt = speed > 1 ? wallStart + (wallStart - startAt) / (speed - 1) : wallStart;
  const sim = new Simulation({ ...options, startAt, liveAt });
  const maxRetries = options.maxRetries ?? 10;
  const sender = new EventSender({
    baseUrl: options.baseUrl, keys, log: options.log, batchSize: options.batchSize, fetch: options.fetch, maxRetries,
    minBackoffMs: options.minBackoffMs, maxBackoffMs: options.maxBackoffMs,
  });
  const closeOut = options.closeOut ?? true;
  const stopTimeoutMs = options.stopTimeoutMs ?? 3_000;
  const log = options.log;
  const tickMs = options.tickMs ?? 250;
  const progressMs = options.progressMs ?? 10_000;
  const clock = () => {
    const wall = now();
    return Math.min(wall, startAt + (wall - wallStart) * speed);
  };

  let stopped = false;
  let running = true;
  let wake: (() => void) | undefined;
  let stopTimer: ReturnType<typeof setTimeout> | undefined;
  const stats = (): SimulationStats => {
    const s = sim.stats();
    return {
      ...s,
      tag: sim.tag,
      startAt,
      endAt: Number.isFinite(sim.endAt) ? sim.endAt : null,
      simTimeIso: new Date(s.simTime).toISOString(),
      sender: sender.stats(),
      running,
    };
  };

  const send = (list: Emission[]) => sender.send(list.map((e) => e.event));
  const loop = async (): Promise<SimulationStats> => {
    log?.info(`simulate: run ${sim.tag} from ${new Date(startAt).toISOString()}${Number.isFinite(sim.endAt) ? ` to ${new Date(sim.endAt).toISOString()}` : ''}, ${options.agents} agents, load ${options.load ?? 1}, speed ${speed}×${sim.surgeWindow ? `, surge ${sim.surgeWindow.queue} ×${sim.surgeWindow.factor} ${new Date(sim.surgeWindow.from).toISOString()}–${new Date(sim.surgeWindow.to).toISOString()}` : ''}`);
    let lastProgress = now();
    try {
      while (!stopped) {
        const simNow = clock();
        await send(sim.advance(simNow));
        if (simNow >= sim.endAt) break;
        if (progressMs > 0 && now() - lastProgress >= progressMs) {
          lastProgress = now();
          if (log) (log.debug ?? log.info).call(log, progressLine(stats()));
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, tickMs);
        });
      }
      // The end (reached, or stopped): what happened up to now, then the close-out at that simulated time (or, without
      // one, just what is held back), sent before the run resolves.
      const last = sim.advance(clock());
      await send([...last, ...(closeOut ? sim.closeOut() : sim.finish())]);
    } finally {
      running = false;
    }
    const final = stats();
    log?.info(`simulate: done. ${progressLine(final)}`);
    return final;
  };

  const done = loop();
  done.catch(() => {}); // the caller sees the failure through `done`; never an unhandled rejection
  return {
    simulation: sim,
    stats,
    done,
    async stop() {
      if (!stopped) {
        stopped = true;
        // The last events are sent, but within a bound: retries (endless in the demo) would hold the stop for as long
        // as ingest is down, and a request that hangs for its whole time-out. Ingest failing already: give up now.
        if (sender.failing) sender.abort();
        else {
          stopTimer = setTimeout(() => sender.abort(), stopTimeoutMs);
          stopTimer.unref?.();
        }
      }
      wake?.();
      await done.catch(() => {});
      clearTimeout(stopTimer);
    },
  };
}

/** One line for logs: simulated time, what was sent and acknowledged, and the floor right now. */
export function progressLine(s: SimulationStats): string {
  const q = Object.values(s.queues);
  const answered = q.reduce((a, x) => a + x.answered, 0);
  const abandoned = q.reduce((a, x) => a + x.abandoned, 0);
  const inSl = q.reduce((a, x) => a + x.answeredInSl, 0);
  const handled = answered + abandoned;
  const pct = (x: number) => (handled === 0 ? '—' : `${((100 * x) / handled).toFixed(1)} %`);
  return (
    `sim ${s.simTimeIso.slice(0, 19)}Z · events ${s.sender.sent} sent, ${s.sender.accepted} accepted, ${s.sender.duplicates} duplicates, ` +
    `${s.sender.rejected} rejected, ${s.sender.retries} retries · on shift ${s.agentsOnShift}, waiting ${s.waiting} · ` +
    `SL ${pct(inSl)}, abandoned ${pct(abandoned)}`
  );
}

export interface GenerateOptions extends Omit<EngineOptions, 'startAt' | 'durationMs' | 'agents'> {
  agents?: number;
  /** Exactly this many events (the run is as long as it takes), or… */
  count?: number;
  /** …every event of this much simulated time. */
  durationMs?: number;
  /** Simulated start; default: so that the last event is at `now` at the latest. */
  startAt?: number;
  now?: number;
}

/**
 * Realistic events, fast and deterministic by seed (for benchmarks): every event valid against the contract, in the
 * order an integration would send them (duplicates and late events as configured: pass 0 rates for none).
 */
export function generateEvents(options: GenerateOptions): IngestEvent[] {
  const now = options.now ?? Date.now();
  const agents = options.agents ?? 200;
  if (options.count === undefined && options.durationMs === undefined) throw new SimulationError('generateEvents needs count or durationMs');
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 0)) throw new SimulationError('count must be a non-negative integer');
  const startAt = options.startAt ?? now - (options.durationMs ?? 24 * 3_600_000);
  const sim = new Simulation({ ...options, agents, startAt, durationMs: options.durationMs });
  let out: Emission[] = [];
  if (options.count === undefined) {
    out = [...sim.advance(Infinity), ...sim.finish()];
  } else {
    for (let t = startAt; out.length < options.count && t - startAt < 365 * 86_400_000; ) {
      t += 3_600_000;
      for (const e of sim.advance(t)) out.push(e);
    }
    if (out.length < options.count) out.push(...sim.finish());
    out = out.slice(0, options.count);
  }
  const events = out.map((e) => e.event);
  // In count mode the run may pass `now`: shift the whole run back so nothing is in the future.
  const last = out.reduce((m, e) => Math.max(m, e.at), -Infinity);
  if (options.startAt === undefined && last > now) {
    const shift = last - now;
    const done = new Set<IngestEvent>();
    for (const e of out) {
      if (done.has(e.event)) continue;
      done.add(e.event);
      e.event.occurredAt = new Date(e.at - shift).toISOString();
    }
  }
  return events;
}

export interface RunResult {
  simulation: Simulation;
  emissions: Emission[];
}

/** Runs a whole window at once, keeping the ground truth: what tests compare Nabız's figures with. */
export function runSimulation(options: EngineOptions & { durationMs: number }): RunResult {
  const simulation = new Simulation({ keepTruth: true, ...options });
  const emissions = [...simulation.advance(Infinity), ...simulation.finish()];
  return { simulation, emissions };
}
