// Alert thresholds: the contract, validation against the KPI catalog, storage with history (ClickHouse `thresholds`,
// one row per version) and the resolution of the threshold that applies to a figure (the most specific one).
//
// Specificity, for the figure of scope `queue:billing`:  queue:billing  >  queue:*  >  center.
// `center` also stands for every queue and team (not for channels and agents, which are too many to alert on by
// default: use `channel:*` / `agent:*` or a named one).
import type { ClickHouseClient } from '@clickhouse/client';
import { Type, type Static } from '@sinclair/typebox';
import { randomBytes } from 'node:crypto';
import { chIso, chTime } from '../clickhouse/time.ts';
import { SHARED_READ_MS, SharedRead } from '../read-cache.ts';
import { ApiError } from '../errors.ts';
import { figureWindow, isKpiKey, KPI_BY_KEY, type KpiKey } from '../kpi/catalog.ts';
import { formatScope, parseScope, ScopeError } from '../kpi/scopes.ts';
import { WINDOWS, type WindowName } from '../kpi/windows.ts';
import { specificity } from './specificity.ts';

export const DIRECTIONS = ['above', 'below'] as const;
export type Direction = (typeof DIRECTIONS)[number];

const MAX_FOR_SECONDS = 86_400;
const MAX_MIN_COUNT = 1_000_000;

/** What a client sends to create or replace a threshold. */
export const ThresholdInputSchema = Type.Object(
  {
    kpi: Type.String({ minLength: 1, maxLength: 64, description: 'KPI key of the catalog' }),
    scope: Type.String({ minLength: 1, maxLength: 200, description: 'center, queue:<name>, team:<name>, …, or <kind>:* for every scope of a kind' }),
    window: Type.Union(WINDOWS.map((w) => Type.Literal(w))),
    direction: Type.Union(DIRECTIONS.map((d) => Type.Literal(d)), { description: 'above: high values are bad; below: low values are bad' }),
    warning: Type.Number(),
    critical: Type.Number(),
    forSeconds: Type.Integer({ minimum: 0, maximum: MAX_FOR_SECONDS, default: 0, description: 'how long a breach must hold before the alert fires' }),
    clearBand: Type.Number({ minimum: 0, default: 0, description: 'how far back past a level the value must come to leave it' }),
    minCount: Type.Integer({
      minimum: 0,
      maximum: MAX_MIN_COUNT,
      default: 0,
      description: "the least sample size (the figure's n: docs/kpis.md) judged; below it the figure counts as no data (0: any)",
    }),
    enabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type ThresholdInput = Static<typeof ThresholdInputSchema>;

export const ThresholdSchema = Type.Object({
  id: Type.String(),
  kpi: Type.String(),
  scope: Type.String(),
  window: Type.Union(WINDOWS.map((w) => Type.Literal(w))),
  direction: Type.Union(DIRECTIONS.map((d) => Type.Literal(d))),
  warning: Type.Number(),
  critical: Type.Number(),
  forSeconds: Type.Integer(),
  clearBand: Type.Number(),
  minCount: Type.Integer(),
  enabled: Type.Boolean(),
  updatedAt: Type.String(),
  updatedBy: Type.String(),
});
export interface Threshold {
  id: string;
  kpi: KpiKey;
  scope: string;
  window: WindowName;
  direction: Direction;
  warning: number;
  critical: number;
  forSeconds: number;
  clearBand: number;
  /** The least sample size (KpiValue.n) the threshold judges; below it the figure is no data. */
  minCount: number;
  enabled: boolean;
  updatedAt: string;
  updatedBy: string;
}

export function newThresholdId(): string {
  return `thr_${randomBytes(9).toString('base64url')}`;
}

/** A threshold scope: a figure scope or `<kind>:*`. Returns the canonical text. */
export function normalizeThresholdScope(text: string): string {
  const scope = parseScope(text);
  return formatScope(scope);
}

interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Checks a threshold against the catalog: the KPI exists, both levels are in the KPI's range and ordered for the
 * direction (critical past warning), and the clear level (warning ∓ clearBand) can still be reached.
 * Throws ApiError 400 `invalid_threshold` naming each bad field; returns the normalized input.
 */
export function validateThreshold(input: ThresholdInput): ThresholdInput & { kpi: KpiKey } {
  const problems: FieldProblem[] = [];
  let scope = input.scope;
  try {
    scope = normalizeThresholdScope(input.scope);
  } catch (err) {
    if (!(err instanceof ScopeError)) throw err;
    problems.push({ path: '/scope', message: err.message });
  }
  const def = isKpiKey(input.kpi) ? KPI_BY_KEY.get(input.kpi) : undefined;
  if (!def) {
    problems.push({ path: '/kpi', message: `unknown KPI ${JSON.stringify(input.kpi).slice(0, 70)}: see GET /v1/kpis/catalog` });
  } else {
    const range = `${def.min ?? '−∞'} to ${def.max ?? '∞'}`;
    for (const f of ['warning', 'critical'] as const) {
      const v = input[f];
      if (!Number.isFinite(v) || (def.min !== null && v < def.min) || (def.max !== null && v > def.max)) {
        problems.push({ path: `/${f}`, message: `must be within the range of ${def.key} (${range} ${def.unit})` });
      }
    }
    const ordered = input.direction === 'above' ? input.critical > input.warning : input.critical < input.warning;
    if (!ordered) {
      problems.push({
        path: '/critical',
        message: input.direction === 'above' ? 'must be greater than warning when the direction is above' : 'must be less than warning when the direction is below',
      });
    }
    const clearAt = input.direction === 'above' ? input.warning - input.clearBand : input.warning + input.clearBand;
    if ((def.min !== null && clearAt < def.min) || (def.max !== null && clearAt > def.max)) {
      problems.push({ path: '/clearBand', message: `is too wide: the value would have to reach ${clearAt}, outside the range of ${def.key} (${range})` });
    }
  }
  if (!Number.isFinite(input.clearBand) || input.clearBand < 0) problems.push({ path: '/clearBand', message: 'must be a number ≥ 0' });
  if (problems.length > 0) {
    throw new ApiError(400, 'invalid_threshold', problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
  }
  return { ...input, scope, kpi: input.kpi as KpiKey, window: figureWindow(input.kpi, input.window) };
}

// --- resolution ------------------------------------------------------------------------------------------------

/**
 * The thresholds that apply to the figures of `scope` in `window`: per KPI the most specific enabled one (ties: the
 * latest written). A disabled threshold still shadows less specific ones: disabling a queue's override silences
 * that queue rather than falling back to the center's threshold.
 */
export function resolveThresholds(thresholds: readonly Threshold[], window: WindowName, scope: string): Map<KpiKey, Threshold> {
  const best = new Map<KpiKey, { t: Threshold; s: number }>();
  for (const t of thresholds) {
    if (t.window !== window) continue;
    const s = specificity(t.scope, scope);
    if (s < 0) continue;
    const cur = best.get(t.kpi);
    if (!cur || s > cur.s || (s === cur.s && t.updatedAt > cur.t.updatedAt)) best.set(t.kpi, { t, s });
  }
  const out = new Map<KpiKey, Threshold>();
  for (const [k, { t }] of best) if (t.enabled) out.set(k, t);
  return out;
}

// --- storage ---------------------------------------------------------------------------------------------------

interface ThresholdRow {
  id: string;
  kpi: string;
  scope: string;
  window: string;
  direction: string;
  warning: number;
  critical: number;
  for_seconds: number;
  clear_band: number;
  min_count: number | string;
  enabled: boolean | number;
  updated_at: string;
  updated_by: string;
}

function fromRow(r: ThresholdRow): Threshold {
  return {
    id: r.id,
    kpi: r.kpi as KpiKey,
    scope: r.scope,
    window: figureWindow(r.kpi, r.window as WindowName),
    direction: r.direction as Direction,
    warning: Number(r.warning),
    critical: Number(r.critical),
    forSeconds: Number(r.for_seconds),
    clearBand: Number(r.clear_band),
    minCount: Number(r.min_count),
    enabled: r.enabled === true || r.enabled === 1,
    updatedAt: chIso(r.updated_at),
    updatedBy: r.updated_by,
  };
}

const CURRENT_AT = `
  SELECT id,
         argMax(kpi, version_at) AS kpi, argMax(scope, version_at) AS scope, argMax(window, version_at) AS window,
         argMax(direction, version_at) AS direction, argMax(warning, version_at) AS warning,
         argMax(critical, version_at) AS critical, argMax(for_seconds, version_at) AS for_seconds,
         argMax(clear_band, version_at) AS clear_band, argMax(min_count, version_at) AS min_count,
         argMax(enabled, version_at) AS enabled,
         toString(max(version_at)) AS updated_at, argMax(changed_by, version_at) AS updated_by
  FROM thresholds
  WHERE version_at <= {at:DateTime64(3, 'UTC')}
  GROUP BY id
  HAVING NOT argMax(deleted, version_at)
  ORDER BY kpi, scope, window, id`;

export class ThresholdStore {
  /** The thresholds in force, as the polling TVs read them: once a moment for all (read-cache.ts). */
  private readonly shared = new SharedRead(() => this.list(), SHARED_READ_MS);

  constructor(private readonly ch: ClickHouseClient) {}

  /** The thresholds in force now, from the shared read (a second old at most; this process's writes at once). */
  current(): Promise<Threshold[]> {
    return this.shared.get();
  }

  /** The thresholds in force at `atMs` (default: now), with history this answers "what were they on Monday?". */
  async list(atMs?: number): Promise<Threshold[]> {
    const rs = await this.ch.query({
      query: CURRENT_AT,
      // The far future rather than now(): a version written a millisecond "ahead" of this clock still counts.
      query_params: { at: chTime(atMs ?? Date.UTC(2200, 0, 1)) },
      format: 'JSONEachRow',
    });
    return (await rs.json<ThresholdRow>()).map(fromRow);
  }

  async get(id: string): Promise<Threshold | null> {
    return (await this.list()).find((t) => t.id === id) ?? null;
  }

  /** Writes a new version (the whole threshold). */
  async put(t: Omit<Threshold, 'updatedAt' | 'updatedBy'>, by: string, atMs = Date.now(), deleted = false): Promise<Threshold> {
    await this.ch.insert({
      table: 'thresholds',
      format: 'JSONEachRow',
      values: [
        {
          id: t.id,
          version_at: chTime(atMs),
          kpi: t.kpi,
          scope: t.scope,
          window: t.window,
          direction: t.direction,
          warning: t.warning,
          critical: t.critical,
          for_seconds: t.forSeconds,
          clear_band: t.clearBand,
          min_count: t.minCount,
          enabled: t.enabled,
          deleted,
          changed_by: by,
        },
      ],
    });
    this.shared.clear();
    return { ...t, updatedAt: new Date(atMs).toISOString(), updatedBy: by };
  }

  async remove(t: Threshold, by: string, atMs = Date.now()): Promise<void> {
    await this.put(t, by, atMs, true);
  }
}
