// The roster's pure parts: a scope's message on the server (which agents, in which order, how many per state), when an
// agent's state expires, and the wallboard's tile arithmetic (which cards, time in state, how many fit) and
// subscription messages.
import { describe, expect, it } from 'vitest';
import { isStateExpired } from '../../server/kpi/compute.ts';
import { rosterMessage } from '../../server/kpi/roster.ts';
import { MAX_ROSTER_PER_STATE, type RosterAgent } from '../../server/live/protocol.ts';
import { itemsThatFit } from '../../wallboard/src/lib/layout.ts';
import { subscribeMessages } from '../../wallboard/src/lib/live.ts';
import { formatLimits, overLimit, parseLimits, rosterCards, rosterTitle, timeInState } from '../../wallboard/src/lib/roster.ts';

const T0 = Date.parse('2026-11-24T09:00:00.000Z');
const agent = (agentId: string, state: RosterAgent['state'], sinceS: number, over: Partial<RosterAgent> = {}): RosterAgent => ({
  agentId,
  name: '',
  state,
  since: new Date(T0 + sinceS * 1000).toISOString(),
  reason: '',
  queue: 'billing',
  team: 'red',
  channel: 'voice',
  ...over,
});

describe('rosterMessage (server)', () => {
  const agents = [
    agent('a3', 'aux', 10, { reason: 'lunch' }),
    agent('a1', 'available', 30),
    agent('a2', 'available', 5),
    agent('a4', 'busy', 20, { team: 'blue', queue: 'sales' }),
    agent('a5', 'acw', 15, { channel: 'chat' }),
    agent('a0', 'available', 5), // same time as a2: by id
  ];

  it('lists a scope\'s agents by state, the longest in their state first, with counts per state', () => {
    const m = rosterMessage(agents, 'team:red', 'as-of');
    // red: a1, a2, a0 available (since 30, 5, 5 → a2 and a0 tie, a0 first by id), a5 acw, a3 aux; a4 is blue
    expect(m.agents.map((a) => a.agentId)).toEqual(['a0', 'a2', 'a1', 'a5', 'a3']);
    expect(m.counts).toEqual({ available: 3, busy: 0, acw: 1, aux: 1 });
    expect(m).toMatchObject({ type: 'roster', scope: 'team:red', asOf: 'as-of' });
  });

  it('puts each agent on the scopes of their own queue, team, channel and id, and the center', () => {
    expect(rosterMessage(agents, 'queue:sales', 'x').agents.map((a) => a.agentId)).toEqual(['a4']);
    expect(rosterMessage(agents, 'channel:chat', 'x').agents.map((a) => a.agentId)).toEqual(['a5']);
    expect(rosterMessage(agents, 'agent:a3', 'x').agents.map((a) => a.agentId)).toEqual(['a3']);
    expect(rosterMessage(agents, 'center', 'x').counts).toEqual({ available: 3, busy: 1, acw: 1, aux: 1 });
    expect(rosterMessage(agents, 'team:green', 'x')).toMatchObject({ agents: [], counts: { available: 0, busy: 0, acw: 0, aux: 0 } });
  });

  it('sends at most MAX_ROSTER_PER_STATE agents a state (the longest in it), and counts them all', () => {
    const many = Array.from({ length: MAX_ROSTER_PER_STATE + 5 }, (_, i) => agent(`b${String(i).padStart(3, '0')}`, 'busy', i));
    const m = rosterMessage([...many, agent('x1', 'aux', 0)], 'center', 'x');
    expect(m.counts.busy).toBe(MAX_ROSTER_PER_STATE + 5);
    // busy since 0…104 s: the first 100 (since 0…99) are kept, then the one aux agent
    expect(m.agents.length).toBe(MAX_ROSTER_PER_STATE + 1);
    expect(m.agents[MAX_ROSTER_PER_STATE - 1]!.agentId).toBe('b099');
    expect(m.agents.at(-1)!.agentId).toBe('x1');
  });
});

describe('an agent\'s state expiring (AGENT_STATE_MAX_HOURS)', () => {
  const H12 = 12 * 3_600_000;
  it('is expired from the moment it is the cutoff old, never with a cutoff of 0, and not when stamped ahead', () => {
    const t = T0 - H12;
    expect(isStateExpired(t + 1, T0, H12)).toBe(false); // 11:59:59.999 old
    expect(isStateExpired(t, T0, H12)).toBe(true); // exactly 12 h
    expect(isStateExpired(t - 86_400_000, T0, H12)).toBe(true);
    expect(isStateExpired(t - 86_400_000, T0, 0)).toBe(false);
    expect(isStateExpired(T0 + 60_000, T0, H12)).toBe(false); // an ACD clock a minute ahead
  });
});

describe('the roster tile (wallboard)', () => {
  const sent = [agent('a1', 'available', 0), agent('a2', 'busy', 0), agent('a3', 'acw', 0), agent('a4', 'aux', 0), agent('a5', 'aux', 1)];
  const counts = { available: 1, busy: 7, acw: 1, aux: 2 };

  it('shows the chosen states in the chosen order, and counts the agents in them (more than were sent)', () => {
    const r = rosterCards(sent, counts, ['aux', 'busy']);
    expect(r.agents.map((a) => a.agentId)).toEqual(['a4', 'a5', 'a2']);
    // aux 2 + busy 7 = 9 (the server sent one busy agent of seven)
    expect(r.total).toBe(9);
  });

  it('lists the agents over their limit first, so that a small tile never hides them', () => {
    const over = (a: RosterAgent) => a.agentId === 'a3' || a.agentId === 'a5';
    // a3 (acw) and a5 (aux) first, in state order; then the others in state order
    expect(rosterCards(sent, counts, ['available', 'busy', 'acw', 'aux'], over).agents.map((a) => a.agentId)).toEqual(['a3', 'a5', 'a1', 'a2', 'a4']);
  });

  it('is titled by the states it shows', () => {
    expect(rosterTitle(['available', 'busy', 'acw', 'aux'])).toBe('Agents');
    expect(rosterTitle(['aux', 'available', 'acw', 'busy'])).toBe('Agents');
    expect(rosterTitle(['aux'])).toBe('Aux');
    expect(rosterTitle(['aux', 'acw'])).toBe('Aux & Wrap-up');
    expect(rosterTitle(['busy', 'acw', 'aux'])).toBe('Busy, Wrap-up & Aux');
  });

  it('says how long an agent has been in their state, never less than zero', () => {
    const since = new Date(T0).toISOString();
    expect(timeInState(since, T0 + 65_000)).toBe('1:05'); // 65 s = 1 min 5 s
    expect(timeInState(since, T0 + 3_725_000)).toBe('1:02:05'); // 3,725 s = 1 h 2 min 5 s
    expect(timeInState(since, T0 - 4_000)).toBe('0:00'); // the server's clock a little ahead
    expect(timeInState('not a time', T0)).toBe('—');
  });

  it('flags an agent longer in their state than the tile\'s limit for it', () => {
    const a = agent('a1', 'aux', 0); // on aux since T0
    const limits = { aux: 15, acw: 3 };
    expect(overLimit(a, T0 + 15 * 60_000, limits)).toBe(false); // exactly 15 minutes: not over
    expect(overLimit(a, T0 + 15 * 60_000 + 1_000, limits)).toBe(true); // 15 min 1 s
    expect(overLimit(agent('a2', 'busy', 0), T0 + 10 * 3_600_000, limits)).toBe(false); // no limit for busy
    expect(overLimit(a, T0 + 10 * 3_600_000, undefined)).toBe(false);
  });

  it('reads and writes the console\'s limits, passing on what it cannot read for the API to refuse', () => {
    expect(parseLimits(' aux:15 , acw : 3 ')).toEqual({ aux: 15, acw: 3 });
    expect(parseLimits('')).toBeUndefined();
    expect(parseLimits('lunch:15, aux:soon')).toEqual({ lunch: 15, aux: 'soon' });
    expect(formatLimits({ aux: 15, acw: 3 })).toBe('aux:15, acw:3');
    expect(formatLimits(undefined)).toBe('');
  });

  it('fits as many whole cards as there is room for, counting fractional track sizes right', () => {
    // 907 px wide, 4 tracks of (907 − 3 × 6.48) / 4 = 221.89 px: 4 fit, also when the card is measured as 222
    expect(itemsThatFit(907, 221.89, 6.48)).toBe(4);
    expect(itemsThatFit(907, 222, 6.48)).toBe(4);
    // 122 px high, cards of 42 px and gaps of 5.4 px: (122 + 5.4) / 47.4 = 2.69 → 2
    expect(itemsThatFit(122, 42, 5.4)).toBe(2);
    // no room, or nothing measured yet: one
    expect(itemsThatFit(10, 42, 5.4)).toBe(1);
    expect(itemsThatFit(100, 0, 0)).toBe(1);
  });

  it('asks for the roster of the roster tiles\' scopes only, in a message of their own', () => {
    const msgs = subscribeMessages([
      { window: 'today', scopes: ['center', 'queue:billing'], series: true },
      { window: '15m', scopes: ['center'] },
      { window: 'today', scopes: ['team:red'], roster: true },
    ]);
    expect(msgs).toEqual([
      { type: 'subscribe', window: 'today', scopes: ['center', 'queue:billing'], series: true },
      { type: 'subscribe', window: '15m', scopes: ['center'] },
      { type: 'subscribe', window: 'today', scopes: ['team:red'], roster: true },
    ]);
  });
});
