// THE KPI catalog: one entry per figure Nabız shows. The API serves it (GET /v1/kpis/catalog), the wallboard
// labels and formats with it, docs/kpis.md quotes it, and alert validation checks keys and ranges against it.
// The computation (server/kpi/compute.ts) and the analyst views (sql/005_analyst_views.sql) implement exactly the
// definitions written here; a test keeps docs/kpis.md and this file in step.
import { Type, type Static } from '@sinclair/typebox';
import type { WindowName } from './windows.ts';

export const KPI_KEYS = [
  'offered',
  'answered',
  'abandoned',
  'short_abandoned',
  'abandon_rate',
  'service_level',
  'asa',
  'aht',
  'frt',
  'frt_p90',
  'csat',
  'ces',
  'nps',
  'fcr',
  'fcr_survey',
  'ivr_containment',
  'waiting',
  'longest_wait',
  'agents_available',
  'agents_busy',
  'agents_acw',
  'agents_aux',
  'occupancy',
  'required_agents',
  'staffing_gap',
] as const;

export type KpiKey = (typeof KPI_KEYS)[number];

export const KpiUnitSchema = Type.Union([
  Type.Literal('count'),
  Type.Literal('percent'),
  Type.Literal('seconds'),
  Type.Literal('score'),
]);
export type KpiUnit = Static<typeof KpiUnitSchema>;

/** Which way is good: the wallboard colours and alert rules use it. `neutral`: volume, neither good nor bad. */
export const KpiDirectionSchema = Type.Union([Type.Literal('higher'), Type.Literal('lower'), Type.Literal('neutral')]);

export const KpiDefinitionSchema = Type.Object({
  key: Type.String(),
  label: Type.String({ description: 'Short label for a wallboard tile' }),
  unit: KpiUnitSchema,
  direction: KpiDirectionSchema,
  /** `windowed`: computed per window (today, 1h, 15m); `live`: the state now, identical in every window. */
  kind: Type.Union([Type.Literal('windowed'), Type.Literal('live')]),
  /** True when the value is a ratio or mean: null (shown as "—") when its denominator is zero. */
  nullable: Type.Boolean(),
  /**
   * Built on offers, abandons or waits (Erlang C from offers too), which belong to queues: on a team or agent scope it
   * counts only the events that name that team or agent, usually none (docs/kpis.md). The board editor warns.
   */
  queueFigure: Type.Boolean(),
  min: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  /** Decimals the wallboard shows; values themselves are sent unrounded. */
  decimals: Type.Integer({ minimum: 0, maximum: 3 }),
  definition: Type.String(),
  /** What `n` (the sample size carried with every value) counts for this KPI. */
  sample: Type.String(),
});
export type KpiDefinition = Static<typeof KpiDefinitionSchema> & { key: KpiKey };

const def = (d: KpiDefinition): KpiDefinition => d;

export const KPI_CATALOG: readonly KpiDefinition[] = [
  def({
    key: 'offered', label: 'Offered', unit: 'count', direction: 'neutral', kind: 'windowed', nullable: false, queueFigure: true,
    min: 0, max: null, decimals: 0,
    definition: '`contact.offered` events in the window.',
    sample: 'the count itself',
  }),
  def({
    key: 'answered', label: 'Answered', unit: 'count', direction: 'neutral', kind: 'windowed', nullable: false, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition:
      'Contacts answered in the window: the first `contact.answered` after each `contact.offered` of a contact (a second ' +
      'answer without a new offer, as after a transfer straight to an agent, and an outbound call, never offered, add none).',
    sample: 'the count itself',
  }),
  def({
    key: 'abandoned', label: 'Abandoned', unit: 'count', direction: 'lower', kind: 'windowed', nullable: false, queueFigure: true,
    min: 0, max: null, decimals: 0,
    definition:
      '`contact.abandoned` events in the window whose wait (abandon time − the contact\'s latest offer at or before it) ' +
      'is at least the queue\'s short-abandon threshold (default 5 s). An abandon whose offer is unknown counts here.',
    sample: 'the count itself',
  }),
  def({
    key: 'short_abandoned', label: 'Short abandons', unit: 'count', direction: 'neutral', kind: 'windowed', nullable: false, queueFigure: true,
    min: 0, max: null, decimals: 0,
    definition:
      '`contact.abandoned` events in the window with a wait under the short-abandon threshold. ' +
      'They are left out of `abandoned`, the service level and the abandon rate.',
    sample: 'the count itself',
  }),
  def({
    key: 'abandon_rate', label: 'Abandon rate', unit: 'percent', direction: 'lower', kind: 'windowed', nullable: true, queueFigure: true,
    min: 0, max: 100, decimals: 1,
    definition: 'abandoned ÷ (answered + abandoned) × 100.',
    sample: 'answered + abandoned',
  }),
  def({
    key: 'service_level', label: 'Service level', unit: 'percent', direction: 'higher', kind: 'windowed', nullable: true, queueFigure: true,
    min: 0, max: 100, decimals: 1,
    definition:
      'answered contacts with a wait ≤ the queue\'s threshold T (default 20 s) ÷ (answered + abandoned) × 100. ' +
      'Wait = answer time − the contact\'s latest offer at or before it.',
    sample: 'answered + abandoned',
  }),
  def({
    key: 'asa', label: 'ASA', unit: 'seconds', direction: 'lower', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition: 'Average speed of answer: mean wait (answer time − offer time) of the answers in the window, in seconds.',
    sample: 'answers with a known offer time',
  }),
  def({
    key: 'aht', label: 'AHT', unit: 'seconds', direction: 'lower', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition: 'Average handle time: mean (talkMs + holdMs + acwMs) of `contact.ended` events in the window, in seconds (a missing part counts as 0).',
    sample: '`contact.ended` events',
  }),
  def({
    key: 'frt', label: 'First response', unit: 'seconds', direction: 'lower', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition:
      'Mean time from `ticket.created` to the ticket\'s first public `ticket.replied`, in seconds, over tickets whose first ' +
      'public reply falls in the window (tickets without a known creation are left out).',
    sample: 'tickets whose first public reply is in the window',
  }),
  def({
    key: 'frt_p90', label: 'First response p90', unit: 'seconds', direction: 'lower', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition: '90th percentile (nearest rank: the ⌈0.9·n⌉-th smallest) of the same first-response times as `frt`.',
    sample: 'tickets whose first public reply is in the window',
  }),
  def({
    key: 'csat', label: 'CSAT', unit: 'percent', direction: 'higher', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: 100, decimals: 1,
    definition: 'CSAT survey responses scoring 4 or 5 ÷ all CSAT responses × 100 (top-2-box on a 1–5 scale).',
    sample: 'CSAT responses',
  }),
  def({
    key: 'ces', label: 'Effort (CES)', unit: 'score', direction: 'lower', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: 100, decimals: 1,
    definition: 'Mean of (score − 1) ÷ 6 × 100 over CES responses (1–7, 1 = very low effort): 0 is effortless, 100 the worst.',
    sample: 'CES responses',
  }),
  def({
    key: 'nps', label: 'NPS', unit: 'score', direction: 'higher', kind: 'windowed', nullable: true, queueFigure: false,
    min: -100, max: 100, decimals: 0,
    definition: '% of NPS responses scoring 9–10 minus % scoring 0–6.',
    sample: 'NPS responses',
  }),
  def({
    key: 'fcr', label: 'First contact resolution', unit: 'percent', direction: 'higher', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: 100, decimals: 1,
    definition:
      'Resolved interactions resolved on first contact ÷ resolved interactions × 100. An interaction is resolved by its first ' +
      '`contact.ended` with `resolved: true` or `ticket.solved`, and belongs to the window of that event. First contact: the ' +
      'contact has no `contact.transferred` and no `ticket.reopened`, and its customer had no other interaction (offered ' +
      'contact or created ticket) that began in the FCR_LOOKBACK_DAYS (default 7) days before it began. A contact\'s customer ' +
      'is the first `customerId` its events name (on any of them: the offer, the answer, the end…).',
    sample: 'resolved interactions',
  }),
  def({
    key: 'fcr_survey', label: 'FCR (survey)', unit: 'percent', direction: 'higher', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: 100, decimals: 1,
    definition: 'FCR survey responses with score 1 (yes) ÷ all FCR survey responses × 100.',
    sample: 'FCR survey responses',
  }),
  def({
    key: 'ivr_containment', label: 'IVR containment', unit: 'percent', direction: 'higher', kind: 'windowed', nullable: true, queueFigure: false,
    min: 0, max: 100, decimals: 1,
    definition: '`ivr.ended` events with outcome `contained` ÷ all `ivr.ended` events × 100.',
    sample: '`ivr.ended` events',
  }),
  def({
    key: 'waiting', label: 'Waiting', unit: 'count', direction: 'lower', kind: 'live', nullable: false, queueFigure: true,
    min: 0, max: null, decimals: 0,
    definition:
      'Contacts offered and, since their latest `contact.offered`, not yet answered, abandoned or ended. A transferred ' +
      'contact waits in its new queue from its new offer: the first agent\'s later `contact.ended` closes the first leg ' +
      '(an end by an agent who answered before the latest offer), not the wait. Not windowed; offers older than ' +
      'WAITING_LOOKBACK_HOURS (default 24) are not looked at.',
    sample: 'the count itself',
  }),
  def({
    key: 'longest_wait', label: 'Longest wait', unit: 'seconds', direction: 'lower', kind: 'live', nullable: false, queueFigure: true,
    min: 0, max: null, decimals: 0,
    definition: 'now − offer time of the oldest waiting contact, in seconds; 0 when nobody waits.',
    sample: 'waiting contacts',
  }),
  def({
    key: 'agents_available', label: 'Available', unit: 'count', direction: 'neutral', kind: 'live', nullable: false, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition: 'Agents whose latest `agent.state` is `available` and younger than AGENT_STATE_MAX_HOURS (default 12; older counts as offline).',
    sample: 'the count itself',
  }),
  def({
    key: 'agents_busy', label: 'Busy', unit: 'count', direction: 'neutral', kind: 'live', nullable: false, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition: 'Agents whose latest `agent.state` is `busy` and younger than AGENT_STATE_MAX_HOURS (default 12).',
    sample: 'the count itself',
  }),
  def({
    key: 'agents_acw', label: 'Wrap-up', unit: 'count', direction: 'neutral', kind: 'live', nullable: false, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition: 'Agents whose latest `agent.state` is `acw` (after-call work) and younger than AGENT_STATE_MAX_HOURS (default 12).',
    sample: 'the count itself',
  }),
  def({
    key: 'agents_aux', label: 'Aux', unit: 'count', direction: 'neutral', kind: 'live', nullable: false, queueFigure: false,
    min: 0, max: null, decimals: 0,
    definition:
      'Agents whose latest `agent.state` is `aux` (break, training…). Agents whose latest state is `offline`, or at least ' +
      'AGENT_STATE_MAX_HOURS (default 12) old, are not counted anywhere.',
    sample: 'the count itself',
  }),
  def({
    key: 'occupancy', label: 'Occupancy', unit: 'percent', direction: 'neutral', kind: 'live', nullable: true, queueFigure: false,
    min: 0, max: 100, decimals: 1,
    definition: '(busy + acw) ÷ (available + busy + acw) × 100, over agents as counted above.',
    sample: 'available + busy + acw agents',
  }),
  def({
    key: 'required_agents', label: 'Required agents', unit: 'count', direction: 'neutral', kind: 'live', nullable: true, queueFigure: true,
    min: 0, max: null, decimals: 0,
    definition:
      'Erlang C: the smallest number of agents meeting the service-level target (default 80 % in 20 s) for the next 30 minutes, ' +
      'with λ = offered in the last 30 minutes ÷ the seconds they have run (29 whole minutes and the current one\'s part) and the AHT of the last hour (today\'s AHT when the last hour has ' +
      'none). With CENTER_HOURS, within 30 minutes of opening λ counts from the opening minute (at least the last 5 minutes). ' +
      '0 when nothing was offered; null when no AHT is known (or the load would need more than 100,000 agents).',
    sample: 'offered in the last 30 minutes',
  }),
  def({
    key: 'staffing_gap', label: 'Staffing gap', unit: 'count', direction: 'lower', kind: 'live', nullable: true, queueFigure: true,
    min: null, max: null, decimals: 0,
    definition: 'required_agents − (available + busy + acw): positive means short of agents.',
    sample: 'offered in the last 30 minutes',
  }),
];

export const KPI_BY_KEY: ReadonlyMap<KpiKey, KpiDefinition> = new Map(KPI_CATALOG.map((d) => [d.key, d]));

export function isKpiKey(key: string): key is KpiKey {
  return (KPI_KEYS as readonly string[]).includes(key);
}

/**
 * The window a KPI's tiles and thresholds are kept under. A live figure (waiting, the agents, required agents…) has
 * one value, now, in every window's snapshot, so it is kept under `today`: a threshold on "waiting" then colours
 * every tile that shows waiting, and one breach raises one alert, whichever window the supervisor picked.
 */
export function figureWindow(kpi: string, window: WindowName): WindowName {
  return isKpiKey(kpi) && KPI_BY_KEY.get(kpi)!.kind === 'live' ? 'today' : window;
}

/** A KPI's value with its sample size: `value` is null when the denominator is zero (never 0, never NaN). */
export const KpiValueSchema = Type.Object({ value: Type.Union([Type.Number(), Type.Null()]), n: Type.Integer({ minimum: 0 }) });
export type KpiValue = Static<typeof KpiValueSchema>;

export const CATALOG_TABLE_BEGIN = '<!-- kpi-catalog:begin (generated from server/kpi/catalog.ts) -->';
export const CATALOG_TABLE_END = '<!-- kpi-catalog:end -->';

/**
 * The catalog as the Markdown table of docs/kpis.md (a unit test keeps them equal). Regenerate with
 * `npx tsx -e "import('./server/kpi/catalog.ts').then((m) => console.log(m.catalogTable()))"`.
 */
export function catalogTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const range = (d: KpiDefinition) => (d.min === null && d.max === null ? '' : `${d.min ?? '−∞'} … ${d.max ?? '∞'}`);
  const rows = KPI_CATALOG.map(
    (d) =>
      `| \`${d.key}\` | ${cell(d.label)} | ${d.unit} | ${d.direction} | ${d.kind}${d.queueFigure ? ', queue' : ''} | ${range(d)} | ${cell(d.definition)} | ${cell(d.sample)} |`,
  );
  return ['| key | label | unit | better | kind | range | definition | n counts |', '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}
