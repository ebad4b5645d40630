// contactMeasures (server/kpi/measures.ts): the measures of one contact from its history. The golden scenario
// (test/integration/kpi-golden.test.ts) checks every KPI end to end; these pin the per-contact rules one by one.
import { describe, expect, it } from 'vitest';
import { measureVersion } from '../../server/kpi/materialize.ts';
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
    // team: a1's events name none, so the team events of no agent name: the first offer's red
    expect(answer).toMatchObject({ kind: 'answer', waitMs: 15_000, queue: 'sales', channel: 'voice', agentId: 'a1', team: 'red' });
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

  it('an answer counts once per offer: a transfer straight to another agent adds no answer, an outbound call none', () => {
    // Offered 10:00:00, a1 answers at :10, transfers to a2 (no new offer), a2 answers at 10:03:05: one contact answered
    // once, 10 s after its offer. Counting a2's answer too made answered 2, SL 1 of 2 and ASA (10 + 185) / 2 = 97.5 s.
    const direct = [
      ev('contact.offered', 0, { queue: 'billing', channel: 'voice' }),
      ev('contact.answered', 10, { agentId: 'a1' }),
      ev('contact.transferred', 180, { agentId: 'a1' }),
      ev('contact.answered', 185, { agentId: 'a2' }),
      ev('contact.ended', 400, { agentId: 'a2', talkMs: 200_000, holdMs: 0, acwMs: 15_000 }),
    ];
    const answers = contactMeasures('d1', direct, none, 7 * DAY).filter((m) => m.kind.endsWith('answer'));
    // a2's is stored as an answer that counts in nothing (a late event can turn one kind into the other)
    expect(answers).toMatchObject([{ kind: 'answer', agentId: 'a1', waitMs: 10_000 }, { kind: 'other_answer', agentId: 'a2', waitMs: null }]);
    // an outbound call: answered, never offered; its handling still counts (the end)
    const outbound = [ev('contact.answered', 0, { agentId: 'a3', queue: 'billing' }), ev('contact.ended', 90, { agentId: 'a3', talkMs: 80_000 })];
    expect(contactMeasures('d2', outbound, none, 7 * DAY).map((m) => m.kind)).toEqual(['other_answer', 'end']);
    // offered again after a transfer to a queue: the new offer is answered once more (two offers, two answers)
    const requeued = [
      ev('contact.offered', 0, { queue: 'billing' }),
      ev('contact.answered', 10, { agentId: 'a1' }),
      ev('contact.transferred', 60, { agentId: 'a1' }),
      ev('contact.offered', 60, { queue: 'retention' }),
      ev('contact.answered', 75, { agentId: 'a2' }),
    ];
    expect(contactMeasures('d3', requeued, none, 7 * DAY).filter((m) => m.kind === 'answer')).toMatchObject([
      { agentId: 'a1', queue: 'billing', waitMs: 10_000 },
      { agentId: 'a2', queue: 'retention', waitMs: 15_000 },
    ]);
  });

  it('after a transfer to a queue, the first agent\'s end naming no queue is the first queue\'s', () => {
    // docs/events.md's transfer: ayşe answers in billing (10:00:10), transfers to retention (10:03:00), ends her leg at
    // 10:03:40; mehmet answers in retention (10:03:20) and ends at 10:08:10. Handle times: ayşe 170 + 30 = 200 s in
    // billing, mehmet 260 + 30 = 290 s in retention (the end's queue was the contact's latest: retention for both).
    const events = [
      ev('contact.offered', 0, { queue: 'billing', channel: 'voice' }),
      ev('contact.answered', 10, { agentId: 'ayse' }),
      ev('contact.transferred', 180, { agentId: 'ayse' }),
      ev('contact.offered', 180, { queue: 'retention', channel: 'voice' }),
      ev('contact.answered', 200, { agentId: 'mehmet' }),
      ev('contact.ended', 220, { agentId: 'ayse', talkMs: 170_000, holdMs: 0, acwMs: 30_000 }),
      ev('contact.ended', 490, { agentId: 'mehmet', talkMs: 260_000, holdMs: 0, acwMs: 30_000, resolved: true }),
    ];
    const ends = contactMeasures('t1', events, none, 7 * DAY).filter((m) => m.kind === 'end');
    expect(ends).toMatchObject([
      { agentId: 'ayse', queue: 'billing', handleMs: 200_000 },
      { agentId: 'mehmet', queue: 'retention', handleMs: 290_000 },
    ]);
  });

  it('an event whose agent named no team takes the team of the contact (a ticket\'s creation, an offer)', () => {
    // The ticket names tier1; mehmet's reply names no team; the solve and the survey name no agent (mehmet is taken
    // from the contact) and no team. All three are tier1's (they had none, so team:tier1 showed no FCR and no CSAT).
    const src = { source: 'crm' };
    const events = [
      ev('ticket.created', 0, { ...src, queue: 'email', channel: 'email', team: 'tier1' }),
      ev('ticket.replied', 600, { ...src, agentId: 'mehmet', public: true }),
      ev('ticket.solved', 900, src),
      ev('survey.response', 1000, { ...src, metric: 'csat', score: 5 }),
    ];
    const measures = contactMeasures('k1', events, none, 7 * DAY);
    expect(measures.map((m) => [m.kind, m.agentId, m.team])).toEqual([
      ['reply', 'mehmet', 'tier1'],
      ['solve', 'mehmet', 'tier1'],
      ['survey', 'mehmet', 'tier1'],
    ]);
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

describe('measureVersion', () => {
  it('follows the clock but never goes back: rows written after a clock was set back still replace the older ones', () => {
    const t = Date.now() + 3_600_000; // later than any version this process gave before
    expect(measureVersion(t)).toBe(t);
    // an NTP step of 3 s back: the next rows get a greater version all the same
    expect(measureVersion(t - 3_000)).toBe(t + 1);
    expect(measureVersion(t + 4_000)).toBe(t + 4_000); // the clock again once past
  });
});
