// The event contract, v1: one schema per event type (TypeBox, i.e. JSON Schema), the TypeScript types derived from
// it, and the checks JSON Schema cannot express (time bounds, score ranges per survey metric). The ingest route,
// the OpenAPI document, the simulator and the tests all import it from here. docs/events.md explains it.
import { Type, type Static, type TLiteral, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

import { SOURCES, type Source } from './source-names.ts';

export { SOURCES, type Source };
/** An event's identity, `(source, id)`, as one string (a Map or Set key): the idempotency key of the contract. */
export const eventKey = (source: string, id: string) => `${source}\u0000${id}`;
export const CHANNELS = ['voice', 'chat', 'email', 'social', 'sms'] as const;
export const AGENT_STATES = ['available', 'busy', 'acw', 'aux', 'offline'] as const;
export const IVR_OUTCOMES = ['contained', 'transferred', 'abandoned'] as const;
export const SURVEY_METRICS = ['csat', 'ces', 'nps', 'fcr'] as const;
export type SurveyMetric = (typeof SURVEY_METRICS)[number];

/** Inclusive score range of each survey metric. */
export const SURVEY_SCALES: Record<SurveyMetric, { min: number; max: number }> = {
  csat: { min: 1, max: 5 },
  ces: { min: 1, max: 7 },
  nps: { min: 0, max: 10 },
  fcr: { min: 0, max: 1 },
};

export const MAX_FUTURE_MS = 5 * 60_000;
export const ATTRIBUTES_MAX_KEYS = 32;
/** An attribute's name: 1 to 64 characters, any (`[\s\S]`: a line break too, where `.` stops). */
const ATTRIBUTE_KEY = '^[\\s\\S]{1,64}$';

function oneOf<const T extends readonly string[]>(values: T, description: string): TUnion<{ [K in keyof T]: TLiteral<T[K]> }[number][]> {
  return Type.Union(values.map((v) => Type.Literal(v)), { description }) as never;
}
const Name = (description: string, maxLength = 128) => Type.String({ minLength: 1, maxLength, description });
const Ms = (description: string) => Type.Integer({ minimum: 0, maximum: 86_400_000, description });
const Channel = oneOf(CHANNELS, 'Contact channel.');

/**
 * RFC 3339 with an explicit offset; fractions beyond milliseconds are accepted and truncated. Its `T` and `Z` may be
 * lower case (RFC 3339, 5.6): spelt out, since the published JSON Schema takes the pattern without its flags.
 */
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Fields every event may carry. Each type below adds or tightens its own. */
const envelope = {
  id: Name('Sender-assigned event id, unique per source: the idempotency key. A retry must reuse it.'),
  source: oneOf(SOURCES, 'The sending system; must match the ingest key.'),
  occurredAt: Type.String({
    pattern: TIMESTAMP_RE.source,
    description: 'When it happened: RFC 3339 with an offset, e.g. 2026-11-23T09:15:02.250+03:00. Stored in UTC, ms precision.',
  }),
  contactId: Name('The call, chat or ticket this event belongs to.'),
  queue: Type.Optional(Name('Queue name.', 64)),
  team: Type.Optional(Name('Team name.', 64)),
  channel: Type.Optional(Channel),
  agentId: Type.Optional(Name('Agent id.')),
  customerId: Type.Optional(Name('Customer id, used to find repeat contacts (FCR).')),
  attributes: Type.Optional(
    // A record's key schema becomes a pattern (TypeBox drops its lengths), so the key's 1–64 characters are the
    // pattern; a key outside it is an additional property, refused.
    Type.Record(Type.String({ pattern: ATTRIBUTE_KEY }), Type.String({ maxLength: 1024 }), {
      additionalProperties: false,
      maxProperties: ATTRIBUTES_MAX_KEYS,
      description: `Free-form string attributes (at most ${ATTRIBUTES_MAX_KEYS} keys; keys of 1 to 64 characters, values up to 1024).`,
    }),
  ),
};

/**
 * One event type. `rules`: what validateEvent checks beyond the fields, said in JSON Schema for the published contract
 * (the compiled checks leave these keywords to validateEvent, whose messages are clearer).
 */
function variant<const T extends string, P extends TProperties>(type: T, sources: readonly Source[], description: string, props: P, rules: object = {}) {
  return Type.Object(
    { ...props, type: Type.Literal(type, { description }) },
    { additionalProperties: false, title: type, description: `${description} Sent by: ${sources.join(', ')}.`, 'x-sources': sources, ...rules },
  );
}

const VARIANTS = {
  'contact.offered': variant('contact.offered', ['acd'], 'A contact entered a queue.', {
    ...envelope,
    queue: Name('Queue name.', 64),
    channel: Channel,
  }),
  'contact.answered': variant('contact.answered', ['acd'], 'An agent answered the contact.', { ...envelope, agentId: Name('Agent id.') }),
  'contact.abandoned': variant('contact.abandoned', ['acd'], 'The customer hung up or left before being answered.', envelope),
  'contact.transferred': variant('contact.transferred', ['acd'], 'The contact was transferred; give `toQueue` or `toAgentId` (or both).', {
    ...envelope,
    toQueue: Type.Optional(Name('Target queue.', 64)),
    toAgentId: Type.Optional(Name('Target agent.')),
  }, { anyOf: [{ required: ['toQueue'] }, { required: ['toAgentId'] }] }),
  'contact.ended': variant('contact.ended', ['acd'], 'Handling finished, after wrap-up.', {
    ...envelope,
    agentId: Name('Agent id.'),
    talkMs: Ms('Talk time in milliseconds.'),
    holdMs: Ms('Hold time in milliseconds.'),
    acwMs: Ms('After-call work (wrap-up) time in milliseconds.'),
    resolved: Type.Optional(Type.Boolean({ description: "The customer's issue was resolved by this contact." })),
  }),
  'agent.state': variant('agent.state', ['acd'], 'An agent changed state.', {
    ...envelope,
    contactId: Type.Optional(Name('Not needed for agent states.')),
    agentId: Name('Agent id.'),
    state: oneOf(AGENT_STATES, 'The new state.'),
    reason: Type.Optional(Name('Reason, e.g. the aux code.', 64)),
  }),
  'ivr.started': variant('ivr.started', ['ivr'], 'A caller entered the IVR.', envelope),
  'ivr.ended': variant('ivr.ended', ['ivr'], 'The IVR session ended.', {
    ...envelope,
    outcome: oneOf(IVR_OUTCOMES, 'contained: self-served; transferred: sent to a queue; abandoned.'),
  }),
  'ticket.created': variant('ticket.created', ['crm'], 'A ticket was created.', { ...envelope, channel: Channel }),
  'ticket.replied': variant('ticket.replied', ['crm'], 'An agent replied on the ticket.', {
    ...envelope,
    agentId: Name('Agent id.'),
    public: Type.Optional(Type.Boolean({ default: true, description: 'Visible to the customer (default true); internal notes are false.' })),
  }),
  'ticket.solved': variant('ticket.solved', ['crm'], 'The ticket was solved.', envelope),
  'ticket.reopened': variant('ticket.reopened', ['crm'], 'A solved ticket was reopened.', envelope),
  'survey.response': variant('survey.response', ['ivr', 'crm'], 'A customer answered a survey question about the contact `contactId`.', {
    ...envelope,
    metric: oneOf(SURVEY_METRICS, 'csat (1–5), ces (1–7, 1 = very low effort), nps (0–10), fcr (0 = no, 1 = yes).'),
    score: Type.Integer({ minimum: 0, maximum: 10, description: "The answer, on the metric's scale." }),
  }, {
    // each metric's scale (JSON Schema and OpenAPI 3.0 alike: `enum` of one rather than `const`)
    anyOf: SURVEY_METRICS.map((m) => ({ properties: { metric: { enum: [m] }, score: { minimum: SURVEY_SCALES[m].min, maximum: SURVEY_SCALES[m].max } } })),
  }),
};

export type EventType = keyof typeof VARIANTS;
export const EVENT_TYPES = Object.keys(VARIANTS) as EventType[];

/** Which sources may send each type. */
export function sourcesOf(type: EventType): readonly Source[] {
  return VARIANTS[type]['x-sources'] as readonly Source[];
}

/** The whole contract as one JSON Schema (a union discriminated by `type`), published at /v1/events/schema. */
export const EventSchema = Type.Union(Object.values(VARIANTS) as TObject[], {
  $id: 'IngestEvent',
  title: 'Nabız ingest event (v1)',
  discriminator: { propertyName: 'type' },
});

/** An event as an integrator sends it. */
export type IngestEvent = { [K in EventType]: Static<(typeof VARIANTS)[K]> }[EventType];

/** An event that passed validation, with its time parsed. */
export type ValidEvent = IngestEvent & { occurredAtMs: number };

export interface FieldError {
  path: string;
  message: string;
}

const CHECKS = Object.fromEntries(EVENT_TYPES.map((t) => [t, TypeCompiler.Compile(VARIANTS[t] as TObject)])) as unknown as Record<
  EventType,
  TypeCheck<TObject>
>;

function describe(e: ValueError): FieldError {
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { path: e.path, message: 'is required' };
    case ValueErrorType.ObjectAdditionalProperties:
      if (e.path.startsWith('/attributes/')) return { path: e.path, message: 'an attribute name must have 1 to 64 characters' };
      return { path: e.path, message: 'is not a field of this event type (check the spelling)' };
    case ValueErrorType.Union:
      return { path: e.path, message: `must be one of ${(e.schema.anyOf as TSchema[]).map((s) => s.const).join(', ')}` };
    case ValueErrorType.ObjectMaxProperties:
      return { path: e.path, message: `has ${Object.keys(e.value as object).length} entries: at most ${e.schema.maxProperties}` };
    case ValueErrorType.StringMinLength:
      return { path: e.path, message: 'must not be empty' };
    case ValueErrorType.StringMaxLength:
      return { path: e.path, message: `must be at most ${e.schema.maxLength} characters` };
    case ValueErrorType.StringPattern:
      return { path: e.path, message: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-11-23T09:15:02.250Z' };
    default:
      return { path: e.path, message: e.message.replace(/^Expected/, 'must be') };
  }
}

/** Parses an RFC 3339 timestamp (already pattern-checked) to epoch ms, or NaN for an impossible date. */
export function parseTimestamp(value: string): number {
  const m = TIMESTAMP_RE.exec(value);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac = '', off] = m;
  const ms = Number((frac.slice(1) + '000').slice(0, 3));
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const back = new Date(t);
  if (back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return Number.NaN;
  }
  if (off && off.toUpperCase() !== 'Z') {
    const [oh, om] = [Number(off.slice(1, 3)), Number(off.slice(4, 6))];
    if (oh > 23 || om > 59) return Number.NaN;
    t -= (off.startsWith('-') ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return t;
}

export interface ValidationOptions {
  now: number;
  /** Oldest accepted occurredAt, in days before now. */
  retentionDays: number;
}

export type Validation = { ok: true; event: ValidEvent } | { ok: false; errors: FieldError[] };

/** Validates one decoded event against the contract; every error names the field (a JSON pointer) and the reason. */
export function validateEvent(input: unknown, opts: ValidationOptions): Validation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ path: '', message: 'must be a JSON object' }] };
  }
  const type = (input as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(VARIANTS, type)) {
    return { ok: false, errors: [{ path: '/type', message: `${type === undefined ? 'is required: ' : 'must be '}one of ${EVENT_TYPES.join(', ')}` }] };
  }
  const check = CHECKS[type as EventType];
  if (!check.Check(input)) {
    const errors: FieldError[] = [];
    for (const e of check.Errors(input)) {
      const fe = describe(e);
      if (!errors.some((x) => x.path === fe.path)) errors.push(fe);
      if (errors.length >= 20) break;
    }
    return { ok: false, errors };
  }
  const event = input as IngestEvent;
  const errors: FieldError[] = [];
  const sources = sourcesOf(event.type);
  if (!sources.includes(event.source)) {
    errors.push({ path: '/type', message: `${event.type} events come from ${sources.join(' or ')}, not ${event.source}` });
  }
  const at = parseTimestamp(event.occurredAt);
  if (Number.isNaN(at)) errors.push({ path: '/occurredAt', message: 'is not a real date and time' });
  else if (at > opts.now + MAX_FUTURE_MS) {
    errors.push({ path: '/occurredAt', message: `is more than 5 minutes in the future: the server's clock read ${new Date(opts.now).toISOString()} (check the sender's clock)` });
  }
  else if (at < opts.now - opts.retentionDays * 86_400_000) {
    errors.push({ path: '/occurredAt', message: `is older than the retention (${opts.retentionDays} days)` });
  }
  if (event.type === 'contact.transferred' && event.toQueue === undefined && event.toAgentId === undefined) {
    errors.push({ path: '/toQueue', message: 'toQueue or toAgentId is required' });
  }
  if (event.type === 'survey.response') {
    const scale = SURVEY_SCALES[event.metric];
    if (event.score < scale.min || event.score > scale.max) {
      errors.push({ path: '/score', message: `must be an integer from ${scale.min} to ${scale.max} for ${event.metric}` });
    }
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, event: { ...event, occurredAtMs: at } };
}
