// The end of a run: stopped or at its end, the simulator closes the floor out at the simulated time reached, so a
// wallboard fed by it is not left with contacts waiting (for WAITING_LOOKBACK_HOURS, the longest wait growing), agents
// on, or IVR sessions open. Every contact offered gets a terminal event (answered → ended, abandoned, or transferred,
// offered again, then terminal), every IVR session ends, every agent's last state is offline, the ground truth says the
// same, and all of it is sent before the run resolves. No wall-clock timing is asserted: the runs' wall clocks are fakes.
import { describe, expect, it, vi } from 'vitest';
import { validateEvent, type IngestEvent } from '../../server/ingest/contract.ts';
import { CLOSE_OUT_REASON, Simulation, startSimulation, type EngineOptions, type SimulationHandle } from '../../server/simulator/index.ts';

const MIN = 60_000;
const H = 60 * MIN;
const START = Date.parse('2026-11-23T08:00:00Z');
const FAST = { minBackoffMs: 1, maxBackoffMs: 10 };

/** A fake ingest endpoint that keeps every event once (by source and id); `fail(body)` makes a request answer 503. */
function ingest(fail: () => boolean = () => false) {
  const events = new Map<string, IngestEvent>();
  const fetchFn = (async (_url: string | URL | Request, init?: RequestInit) => {
    const lines = String(init!.body).split('\n');
    if (fail()) return new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503, headers: { 'retry-after': '0.01' } });
    let duplicates = 0;
    for (const line of lines) {
      const e = JSON.parse(line) as IngestEvent;
      const key = `${e.source}|${e.id}`;
      if (events.has(key)) duplicates++;
      else events.set(key, e);
    }
    return new Response(JSON.stringify({ accepted: lines.length - duplicates, duplicates }), { status: 202 });
  }) as typeof fetch;
  return { events, fetch: fetchFn };
}

const time = (e: IngestEvent) => Date.parse(e.occurredAt);

/**
 * Holds a finished run's events (each once) to the close-out's promise; `closedAt` is the simulated time it ended.
 * Returns what the close-out itself sent (the events at `closedAt` it explains).
 */
function expectClosed(all: Iterable<IngestEvent>, sim: Simulation, closedAt: number) {
  // In the order they happened (ids grow with emission, so they order events of the same millisecond).
  const events = [...all].sort((a, b) => time(a) - time(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const problems: string[] = [];
  for (const e of events) {
    const v = validateEvent(e, { now: closedAt, retentionDays: 400 });
    if (!v.ok) problems.push(`invalid ${JSON.stringify(e)}: ${JSON.stringify(v.errors)}`);
    if (time(e) > closedAt) problems.push(`after the end: ${e.id}`);
  }

  // Calls and chats: after each contact's latest offer, an abandon or an answer; every answer ended by its agent,
  // its handle times adding up to the time from the answer to the end; every transfer followed by a new offer.
  const contacts = new Map<string, IngestEvent[]>();
  for (const e of events) if (e.source === 'acd' && e.type.startsWith('contact.')) (contacts.get(e.contactId!) ?? contacts.set(e.contactId!, []).get(e.contactId!)!).push(e);
  let legs = 0;
  for (const [id, list] of contacts) {
    const answered = new Map<string, number[]>();
    let open: 'waiting' | 'answered' | 'closed' = 'closed';
    let transferPending = false;
    for (const e of list) {
      if (e.type === 'contact.offered') {
        open = 'waiting';
        transferPending = false;
      } else if (e.type === 'contact.abandoned') {
        if (open !== 'waiting') problems.push(`${id}: abandoned while ${open}`);
        open = 'closed';
      } else if (e.type === 'contact.answered') {
        if (open !== 'waiting') problems.push(`${id}: answered while ${open}`);
        open = 'answered';
        (answered.get(e.agentId) ?? answered.set(e.agentId, []).get(e.agentId)!).push(time(e));
      } else if (e.type === 'contact.transferred') {
        transferPending = true;
      } else if (e.type === 'contact.ended') {
        const at = answered.get(e.agentId)?.shift();
        if (at === undefined) problems.push(`${id}: ended by ${e.agentId}, who had not answered it`);
        else if (e.talkMs + e.holdMs + e.acwMs !== time(e) - at) problems.push(`${id}: handle times ${e.talkMs}+${e.holdMs}+${e.acwMs} ≠ ${time(e) - at} ms since the answer`);
        legs++;
        // the leg that was transferred ends while the contact waits in its new queue: that wait stays open
        if (open === 'answered' && !list.some((x) => x.type === 'contact.offered' && time(x) > at!)) open = 'closed';
      }
    }
    if (open !== 'closed') problems.push(`${id}: left ${open}`);
    if (transferPending) problems.push(`${id}: transferred but never offered again`);
    for (const [agent, left] of answered) if (left.length) problems.push(`${id}: answered by ${agent}, never ended`);
  }

  const ivr = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'ivr.started') ivr.set(e.contactId, (ivr.get(e.contactId) ?? 0) + 1);
    if (e.type === 'ivr.ended') ivr.set(e.contactId, (ivr.get(e.contactId) ?? 0) - 1);
  }
  for (const [id, n] of ivr) if (n !== 0) problems.push(`IVR session of ${id} never ended`);

  const lastState = new Map<string, string>();
  for (const e of events) if (e.type === 'agent.state') lastState.set(e.agentId, e.state);
  for (const [agent, state] of lastState) if (state !== 'offline') problems.push(`${agent} left ${state}`);
  expect(problems.slice(0, 10)).toEqual([]);
  expect(contacts.size).toBeGreaterThan(50);
  expect(lastState.size).toBeGreaterThan(5);

  // The ground truth agrees: nobody waiting, no agent on, and the closing events counted as they were sent.
  const live = sim.truth.live(closedAt, 'center', sim.startAt);
  expect(live.waiting).toEqual({ value: 0, n: 0 });
  expect(live.longest_wait).toEqual({ value: 0, n: 0 });
  for (const k of ['agents_available', 'agents_busy', 'agents_acw', 'agents_aux'] as const) expect(live[k], k).toEqual({ value: 0, n: 0 });
  const s = sim.stats();
  expect(s.waiting).toBe(0);
  expect(s.agentsOnShift).toBe(0);
  const w = sim.truth.windowed(sim.startAt, closedAt + 1, 'center');
  const count = (type: string, f: (e: IngestEvent) => boolean = () => true) => events.filter((e) => e.type === type && f(e)).length;
  expect(w.offered!.value).toBe(count('contact.offered'));
  expect(w.answered!.value).toBe(count('contact.answered'));
  expect(w.abandoned!.value! + w.short_abandoned!.value!).toBe(count('contact.abandoned'));
  expect(w.aht!.n).toBe(legs);
  expect(w.ivr_containment!.n).toBe(count('ivr.ended'));
  expect(w.ivr_containment!.value).toBeCloseTo((100 * count('ivr.ended', (e) => e.type === 'ivr.ended' && e.outcome === 'contained')) / count('ivr.ended'), 9);

  const at = events.filter((e) => time(e) === closedAt);
  return {
    abandoned: at.filter((e) => e.type === 'contact.abandoned'),
    ended: at.filter((e): e is Extract<IngestEvent, { type: 'contact.ended' }> => e.type === 'contact.ended'),
    ivrEnded: at.filter((e) => e.type === 'ivr.ended' && e.outcome === 'abandoned'),
    offline: at.filter((e) => e.type === 'agent.state' && e.state === 'offline' && e.reason === CLOSE_OUT_REASON),
  };
}

/** The floor right now, from the engine's private state (which contacts are where). */
function floor(sim: Simulation) {
  const s = sim as unknown as {
    agents: Array<{ id: string; state: string; ringing?: { id: string }; handling?: { contact: { id: string }; wrapAt?: number } }>;
    inIvr: Set<{ id: string }>;
    waitingCalls: Map<string, Array<{ id: string }>>;
  };
  return {
    ivr: [...s.inIvr].map((c) => c.id),
    queued: [...s.waitingCalls.values()].flat().map((c) => c.id),
    ringing: s.agents.filter((a) => a.ringing).map((a) => a.ringing!.id),
    talking: s.agents.filter((a) => a.handling && a.handling.wrapAt === undefined).map((a) => a.handling!.contact.id),
    wrapUp: s.agents.filter((a) => a.handling?.wrapAt !== undefined).map((a) => a.handling!.contact.id),
    on: s.agents.filter((a) => a.state !== 'offline').map((a) => a.id),
  };
}

const BUSY: Omit<EngineOptions, 'startAt'> = { seed: 'close-out', agents: 30, load: 1.15, curve: 'flat', keepTruth: true };

describe('Simulation.closeOut', () => {
  it('closes every kind of open business at the moment it is called: IVR, queued, ringing, in conversation, in wrap-up; agents offline', () => {
    const sim = new Simulation({ ...BUSY, startAt: START });
    const emitted = [...sim.advance(START + H)];
    // Step on until the floor has, at one moment, someone in each state that needs closing.
    let t = START + H;
    let now = floor(sim);
    for (; t < START + 3 * H; t += 1_000) {
      now = floor(sim);
      if (now.ivr.length && now.queued.length && now.ringing.length && now.talking.length && now.wrapUp.length) break;
      emitted.push(...sim.advance(t + 1_000));
    }
    expect(Object.values(now).every((ids) => ids.length > 0), JSON.stringify(now)).toBe(true);
    const closedAt = sim.now;
    const held = sim.pendingEmissions;
    const closing = sim.closeOut();
    expect(closing.length).toBeGreaterThanOrEqual(held);
    emitted.push(...closing);
    const unique = new Map(emitted.map((e) => [`${e.event.source}|${e.event.id}`, e.event]));
    const c = expectClosed(unique.values(), sim, closedAt);

    expect(c.ivrEnded.map((e) => e.contactId).sort()).toEqual([...now.ivr].sort());
    expect(c.abandoned.map((e) => e.contactId).sort()).toEqual([...now.queued, ...now.ringing].sort());
    // in conversation: cut off, no wrap-up yet, not resolved; in wrap-up: the whole conversation, wrap-up so far
    const cut = c.ended.filter((e) => now.talking.includes(e.contactId));
    expect(cut.length).toBe(now.talking.length);
    expect(cut.every((e) => e.acwMs === 0 && e.resolved === false)).toBe(true);
    const wrapped = c.ended.filter((e) => now.wrapUp.includes(e.contactId) && e.acwMs > 0);
    expect(wrapped.length).toBe(now.wrapUp.length);
    expect(c.offline.map((e) => (e as { agentId: string }).agentId).sort()).toEqual([...now.on].sort());
    // the close-out is sent at once: no duplicates or late copies of its events
    expect(closing.filter((e) => e.at === closedAt).every((e) => !e.duplicate && !e.late)).toBe(true);

    // Nothing happens after it, and a second close-out sends nothing.
    expect(sim.advance(closedAt + 2 * H)).toEqual([]);
    expect(sim.closeOut()).toEqual([]);
  });
});

describe('a paced run (startSimulation) closes out', () => {
  /** A wall clock that moves a minute every time it is read: the run's pace without waiting for real time. */
  const wall = () => {
    let t = START + 3 * H;
    return () => (t += MIN);
  };

  it('when it reaches its end: the close-out is at the end, and sent before `done` resolves', async () => {
    const sink = ingest();
    const run = startSimulation({
      ...BUSY, baseUrl: 'http://x', keys: 'acd:a,ivr:b,crm:c', speed: 60, durationMs: 3 * H, tickMs: 1, progressMs: 0, now: wall(), fetch: sink.fetch,
    });
    const final = await run.done;
    const sim = run.simulation;
    expect(final.simTime).toBe(sim.endAt);
    expect(final.sender.sent).toBe(final.events + final.duplicates);
    const c = expectClosed(sink.events.values(), sim, sim.endAt);
    expect(c.abandoned.length + c.ended.length).toBeGreaterThan(5);
    expect(c.offline.length).toBeGreaterThan(5);
  });

  it('when stopped before any end (the demo: retries without limit): at the simulated time reached, sent before stop() resolves', async () => {
    const sink = ingest();
    const run: SimulationHandle = startSimulation({
      ...BUSY, baseUrl: 'http://x', keys: 'acd:a,ivr:b,crm:c', speed: 60, backfillMs: 3 * H, tickMs: 1, progressMs: 0, maxRetries: Infinity,
      now: wall(), fetch: sink.fetch,
    });
    const sim = run.simulation;
    await vi.waitFor(() => expect(sim.now).toBeGreaterThan(sim.startAt + 90 * MIN), { timeout: 20_000, interval: 5 });
    await run.stop();
    const closedAt = sim.now;
    expect(sim.endAt).toBe(Infinity);
    const c = expectClosed(sink.events.values(), sim, closedAt);
    expect(c.abandoned.length + c.ended.length).toBeGreaterThan(5);
    expect(c.offline.length).toBeGreaterThan(5);
    const final = await run.done;
    expect(final.running).toBe(false);
    expect(final.sender.sent).toBe(final.events + final.duplicates);
  });

  it('when stopped, a close-out request that fails once is retried (within the stop deadline), not dropped', async () => {
    let stopping = false;
    let failures = 0;
    const sink = ingest(() => stopping && failures++ === 0);
    const run = startSimulation({
      ...BUSY, baseUrl: 'http://x', keys: 'acd:a,ivr:b,crm:c', speed: 60, backfillMs: 3 * H, tickMs: 1, progressMs: 0, maxRetries: Infinity,
      stopTimeoutMs: 30_000, now: wall(), fetch: sink.fetch, ...FAST,
    });
    const sim = run.simulation;
    await vi.waitFor(() => expect(sim.now).toBeGreaterThan(sim.startAt + 90 * MIN), { timeout: 20_000, interval: 5 });
    stopping = true;
    await run.stop();
    expect(failures).toBeGreaterThan(1); // the failed request, then the retry
    expectClosed(sink.events.values(), sim, sim.now);
    await expect(run.done).resolves.toMatchObject({ running: false });
  });

  it('stop() ends even when ingest never answers: past stopTimeoutMs the request in flight is cancelled, and done says what was not sent', async () => {
    let hang = false;
    let inFlight = 0;
    const sink = ingest();
    const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
      if (!hang) return sink.fetch(url, init);
      inFlight++;
      // never answers; only the request's signal ends it
      return new Promise<Response>((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
    }) as typeof fetch;
    const run = startSimulation({
      ...BUSY, baseUrl: 'http://x', keys: 'acd:a,ivr:b,crm:c', speed: 60, backfillMs: 3 * H, tickMs: 1, progressMs: 0, maxRetries: Infinity,
      stopTimeoutMs: 50, now: wall(), fetch: fetchFn,
    });
    await vi.waitFor(() => expect(run.simulation.now).toBeGreaterThan(run.simulation.startAt + 30 * MIN), { timeout: 20_000, interval: 5 });
    hang = true;
    await vi.waitFor(() => expect(inFlight).toBeGreaterThan(0), { timeout: 20_000, interval: 5 });
    await run.stop();
    await expect(run.done).rejects.toThrow(/stopped before ingest answered: \d+ \w+ events not sent/);
    expect(run.stats().running).toBe(false);
  });
});
