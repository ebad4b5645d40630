// Where `--surge` lands. Its alerts come from rolling windows that end now (the 15-minute service level), so the surge
// must be in the part of the run those windows see: the part played live once a backfill has caught up with the clock,
// or, for a run all in the past (`--speed 60 --duration 2h`), just before its end — never in history the thresholds
// never look at. The clock is frozen and the ingest faked: only the placement is looked at, then the run is stopped.
import { describe, expect, it } from 'vitest';
import { runSimulation, startSimulation } from '../../server/simulator/index.ts';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const MIN = 60_000;
const H = 60 * MIN;
const accept = (async (_u: string | URL | Request, init?: RequestInit) => {
  const n = String(init!.body).split('\n').length;
  return new Response(JSON.stringify({ accepted: n, duplicates: 0 }), { status: 202 });
}) as typeof fetch;

async function surgeOf(opts: { speed: number; durationMs?: number; backfillMs?: number }) {
  const run = startSimulation({
    baseUrl: 'http://x', keys: 'acd:a,ivr:b,crm:c', seed: 1, agents: 10, progressMs: 0, now: () => NOW, fetch: accept,
    surge: { queue: 'billing', factor: 4 }, ...opts,
  });
  const w = run.simulation.surgeWindow!;
  await run.stop();
  return { from: w.from - NOW, to: w.to - NOW };
}

describe('surge placement', () => {
  it('--speed 60 --duration 2h (all in the past): the 36 minutes (30 % of 2 h) before the last 5, i.e. 41 to 5 minutes before now', async () => {
    // The run covers [now − 2 h, now]; it never plays live (it would catch up with the clock only 2 h / 59 after now).
    // length 0.3 · 120 min = 36 min; to = end − 5 min = now − 5 min; from = now − 5 − 36 = now − 41 min
    expect(await surgeOf({ speed: 60, durationMs: 2 * H })).toEqual({ from: -41 * MIN, to: -5 * MIN });
  });

  it('--speed 61 --backfill 30m without a duration: 2 minutes after the backfill has caught up, for 10 minutes', async () => {
    // Catch-up: sim time now − 30 min + 61·e meets the wall clock now + e at e = 30 min / 60 = 30 s, i.e. at now + 30 s.
    // from = now + 30 s + 2 min = now + 150,000 ms; to = from + 10 min = now + 750,000 ms
    expect(await surgeOf({ speed: 61, backfillMs: 30 * MIN })).toEqual({ from: 150_000, to: 750_000 });
  });

  it('--speed 61 --backfill 30m --duration 2h: the middle 30 % of the part played live', async () => {
    // Live from now + 30 s (as above) to the end, now − 30 min + 2 h = now + 90 min = now + 5,400,000 ms.
    // live span 5,400,000 − 30,000 = 5,370,000 ms; 30 % of it = 1,611,000 ms
    // from = 30,000 + 1,611,000 = 1,641,000; to = 1,641,000 + 1,611,000 = 3,252,000
    expect(await surgeOf({ speed: 61, backfillMs: 30 * MIN, durationMs: 2 * H })).toEqual({ from: 1_641_000, to: 3_252_000 });
  });

  it('in real time the placement is unchanged: the middle 30 % of the run, or from minute 2 for 10 minutes', async () => {
    // 1 h: from 0.3 · 60 = 18 min to 18 + 18 = 36 min
    expect(await surgeOf({ speed: 1, durationMs: H })).toEqual({ from: 18 * MIN, to: 36 * MIN });
    expect(await surgeOf({ speed: 1 })).toEqual({ from: 2 * MIN, to: 12 * MIN });
  });

  it('the docs example breaches where the thresholds look: billing over the 15 minutes before the run ends is below 80 % SL and above 5 % abandons', () => {
    // `--agents 80 --speed 60 --duration 2h --surge billing:4`: the run ends at now, 2 h / 60 = 2 min of wall time after
    // it began, so a 15-minute rolling window then covers sim time [end − 13 min, end): 8 minutes of surge (until
    // end − 5 min) and the 5 minutes after it.
    const { simulation } = runSimulation({
      seed: 'surge-at-end', agents: 80, startAt: NOW - 2 * H, durationMs: 2 * H, liveAt: NOW + (2 * H) / 59, curve: 'flat', surge: { queue: 'billing', factor: 4 },
    });
    expect(simulation.surgeWindow).toMatchObject({ from: NOW - 41 * MIN, to: NOW - 5 * MIN });
    const seen = simulation.truth.windowed(NOW - 13 * MIN, NOW, 'queue:billing');
    expect(seen.service_level!.value!).toBeLessThan(80);
    expect(seen.abandon_rate!.value!).toBeGreaterThan(5);
    // before the surge the queue was within its thresholds
    const before = simulation.truth.windowed(NOW - 56 * MIN, NOW - 41 * MIN, 'queue:billing');
    expect(before.service_level!.value!).toBeGreaterThan(80);
  });
});
