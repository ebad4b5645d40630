// The live-stream protocol (GET /v1/stream, a websocket): every message is one JSON object with a `type`.
// One module for the server, the wallboard and the tests; docs/live.md explains it.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { MAX_SUBSCRIPTIONS } from './limits.ts';

export const WINDOW_NAMES = ['today', '1h', '15m'] as const;
export type LiveWindow = (typeof WINDOW_NAMES)[number];

const Window = Type.Union(WINDOW_NAMES.map((w) => Type.Literal(w)));
/** `center`, `queue:<name>`, `team:<name>`, `channel:<name>` or `agent:<id>`. */
const Scope = Type.String({ minLength: 1, maxLength: 200, pattern: '^(center|(queue|team|channel|agent):.+)$' });
const KpiValue = Type.Object({ value: Type.Union([Type.Number(), Type.Null()]), n: Type.Integer({ minimum: 0 }) });

// --- client → server -------------------------------------------------------------------------------------------


export const ClientMessageSchema = Type.Union([
  /** Adds (window, scope) pairs; the server answers at once with their latest snapshots and the active alerts. */
  Type.Object(
    {
      type: Type.Literal('subscribe'),
      window: Window,
      scopes: Type.Array(Scope, { minItems: 1, maxItems: MAX_SUBSCRIPTIONS }),
      /** Also send the 15-minute series of today for these scopes (trend charts). */
      series: Type.Optional(Type.Boolean()),
      /** Also send the roster of these scopes (each agent, their state and since when), and again when it changes. */
      roster: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  /** Removes pairs; without `window`/`scopes`, everything. */
  Type.Object(
    { type: Type.Literal('unsubscribe'), window: Type.Optional(Window), scopes: Type.Optional(Type.Array(Scope, { maxItems: MAX_SUBSCRIPTIONS })) },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('ping'), id: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
]);
export type ClientMessage = Static<typeof ClientMessageSchema>;

// --- server → client -------------------------------------------------------------------------------------------

export const AlertLevelSchema = Type.Union([Type.Literal('warning'), Type.Literal('critical')]);
export type AlertLevel = Static<typeof AlertLevelSchema>;

/** An alert: one breach of one threshold for one scope, from when it fired to when it cleared. */
export const AlertSchema = Type.Object({
  id: Type.String(),
  thresholdId: Type.String(),
  kpi: Type.String(),
  scope: Scope,
  window: Window,
  /** The current level; `ok` once cleared (then `endedAt` is set). */
  level: Type.Union([AlertLevelSchema, Type.Literal('ok')]),
  /** The highest level reached. */
  peak: AlertLevelSchema,
  value: Type.Union([Type.Number(), Type.Null()]),
  /** The level's threshold value that was crossed. */
  threshold: Type.Number(),
  direction: Type.Union([Type.Literal('above'), Type.Literal('below')]),
  startedAt: Type.String(),
  endedAt: Type.Union([Type.String(), Type.Null()]),
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
  acknowledgedAt: Type.Union([Type.String(), Type.Null()]),
});
export type Alert = Static<typeof AlertSchema>;

/** A source (acd, ivr, crm) that has gone quiet, and when its latest event was stored (ISO). */
export const QuietSourceSchema = Type.Object({ source: Type.String(), since: Type.String() });
export type QuietSource = Static<typeof QuietSourceSchema>;

/** The states an agent counts as signed in with (`offline` agents are not on the roster). */
export const ROSTER_STATES = ['available', 'busy', 'acw', 'aux'] as const;
export type RosterState = (typeof ROSTER_STATES)[number];
/** Most agents per state in one `roster` message (the longest in their state first); `counts` has them all. */
export const MAX_ROSTER_PER_STATE = 100;

/**
 * One agent on the roster: their latest agent.state event's state, time (`since`, ISO), reason, the agent's name it
 * gave (`attributes.agentName`; '' when none), queue, team, channel.
 */
export const RosterAgentSchema = Type.Object({
  agentId: Type.String(),
  name: Type.String(),
  state: Type.Union(ROSTER_STATES.map((s) => Type.Literal(s))),
  since: Type.String(),
  reason: Type.String(),
  queue: Type.String(),
  team: Type.String(),
  channel: Type.String(),
});
export type RosterAgent = Static<typeof RosterAgentSchema>;

export const ServerMessageSchema = Type.Union([
  /** First message on a new socket: who the server thinks you are. A display gets its board. */
  Type.Object({
    type: Type.Literal('welcome'),
    serverTime: Type.String(),
    principal: Type.Object({ kind: Type.Union([Type.Literal('user'), Type.Literal('display')]), name: Type.String(), board: Type.Optional(Type.String()), role: Type.Optional(Type.String()) }),
  }),
  Type.Object({ type: Type.Literal('snapshot'), window: Window, scope: Scope, asOf: Type.String(), values: Type.Record(Type.String(), KpiValue) }),
  Type.Object({
    type: Type.Literal('series'),
    window: Type.Literal('today'),
    scope: Scope,
    asOf: Type.String(),
    intervalMinutes: Type.Literal(15),
    points: Type.Array(Type.Object({ start: Type.String(), end: Type.String(), values: Type.Record(Type.String(), KpiValue) })),
  }),
  /**
   * The agents of a scope by state, then the longest in their state first (at most MAX_ROSTER_PER_STATE a state), with
   * how many there are in each state: on subscribe (`roster: true`), then whenever it changes.
   */
  Type.Object({
    type: Type.Literal('roster'),
    scope: Scope,
    asOf: Type.String(),
    counts: Type.Object(Object.fromEntries(ROSTER_STATES.map((s) => [s, Type.Integer({ minimum: 0 })])) as Record<RosterState, ReturnType<typeof Type.Integer>>),
    agents: Type.Array(RosterAgentSchema),
  }),
  /** An alert changed (fired, escalated, de-escalated, acknowledged or cleared). */
  Type.Object({ type: Type.Literal('alert'), alert: AlertSchema }),
  /** The active alerts, sent on subscribe. */
  Type.Object({ type: Type.Literal('alerts'), alerts: Type.Array(AlertSchema) }),
  Type.Object({ type: Type.Literal('pong'), id: Type.Optional(Type.String()), serverTime: Type.String() }),
  /** To a display: show your name for `seconds`, a supervisor wants to know which screen you are. */
  Type.Object({ type: Type.Literal('identify'), seconds: Type.Integer({ minimum: 1 }) }),
  /** The floor messages changed (one was posted or ended): read GET /v1/messages again now. */
  Type.Object({ type: Type.Literal('messages') }),
  /**
   * The center is closed (CENTER_HOURS) until `opensAt`: on connect while it is closed, and to every socket when it
   * closes (`open: false`) and when it opens (`open: true`, `opensAt: null`).
   */
  Type.Object({ type: Type.Literal('hours'), open: Type.Boolean(), opensAt: Type.Union([Type.String(), Type.Null()]) }),
  /**
   * The figures are stale (`stale: true`: the KPI worker has not ticked for a while; `asOf`: its latest tick, null when
   * none is known) or current again (`stale: false`, `asOf: null`): on connect while stale, and to every socket when it
   * changes.
   */
  Type.Object({ type: Type.Literal('figures'), stale: Type.Boolean(), asOf: Type.Union([Type.String(), Type.Null()]) }),
  /** The sources that have gone quiet (none: all is well), on connect and whenever the set changes. */
  Type.Object({ type: Type.Literal('sources'), quiet: Type.Array(QuietSourceSchema) }),
  /** A bad message; the socket stays open. */
  Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String() }),
  /** The credentials were revoked; the server closes the socket right after. */
  Type.Object({ type: Type.Literal('revoked'), reason: Type.String() }),
]);
export type ServerMessage = Static<typeof ServerMessageSchema>;

const clientCheck = TypeCompiler.Compile(ClientMessageSchema);

export type Decoded = { ok: true; message: ClientMessage } | { ok: false; code: 'bad_json' | 'bad_message'; message: string };

/** Decodes and validates one client message; errors name the field. */
export function decodeClientMessage(raw: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'bad_json', message: 'the message is not valid JSON' };
  }
  if (clientCheck.Check(value)) return { ok: true, message: value };
  const type = (value as { type?: unknown } | null)?.type;
  if (!['subscribe', 'unsubscribe', 'ping'].includes(type as string)) {
    return { ok: false, code: 'bad_message', message: '/type must be one of subscribe, unsubscribe, ping' };
  }
  // Report the error of the variant the client meant.
  const variant = ClientMessageSchema.anyOf.find((s) => s.properties.type.const === type)!;
  const first = TypeCompiler.Compile(variant).Errors(value).First();
  return { ok: false, code: 'bad_message', message: first ? `${first.path || '/'} ${first.message.replace(/^Expected/, 'must be')}` : 'invalid message' };
}
