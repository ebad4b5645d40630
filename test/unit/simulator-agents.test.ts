// Agents' breaks across logouts, and routing from the ticket backlog.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, runSimulation, type CenterModel } from '../../server/simulator/index.ts';

const H = 3_600_000;
const START = Date.parse('2026-11-23T00:00:00Z');

describe('breaks', () => {
  it('an agent who logs out and back in keeps one break cycle: breaks come at auxPerHour per hour logged in, however often they re-log', () => {
    // The curve swings every hour between the peak and nothing, so most agents log out and back in a dozen times in
    // the day (the lunch dip, exaggerated). Breaks are rare (0.1 an hour, a mean 10 h apart) so that a cycle left over
    // from an earlier login would rarely die before firing: each re-login would add one, and breaks would multiply.
    const model: CenterModel = { ...DEFAULT_MODEL, auxPerHour: 0.1 };
    const curve = Array.from({ length: 24 }, (_, h) => (h % 2 === 0 ? 1 : 0));
    const { simulation, emissions } = runSimulation({ seed: 'relogin', agents: 60, startAt: START, durationMs: 24 * H, curve, model, duplicateRate: 0, lateRate: 0 });
    const since = new Map<string, number>();
    const logins = new Map<string, number>();
    let loggedInMs = 0;
    let breaks = 0;
    for (const { event: e, at } of emissions) {
      if (e.type !== 'agent.state') continue;
      if (e.state === 'aux') breaks++;
      if (e.state === 'offline') {
        loggedInMs += at - since.get(e.agentId)!;
        since.delete(e.agentId);
      } else if (!since.has(e.agentId)) {
        since.set(e.agentId, at);
        logins.set(e.agentId, (logins.get(e.agentId) ?? 0) + 1);
      }
    }
    for (const t of since.values()) loggedInMs += simulation.endAt - t;
    const relogged = [...logins.values()].filter((n) => n >= 5).length;
    expect(relogged).toBeGreaterThan(30); // the scenario does what it says
    // One cycle per login session: breaks ≈ Poisson(0.1 × hours logged in); e.g. 700 h → λ = 70, band ±4√70 = ±33.
    // (A break and waiting to be free add ~15 min to the mean 10 h interval: 2.5 % fewer, well inside the band.)
    const lambda = 0.1 * (loggedInMs / H);
    expect(lambda).toBeGreaterThan(40);
    expect(Math.abs(breaks - lambda), `${breaks} breaks in ${(loggedInMs / H).toFixed(0)} h logged in (λ ${lambda.toFixed(1)})`).toBeLessThanOrEqual(4 * Math.sqrt(lambda));
  });
});

describe('the ticket backlog', () => {
  it('a new ticket goes to an available agent with its skill, never the head of the backlog from a queue the agent lacks', () => {
    // Two ticket queues served by different teams: when the vip team is busy, vip tickets wait in the backlog; an
    // email agent free at that moment must take the new email ticket, not the older vip one.
    const email = DEFAULT_MODEL.queues.find((q) => q.name === 'email')!;
    const model: CenterModel = {
      ...DEFAULT_MODEL,
      queues: [
        { ...email, share: 0.5 },
        { ...email, name: 'vip-email', share: 0.5 },
      ],
      teams: [
        { name: 'red', skills: ['email'] },
        { name: 'blue', skills: ['vip-email'] },
      ],
    };
    const { emissions } = runSimulation({ seed: 'backlog', agents: 12, load: 1.1, startAt: START + 8 * H, durationMs: 8 * H, curve: 'flat', model, duplicateRate: 0, lateRate: 0 });
    const skills = new Map(model.teams.map((t) => [t.name, t.skills]));
    const replies = emissions.filter((e) => e.event.type === 'ticket.replied').map((e) => e.event as { queue: string; team: string; contactId: string });
    const queueOf = new Map<string, string>();
    for (const { event: e } of emissions) if (e.type === 'ticket.created') queueOf.set(e.contactId, e.queue!);
    expect(replies.length).toBeGreaterThan(300);
    const wrong = replies.filter((r) => !skills.get(r.team)!.includes(queueOf.get(r.contactId)!));
    expect(wrong.slice(0, 3)).toEqual([]);
  });
});

describe('home queues', () => {
  it('every queue a team serves shows available agents: an agent is reported in a primary skill taken in turn from the team', () => {
    // 30 agents over three teams of three skills each: with every agent's home its team's first skill, sales and
    // chat-support (no team's first skill) never had an agent.state in them, so per-queue "Available" read 0 all day.
    const { emissions } = runSimulation({ seed: 'homes', agents: 30, startAt: START + 8 * H, durationMs: 2 * H, curve: 'flat', duplicateRate: 0, lateRate: 0 });
    const available = new Map<string, Set<string>>();
    for (const { event: e } of emissions) {
      if (e.type !== 'agent.state' || e.state !== 'available') continue;
      const q = (e as { queue: string }).queue;
      available.set(q, (available.get(q) ?? new Set()).add(e.agentId));
    }
    const served = new Set(DEFAULT_MODEL.teams.flatMap((t) => t.skills));
    for (const q of served) expect(available.get(q)?.size ?? 0, `agents available in ${q}`).toBeGreaterThan(0);
    // …and an agent keeps one home: the same queue for all its available states.
    const homes = new Map<string, Set<string>>();
    for (const [q, agents] of available) for (const a of agents) homes.set(a, (homes.get(a) ?? new Set()).add(q));
    expect([...homes.values()].every((qs) => qs.size === 1)).toBe(true);
  });
});
