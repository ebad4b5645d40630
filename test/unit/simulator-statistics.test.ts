// The simulator's statistics on seeded runs: the numbers follow the model (Poisson arrivals at the configured rate,
// log-normal handle times with the configured mean, abandons rising with load, a surge that breaches and recovers),
// every event is valid against the ingest contract, and the same seed gives the same run.
// Bands are ±4 standard errors unless said otherwise; with fixed seeds the tests are deterministic, the bands say how
// far off a correct model could be.
import { describe, expect, it } from 'vitest';
import { validateEvent, type IngestEvent } from '../../server/ingest/contract.ts';
import { DEFAULT_MODEL, expectedArrivals, generateEvents, meanHandleS, runSimulation } from '../../server/simulator/index.ts';
import { Rng } from '../../server/simulator/random.ts';

const H = 3_600_000;
// A Monday, 08:00 UTC: the intraday curve climbs to its peak during the run.
const START = Date.parse('2026-11-23T08:00:00Z');

function run(opts: { seed?: string; agents?: number; load?: number; hours?: number; curve?: 'flat' | 'intraday'; startAt?: number; surge?: { queue: string; factor: number } }) {
  return runSimulation({
    seed: opts.seed ?? 'stats',
    agents: opts.agents ?? 40,
    load: opts.load ?? 1,
    startAt: opts.startAt ?? START,
    durationMs: (opts.hours ?? 4) * H,
    curve: opts.curve ?? 'flat',
    ...(opts.surge ? { surge: opts.surge } : {}),
  });
}

describe('random samplers', () => {
  it('exponential and log-normal samples have the asked mean; the log-normal is right-skewed', () => {
    const r = new Rng('samplers');
    const n = 20_000;
    const exp = Array.from({ length: n }, () => r.exponential(120));
    const logn = Array.from({ length: n }, () => r.lognormal(300, 0.8)).sort((a, b) => a - b);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // SE of the exponential mean: 120/√n = 0.85; of the log-normal: 300·0.8/√n = 1.7
    expect(Math.abs(mean(exp) - 120)).toBeLessThan(4 * 0.85);
    expect(Math.abs(mean(logn) - 300)).toBeLessThan(4 * 1.7);
    // median of a log-normal with cv 0.8: mean/√(1+cv²) = 234
    expect(logn[n / 2]!).toBeGreaterThan(225);
    expect(logn[n / 2]!).toBeLessThan(243);
  });

  it('Poisson counts have mean and variance λ', () => {
    const r = new Rng('poisson');
    const xs = Array.from({ length: 5_000 }, () => r.poisson(7));
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
    expect(Math.abs(m - 7)).toBeLessThan(4 * Math.sqrt(7 / 5_000)); // ±0.15
    expect(Math.abs(v - 7)).toBeLessThan(0.7);
  });
});

describe('a seeded run', () => {
  it('is reproducible: same seed and start, same events; another seed, other events', () => {
    const a = run({ seed: 'same', hours: 1, agents: 10 }).emissions.map((e) => JSON.stringify(e.event));
    const b = run({ seed: 'same', hours: 1, agents: 10 }).emissions.map((e) => JSON.stringify(e.event));
    const c = run({ seed: 'other', hours: 1, agents: 10 }).emissions.map((e) => JSON.stringify(e.event));
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(300);
    expect(c).not.toEqual(a);
  });

  it('every event is valid against the ingest contract, none is in the future, ids are unique but for duplicates', () => {
    const { simulation, emissions } = run({ hours: 6, curve: 'intraday', surge: { queue: 'billing', factor: 3 } });
    const end = simulation.endAt;
    const seen = new Map<string, IngestEvent>();
    const types = new Set<string>();
    const problems: string[] = [];
    for (const e of emissions) {
      const v = validateEvent(e.event, { now: end, retentionDays: 400 });
      if (!v.ok) problems.push(`${JSON.stringify(e.event)}: ${JSON.stringify(v.errors)}`);
      if (Date.parse(e.event.occurredAt) !== e.at || e.at > end) problems.push(`time of ${e.event.id}`);
      const key = `${e.event.source}|${e.event.id}`;
      if (e.duplicate ? seen.get(key) !== e.event : seen.has(key)) problems.push(`id ${key}`);
      if (!e.duplicate) seen.set(key, e.event);
      types.add(e.event.type);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    // Every event type of the contract occurs.
    expect([...types].sort()).toEqual([
      'agent.state', 'contact.abandoned', 'contact.answered', 'contact.ended', 'contact.offered', 'contact.transferred',
      'ivr.ended', 'ivr.started', 'survey.response', 'ticket.created', 'ticket.reopened', 'ticket.replied', 'ticket.solved',
    ]);
    // Send order; late events 2–10 minutes after they happened; ~0.5 % duplicates and ~0.5 % late (n ≈ 24,000: ±0.2 %).
    expect(emissions.every((e, i) => i === 0 || e.sendAt >= emissions[i - 1]!.sendAt)).toBe(true);
    const late = emissions.filter((e) => e.late && !e.duplicate);
    expect(late.every((e) => e.sendAt - e.at >= 120_000 && e.sendAt - e.at <= 600_000)).toBe(true);
    const s = simulation.stats();
    expect(s.duplicates / s.events).toBeGreaterThan(0.003);
    expect(s.duplicates / s.events).toBeLessThan(0.007);
    expect(s.late / s.events).toBeGreaterThan(0.003);
    expect(s.late / s.events).toBeLessThan(0.007);
  });

  it('arrivals follow the Poisson process of the configured rate: the count is within λT ± 3√(λT)', () => {
    // Intraday curve, 08:00–14:00: the rate changes through the run; Λ is the integral of the configured rate.
    const { simulation } = run({ hours: 6, curve: 'intraday', agents: 60 });
    const s = simulation.stats();
    const expected = expectedArrivals(simulation.inputs, simulation.startAt, simulation.endAt);
    const got = Object.values(s.queues).reduce((a, q) => a + q.arrivals, 0);
    expect(expected).toBeGreaterThan(2_000); // ≈ 2,460: band ±149
    expect(Math.abs(got - expected)).toBeLessThanOrEqual(3 * Math.sqrt(expected));
    // Per queue too (callbacks, counted apart, come on top of the Poisson arrivals).
    for (const q of DEFAULT_MODEL.queues) {
      const lq = expectedArrivals(simulation.inputs, simulation.startAt, simulation.endAt, q.name);
      expect(Math.abs(s.queues[q.name]!.arrivals - lq), q.name).toBeLessThanOrEqual(3 * Math.sqrt(lq));
    }
    expect(Object.values(s.queues).reduce((a, q) => a + q.callbacks, 0)).toBeGreaterThan(50);
  });

  it('the abandon share rises with the load', () => {
    const share = (load: number) => {
      const q = Object.values(run({ load, hours: 4, agents: 30, seed: 'load' }).simulation.stats().queues);
      const abandoned = q.reduce((a, x) => a + x.abandoned + x.shortAbandoned, 0);
      return abandoned / q.reduce((a, x) => a + x.offered, 0);
    };
    const shares = [0.7, 1.0, 1.3, 1.6].map(share);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!, `load step ${i}: ${shares.join(', ')}`).toBeGreaterThan(shares[i - 1]!);
    expect(shares[0]!).toBeLessThan(0.05); // comfortably staffed: a few per cent
    expect(shares[3]!).toBeGreaterThan(0.15); // 60 % over the staffed load: many give up
  });

  it('mean handle time per queue is near the configured mean, and handle times are right-skewed', () => {
    const { simulation, emissions } = run({ hours: 8, agents: 40, seed: 'aht' });
    const answeredAt = new Map<string, number>();
    const handles = new Map<string, number[]>();
    for (const { event: e, duplicate } of emissions) {
      if (duplicate) continue;
      if (e.type === 'contact.answered') answeredAt.set(`${e.contactId}|${e.agentId}`, Date.parse(e.occurredAt));
      if (e.type === 'contact.ended') {
        // Only contacts answered before the last hour: long contacts still running at the end would bias the mean.
        const a = answeredAt.get(`${e.contactId}|${e.agentId}`);
        if (a === undefined || a > simulation.endAt - H) continue;
        (handles.get(e.queue!) ?? handles.set(e.queue!, []).get(e.queue!)!).push(e.talkMs + e.holdMs + e.acwMs);
      }
    }
    for (const q of DEFAULT_MODEL.queues.filter((x) => x.kind === 'call')) {
      const xs = handles.get(q.name)!.sort((a, b) => a - b);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length / 1000;
      // sd of one handle: talk (cv·mean), hold (mixture), wrap-up (cv 0.5)
      const holdVar = q.holdProb * q.holdMeanS ** 2 * (1 + 0.7 ** 2) - (q.holdProb * q.holdMeanS) ** 2;
      const sd = Math.sqrt((q.talkCv * q.talkMeanS) ** 2 + holdVar + (0.5 * q.acwMeanS) ** 2);
      const se = sd / Math.sqrt(xs.length);
      expect(xs.length, q.name).toBeGreaterThan(200);
      expect(Math.abs(mean - meanHandleS(q)), `${q.name}: mean ${mean.toFixed(1)} s vs ${meanHandleS(q)} s (se ${se.toFixed(1)})`).toBeLessThan(4 * se);
      expect(xs[xs.length >> 1]! / 1000, `${q.name} median < mean`).toBeLessThan(mean);
    }
  });

  it('a surge makes its queue breach the service level, and the queue recovers after it', () => {
    // 6 hours; the surge (×4 on billing) runs in the middle third: 01:48–03:36 after the start.
    const { simulation } = run({ hours: 6, agents: 40, seed: 'surge', surge: { queue: 'billing', factor: 4 } });
    const w = simulation.surgeWindow!;
    expect(w.to - w.from).toBe(1.8 * H);
    const sl = (from: number, to: number) => simulation.truth.windowed(from, to, 'queue:billing').service_level!.value!;
    const before = sl(simulation.startAt + 15 * 60_000, w.from);
    const during = sl(w.from + 20 * 60_000, w.to);
    const after = sl(w.to + 30 * 60_000, simulation.endAt);
    expect(before).toBeGreaterThan(70);
    expect(during).toBeLessThan(40);
    expect(after).toBeGreaterThan(60);
    const ab = simulation.truth.windowed(w.from + 20 * 60_000, w.to, 'queue:billing').abandon_rate!.value!;
    expect(ab).toBeGreaterThan(20);
  });

  it('survey scores depend on resolution and wait: resolved contacts get a higher CSAT', () => {
    const { emissions } = run({ hours: 8, agents: 40, seed: 'surveys' });
    const resolved = new Map<string, boolean>();
    const top2 = { yes: [0, 0], no: [0, 0] };
    for (const { event: e, duplicate } of emissions) {
      if (duplicate) continue;
      if (e.type === 'contact.ended' && e.resolved !== undefined && !resolved.has(e.contactId)) resolved.set(e.contactId, e.resolved);
      if (e.type === 'contact.ended' && e.resolved) resolved.set(e.contactId, true);
      if (e.type === 'survey.response' && e.metric === 'csat' && resolved.has(e.contactId)) {
        const b = resolved.get(e.contactId) ? top2.yes : top2.no;
        b[0]! += e.score >= 4 ? 1 : 0;
        b[1]!++;
      }
    }
    const rate = (b: number[]) => b[0]! / b[1]!;
    expect(top2.no[1]).toBeGreaterThan(50);
    expect(rate(top2.yes)).toBeGreaterThan(rate(top2.no) + 0.3);
  });

  it('agents follow the intraday curve: they log off at shift end in the evening, with the reason', () => {
    const { simulation, emissions } = run({ hours: 5, agents: 40, curve: 'intraday', startAt: Date.parse('2026-11-23T16:00:00Z'), seed: 'shifts' });
    const offline = emissions.filter((e) => e.event.type === 'agent.state' && e.event.state === 'offline' && !e.duplicate);
    expect(offline.length).toBeGreaterThan(15);
    expect(offline.every((e) => e.event.type === 'agent.state' && e.event.reason === 'shift-end')).toBe(true);
    expect(simulation.stats().agentsOnShift).toBeLessThan(20);
  });
});

describe('the intraday curve', () => {
  it('follows the center\'s local clock across a daylight-saving change: 07:00–08:00 in Berlin brings as many arrivals on either side', () => {
    // Berlin leaves summer time on Sunday 2026-10-25 at 01:00 UTC: 07:00 local is 05:00 UTC on Saturday (UTC+2) and
    // 06:00 UTC on Sunday (UTC+1). The morning ramp (curve 0.12 → 0.3 → 0.62) makes an hour's error plain: with the
    // offset taken once at the start, Sunday's 06:00 UTC read as 08:00 local, half as many arrivals again.
    const { simulation } = runSimulation({ seed: 'dst', agents: 40, startAt: Date.parse('2026-10-24T00:00:00Z'), durationMs: 48 * H, timeZone: 'Europe/Berlin', duplicateRate: 0, lateRate: 0 });
    const saturday = expectedArrivals(simulation.inputs, Date.parse('2026-10-24T05:00:00Z'), Date.parse('2026-10-24T06:00:00Z'));
    const sunday = expectedArrivals(simulation.inputs, Date.parse('2026-10-25T06:00:00Z'), Date.parse('2026-10-25T07:00:00Z'));
    const sundayAnHourLater = expectedArrivals(simulation.inputs, Date.parse('2026-10-25T07:00:00Z'), Date.parse('2026-10-25T08:00:00Z'));
    expect(sunday).toBeCloseTo(saturday, 6);
    expect(sundayAnHourLater / sunday).toBeGreaterThan(1.5); // the test can tell the hours apart
  });
});

describe('transfers', () => {
  it('keep the contact in its channel: a call goes to another voice queue, a chat is never turned into a call', () => {
    const { emissions } = run({ hours: 8, agents: 40, seed: 'transfers' });
    const channels = new Map<string, Set<string>>();
    let transfers = 0;
    for (const { event: e, duplicate } of emissions) {
      if (duplicate) continue;
      if (e.type === 'contact.offered') (channels.get(e.contactId) ?? channels.set(e.contactId, new Set()).get(e.contactId)!).add(e.channel);
      if (e.type === 'contact.transferred') {
        transfers++;
        const from = DEFAULT_MODEL.queues.find((q) => q.name === e.queue)!;
        const to = DEFAULT_MODEL.queues.find((q) => q.name === e.toQueue)!;
        expect(`${from.name} (${from.channel}) → ${to.name} (${to.channel})`).toBe(`${from.name} (${from.channel}) → ${to.name} (${from.channel})`);
      }
    }
    expect(transfers).toBeGreaterThan(30);
    const mixed = [...channels].filter(([, c]) => c.size > 1).map(([id, c]) => `${id}: ${[...c].join(', ')}`);
    expect(mixed.slice(0, 3)).toEqual([]);
    // chats are offered, and none is transferred (chat-support is the only chat queue)
    expect([...channels.values()].filter((c) => c.has('chat')).length).toBeGreaterThan(200);
  });

  it('a model transferring a queue to one of another channel is refused', () => {
    const model = { ...DEFAULT_MODEL, queues: DEFAULT_MODEL.queues.map((q) => (q.name === 'chat-support' ? { ...q, transferProb: 0.03, transferTo: ['tech-support'] } : q)) };
    expect(() => runSimulation({ seed: 1, agents: 10, startAt: START, durationMs: H, model })).toThrow(/chat-support transfers to "tech-support", which is not another chat queue/);
  });
});

describe('generateEvents (the benchmark load)', () => {
  it('gives exactly `count` valid events, deterministic by seed, none in the future', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    const a = generateEvents({ seed: 7, count: 20_000, agents: 100, now });
    const b = generateEvents({ seed: 7, count: 20_000, agents: 100, now });
    expect(a).toHaveLength(20_000);
    expect(a.map((e) => e.id)).toEqual(b.map((e) => e.id));
    expect(a.filter((e) => !validateEvent(e, { now, retentionDays: 400 }).ok)).toEqual([]);
    expect(a.every((e) => Date.parse(e.occurredAt) <= now)).toBe(true);
  });
});
