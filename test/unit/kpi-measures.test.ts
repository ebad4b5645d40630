// contactMeasures (server/kpi/measures.ts): the measures of one contact from its history. The golden scenario
// (test/integration/kpi-golden.test.ts) checks every KPI end to end; these pin the per-contact rules one by one.
import { describe, expect, it } from 'vitest';
import { contactMeasures, type ContactEvent, type Interaction } from '../../server/kpi/measures.ts';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
let seq = 0;
function ev(type: string, sec: number, fields: Partial<ContactEvent> = {}): ContactEvent {
  return {
    t: T0 + sec * 1000, source: 'acd', id: `e${++seq}`, type, queue: '', team: '', channel: '', agentId: '', customerId: '',
    talkMs: null, holdMs: null, acwMs: null, resolved: false, public: false, metric: '', score: null, outcome: '', ...fields,
  };
}
const none = (): Interaction[] => [];
const DAY = 86_400_000;

describe('contactMeasures', () => {
  it('an answer takes its scope from the contact and its wait from the latest earlier offer', () => {
    const events = [
      ev('contact.offered', 0, { queue: 'billing', channel: 'voice', team: 'red' }),
      ev('contact.transferred', 30),
      ev('contact.offered', 40, { queue: 'sales', channel: 'voice' }),
      ev('contact.answered', 55, { agentId: 'a1' }),
      ev('contact.ended', 400, { talkMs: 300_000, holdMs: 20_000, acwMs: null, resolved: true }),
    ];
    const [, , answer, end] = contactMeasures('c1', events, none, 7 * DAY);
    // wait = 55 s − 40 s (the latest offer at or before the answer), queue = sales (latest earlier queue)
    // team: only a team named with a1 counts (the offer's red was nobody's): none
    expect(answer).toMatchObject({ kind: 'answer', waitMs: 15_000, queue: 'sales', channel: 'voice', agentId: 'a1', team: '' });
    // handle = 300 + 20 + 0 s; resolved, but transferred → not a first-contact resolution
    expect(end).toMatchObject({ kind: 'end', handleMs: 320_000, agentId: 'a1', isResolution: true, fcr: false });
  });

  it('offers and IVR ends keep their own scope; abandons belong to no agent', () => {
    const events = [
      ev('ivr.ended', 0, { source: 'ivr', outcome: 'contained' }),
      ev('contact.offered', 10, { queue: 'billing', channel: 'chat' }),
      ev('contact.abandoned', 40),
      ev('contact.ended', 50, { agentId: 'a9', team: 'blue' }),
    ];
    const [ivr, offer, abandon] = contactMeasures('c2', events, none, 7 * DAY);
    expect(ivr).toMatchObject({ kind: 'ivr', contained: true, queue: '', channel: '' });
    expect(offer).toMatchObject({ kind: 'offer', queue: 'billing', agentId: '', team: '' });
    // wait = 40 − 10 s; the agent and team that show up later are not the abandon's
    expect(abandon).toMatchObject({ kind: 'abandon', waitMs: 30_000, queue: 'billing', agentId: '', team: '' });
  });

  it('a team comes from the event\'s agent on this contact before any other agent\'s', () => {
    const events = [
      ev('contact.offered', 0, { queue: 'q' }),
      ev('agent.note', 1, { agentId: 'a1', team: 'red' }),
      ev('agent.note', 2, { agentId: 'a2', team: 'blue' }),
      ev('contact.answered', 5, { agentId: 'a1' }),
    ];
    const answer = contactMeasures('c3', events, none, 7 * DAY).find((m) => m.kind === 'answer')!;
    expect(answer.team).toBe('red'); // blue is later and a2's
  });

  it('FRT counts from creation to the first public reply; only the first resolution counts', () => {
    const src = { source: 'crm' };
    const events = [
      ev('ticket.created', 0, { ...src, queue: 'support', channel: 'email' }),
      ev('ticket.replied', 60, { ...src, agentId: 'a2', public: false }),
      ev('ticket.replied', 120, { ...src, agentId: 'a2', public: true }),
      ev('ticket.replied', 180, { ...src, agentId: 'a2', public: true }),
      ev('ticket.solved', 200, src),
      ev('ticket.reopened', 300, src),
      ev('ticket.solved', 400, src),
    ];
    const ms = contactMeasures('t1', events, none, 7 * DAY);
    expect(ms.filter((m) => m.kind === 'reply').map((m) => [m.frtMs, m.isFirstReply])).toEqual([[120_000, true], [180_000, false]]);
    // the private reply is no measure; the second solve is not a resolution; reopened → no FCR
    expect(ms.filter((m) => m.kind === 'solve').map((m) => [m.isResolution, m.fcr])).toEqual([[true, false], [false, false]]);
    expect(ms.every((m) => m.queue === 'support' && m.channel === 'email')).toBe(true);
  });

  it('FRT leaves out a reply stamped before the creation, and counts the first one after it', () => {
    const src = { source: 'crm' };
    const events = [
      ev('ticket.replied', -30, { ...src, agentId: 'a2', public: true }), // a CRM clock 30 s off: before the creation
      ev('ticket.created', 0, { ...src, queue: 'support', channel: 'email' }),
      ev('ticket.replied', 1800, { ...src, agentId: 'a2', public: true }),
    ];
    const ms = contactMeasures('t2', events, none, 7 * DAY);
    // the early reply: no FRT, not the first; the one at 1,800 s is the first reply: FRT 1,800 s − 0 s
    expect(ms.filter((m) => m.kind === 'reply').map((m) => [m.frtMs, m.isFirstReply])).toEqual([[null, false], [1_800_000, true]]);
  });

  it('FCR looks back at the customer\'s other interactions within the look-back only', () => {
    const events = [ev('contact.offered', 0, { customerId: 'cu' }), ev('contact.ended', 100, { agentId: 'a', resolved: true })];
    const fcrWith = (interactions: Interaction[]) => contactMeasures('c5', events, () => interactions, 7 * DAY).find((m) => m.kind === 'end')!.fcr;
    expect(fcrWith([])).toBe(true);
    expect(fcrWith([{ contactId: 'c5', t: T0 }])).toBe(true); // itself
    expect(fcrWith([{ contactId: 'old', t: T0 - 6 * DAY }])).toBe(false); // 6 days before: inside the 7-day look-back
    expect(fcrWith([{ contactId: 'older', t: T0 - 8 * DAY }])).toBe(true); // outside it
    expect(fcrWith([{ contactId: 'later', t: T0 + 1000 }])).toBe(true); // after the contact began
  });

  it('survey answers carry their metric and score; a contact without completions has no measures', () => {
    const [s] = contactMeasures('c6', [ev('survey.response', 0, { metric: 'nps', score: 9 })], none, DAY);
    expect(s).toMatchObject({ kind: 'survey', metric: 'nps', score: 9 });
    expect(contactMeasures('c7', [ev('contact.transferred', 0)], none, DAY)).toEqual([]);
    expect(contactMeasures('c8', [], none, DAY)).toEqual([]);
  });
});
