// What the contract says of a broken event: the field, and a reason a connector's author can act on.
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { EventSchema, validateEvent } from '../../server/ingest/contract.ts';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const offer = { id: 'acd-1', source: 'acd', type: 'contact.offered', occurredAt: '2026-11-25T11:59:00Z', contactId: 'c1', queue: 'billing', channel: 'voice' };
const errorsOf = (e: unknown) => {
  const v = validateEvent(e, { now: NOW, retentionDays: 30 });
  return v.ok ? [] : v.errors;
};

describe('the contract\'s refusals', () => {
  it('takes a valid event', () => {
    expect(errorsOf(offer)).toEqual([]);
  });

  it('says a missing type is required, and a wrong one what it must be', () => {
    const { type: _, ...untyped } = offer;
    expect(errorsOf(untyped)).toEqual([{ path: '/type', message: expect.stringMatching(/^is required: one of contact\.offered, /) }]);
    expect(errorsOf({ ...offer, type: 'Contact.Offered' })).toEqual([{ path: '/type', message: expect.stringMatching(/^must be one of contact\.offered, /) }]);
  });

  it('counts the attributes over the limit', () => {
    const attributes = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect(errorsOf({ ...offer, attributes })).toEqual([{ path: '/attributes', message: 'has 33 entries: at most 32' }]);
  });

  it('says what the server\'s clock read when an event is too far ahead', () => {
    // 12:05:01 is 5 min 1 s past the server's 12:00:00
    expect(errorsOf({ ...offer, occurredAt: '2026-11-25T12:05:01Z' })).toEqual([
      { path: '/occurredAt', message: "is more than 5 minutes in the future: the server's clock read 2026-11-25T12:00:00.000Z (check the sender's clock)" },
    ]);
    expect(errorsOf({ ...offer, occurredAt: '2026-11-25T12:05:00Z' })).toEqual([]); // exactly 5 minutes: taken
  });

  it('publishes the rules beyond the fields in its JSON Schema too: a generic validator refuses what the server refuses', () => {
    // (an integrator's validator or code generator reads /v1/events/schema; before, it took a csat of 6 and a transfer to nowhere)
    const check = new Ajv({ strict: false }).compile(EventSchema);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['an offer', offer],
      ['a transfer to a queue', { ...offer, type: 'contact.transferred', toQueue: 'sales', queue: undefined, channel: undefined }],
      ['a transfer to nowhere', { ...offer, type: 'contact.transferred', queue: undefined, channel: undefined }],
      ['an nps of 9', { ...offer, source: 'crm', type: 'survey.response', metric: 'nps', score: 9, queue: undefined, channel: undefined }],
      ['a csat of 6', { ...offer, source: 'crm', type: 'survey.response', metric: 'csat', score: 6, queue: undefined, channel: undefined }],
      ['a ces of 0', { ...offer, source: 'crm', type: 'survey.response', metric: 'ces', score: 0, queue: undefined, channel: undefined }],
    ];
    for (const [what, e] of cases) {
      const event = JSON.parse(JSON.stringify(e)); // without the undefined fields
      expect(check(event), what).toBe(errorsOf(event).length === 0);
    }
    expect(cases.map(([, e]) => errorsOf(JSON.parse(JSON.stringify(e))).length === 0)).toEqual([true, true, false, true, false, false]);
  });
});
