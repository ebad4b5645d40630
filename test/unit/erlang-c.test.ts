import { describe, expect, it } from 'vitest';
import { liveValues } from '../../server/kpi/compute.ts';
import { erlangC, erlangFigures, requiredAgents } from '../../server/kpi/erlang-c.ts';
import { elapsedSeconds, erlangRange } from '../../server/kpi/windows.ts';

// The published reference: 100 calls per 30 minutes, AHT 180 s, target 80 % answered in 20 s.
// λ = 100 / 1800 s = 0.0555… calls/s; A = λ × AHT = 0.0555… × 180 = 10 Erlangs.
const reference = { lambdaPerSecond: 100 / 1800, ahtSeconds: 180 };

describe('Erlang C', () => {
  it('matches the published reference: 10 Erlangs need 14 agents for 80 % in 20 s', () => {
    const r = requiredAgents(reference, 20, 0.8);
    expect(r.trafficErlangs).toBeCloseTo(10, 12);
    expect(r.agents).toBe(14);
    expect(r.probabilityWaiting).toBeCloseTo(0.1741, 4);
    expect(r.serviceLevel).toBeCloseTo(0.8884, 4);
    expect(r.asaSeconds).toBeCloseTo(7.84, 2);
    expect(r.occupancy).toBeCloseTo(0.714, 3);
  });

  it('13 agents fall short of the 80 % target for the reference traffic (so 14 is the smallest)', () => {
    const r = erlangFigures(13, reference, 20);
    expect(r.serviceLevel).toBeLessThan(0.8);
    expect(r.serviceLevel).toBeGreaterThan(0.7);
  });

  it('the Erlang B recursion agrees with the closed form for small N', () => {
    // Closed form: C = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)), A = 10, N = 14.
    const A = 10;
    const N = 14;
    let sum = 0;
    let term = 1;
    for (let k = 0; k < N; k++) {
      sum += term;
      term = (term * A) / (k + 1);
    }
    const top = term * (N / (N - A)); // term is now A^N / N!
    expect(erlangC(N, A)).toBeCloseTo(top / (sum + top), 12);
  });

  it('is stable for large centers (500 Erlangs) where A^N/N! would overflow', () => {
    const r = requiredAgents({ lambdaPerSecond: 500 / 180, ahtSeconds: 180 }, 20, 0.8);
    expect(Number.isFinite(r.probabilityWaiting)).toBe(true);
    expect(r.agents).toBeGreaterThan(500);
    expect(r.agents).toBeLessThan(530);
    expect(erlangFigures(r.agents - 1, { lambdaPerSecond: 500 / 180, ahtSeconds: 180 }, 20).serviceLevel).toBeLessThan(0.8);
  });

  it('needs no agents without traffic, and waiting is certain when agents ≤ traffic', () => {
    expect(requiredAgents({ lambdaPerSecond: 0, ahtSeconds: 180 }, 20, 0.8).agents).toBe(0);
    expect(erlangC(10, 10)).toBe(1);
    expect(erlangFigures(5, reference, 20).serviceLevel).toBe(0);
  });

  it('rejects nonsense inputs instead of returning NaN', () => {
    expect(() => requiredAgents({ lambdaPerSecond: Number.NaN, ahtSeconds: 180 }, 20, 0.8)).toThrow(RangeError);
    expect(() => requiredAgents(reference, 20, 1)).toThrow(RangeError);
    expect(() => erlangC(-1, 3)).toThrow(RangeError);
  });
});

describe("the live figure's arrival rate", () => {
  // A call every 18 s since 09:00 (100 every 30 minutes), AHT 180 s, 80 % in 20 s: the reference load above (A = 10,
  // 14 agents). At 10:00:05 "the last 30 minutes" are [09:31:00, 10:01:00) and have run 29 min 5 s = 1,745 s: they hold
  // the calls of 09:31:12 … 10:00:00, (3,600 − 1,872) ÷ 18 + 1 = 97.
  //   λ = 97 ÷ 1,745 s → A = 97 ÷ 1,745 × 180 = 10.0057 Erl; N = 13: SL 0.7948 < 0.8; N = 14: SL 0.8879 → 14, as the
  //   steady load needs. (Over the full 1,800 s: A = 9.7, and 13 agents (SL 0.8326) — one short, all minute long.)
  const now = Date.parse('2025-03-10T10:00:05Z');
  const live = { waiting: 0, oldestOfferMs: null, available: 10, busy: 4, acw: 0, aux: 0 };
  const from = Date.parse('2025-03-10T09:31:00Z');
  const erlang = { offered30: 97, from, aht1h: { value: 180, n: 97 }, ahtToday: { value: 180, n: 97 }, thresholdS: 20, targetPct: 80 };

  it('is the offers over the time the window has run, not over its full 30 minutes', () => {
    expect(elapsedSeconds(30, now)).toBe(1_745);
    expect(erlangRange(now, -Infinity)).toEqual({ start: from, end: Date.parse('2025-03-10T10:01:00Z') });
    const v = liveValues(live, now, erlang);
    expect(v.required_agents).toEqual({ value: 14, n: 97 });
    expect(v.staffing_gap).toEqual({ value: 14 - 14, n: 97 }); // staffed: 10 available + 4 busy
  });

  it('counts from the opening when the center opened less than 30 minutes ago (at least the last 5 minutes)', () => {
    // Open at 09:50 after a closed night, the same call every 18 s from then: 09:50:00 … 10:00:00 = 600 ÷ 18 + 1 = 34
    // calls. Over the 30 minutes (1,745 s) λ reads 34 ÷ 1,745: A = 3.51 Erl, 6 agents for a load that needs 14. From
    // the opening, [09:50, 10:01) has run 605 s: A = 34 ÷ 605 × 180 = 10.12 Erl → 14, as the steady load.
    const opened = Date.parse('2025-03-10T09:50:00Z');
    const span = erlangRange(now, opened);
    expect(span.start).toBe(opened);
    const fromOpening = liveValues(live, now, { ...erlang, offered30: 34, from: span.start });
    expect(fromOpening.required_agents).toEqual({ value: 14, n: 34 });
    expect(liveValues(live, now, { ...erlang, offered30: 34 }).required_agents!.value).toBeLessThan(8);
    // opened at 09:58: the span is still the last 5 minutes, [09:56, 10:01); opened at 09:00: the last 30
    expect(erlangRange(now, Date.parse('2025-03-10T09:58:00Z')).start).toBe(Date.parse('2025-03-10T09:56:00Z'));
    expect(erlangRange(now, Date.parse('2025-03-10T09:00:00Z')).start).toBe(from);
  });

  it('has no figure for a load beyond any center, and the other live figures are still there', () => {
    // 700 offers with a 3-day AHT (each part of a contact may be a day): A = 700 ÷ 1,745 × 259,200 ≈ 104,000 Erlangs,
    // past MAX_AGENTS (100,000)
    const v = liveValues(live, now, { ...erlang, offered30: 700, aht1h: { value: 259_200, n: 700 } });
    expect(v.required_agents).toEqual({ value: null, n: 700 });
    expect(v.staffing_gap).toEqual({ value: null, n: 700 });
    expect(v.agents_available).toEqual({ value: 10, n: 10 });
  });
});
