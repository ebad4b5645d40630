// Builders of valid contract events for tests: one per type, with overridable fields.
import type { EventType, IngestEvent } from '../../server/ingest/contract.ts';

let seq = 0;
export const nextId = (prefix = 'e') => `${prefix}-${Date.now().toString(36)}-${++seq}`;

/** A valid event of each type, occurring `agoMs` before now. */
export function sampleEvent(type: EventType, overrides: Record<string, unknown> = {}, agoMs = 60_000): IngestEvent {
  const occurredAt = new Date(Date.now() - agoMs).toISOString();
  const base = { id: nextId(type), occurredAt, contactId: nextId('c') };
  const byType: Record<EventType, Record<string, unknown>> = {
    'contact.offered': { source: 'acd', queue: 'billing', channel: 'voice', team: 'red', customerId: 'cust-1' },
    'contact.answered': { source: 'acd', agentId: 'a1', queue: 'billing' },
    'contact.abandoned': { source: 'acd', queue: 'billing' },
    'contact.transferred': { source: 'acd', toQueue: 'sales' },
    'contact.ended': { source: 'acd', agentId: 'a1', talkMs: 120_000, holdMs: 10_000, acwMs: 30_000, resolved: true },
    'agent.state': { source: 'acd', agentId: 'a1', state: 'available', contactId: undefined },
    'ivr.started': { source: 'ivr' },
    'ivr.ended': { source: 'ivr', outcome: 'contained' },
    'ticket.created': { source: 'crm', channel: 'email', queue: 'support' },
    'ticket.replied': { source: 'crm', agentId: 'a2' },
    'ticket.solved': { source: 'crm' },
    'ticket.reopened': { source: 'crm' },
    'survey.response': { source: 'ivr', metric: 'csat', score: 5 },
  };
  const event: Record<string, unknown> = { ...base, type, ...byType[type], ...overrides };
  for (const k of Object.keys(event)) if (event[k] === undefined) delete event[k];
  return event as IngestEvent;
}
