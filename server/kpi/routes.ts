// The KPI read API (viewers and display tokens):
//   GET /v1/kpis?window=today&scope=queue:billing&scope=center   latest snapshots (every active scope without `scope`)
//   GET /v1/kpis/series?scope=center                            today's 15-minute series
//   GET /v1/kpis/scopes                                         the scopes with figures today (names only)
//   GET /v1/kpis/report?date=2026-11-23&scope=queue:billing     a local day by 15-minute interval, and its total
//                                                               (people only; &format=csv for a spreadsheet)
//   GET /v1/kpis/catalog                                        the KPI catalog (labels, units, directions, definitions)
//   GET /v1/kpis/settings         (people)                      per-queue service-level and short-abandon settings
//   PUT /v1/kpis/settings/:queue  (supervisors, audited)        set a queue's own settings (the defaults are config)
// Snapshots come from Redis (written by the KPI worker). A requested scope the worker has no snapshot for (no
// activity today, or the worker has not run yet) is computed from ClickHouse on the spot, so an answer is never
// missing a scope that was asked for. A display token reads only the scopes of its boards (server/boards/
// display-scopes.ts): asking for another is refused with 403 `forbidden_scope`, and the lists leave the others out.
import type { ClickHouseClient } from '@clickhouse/client';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import { KPI_CATALOG } from './catalog.ts';
import { listQueueSettings, setQueueSettings } from './settings.ts';
import { computeSeries, computeSnapshots } from './compute.ts';
import { computeDayReport, localDate, localDayStart, ReportTooLarge, reportCsv } from './report.ts';
import { parseScopes, SCOPE_KINDS, ScopeError } from './scopes.ts';
import type { DisplayScopes } from '../boards/display-scopes.ts';
import type { Principal } from '../auth/principal.ts';
import { readSeries } from './series-store.ts';
import { byScope, kpiRedisNames, readScopes, readSnapshots } from './snapshots.ts';
import { WINDOWS, type WindowName } from './windows.ts';

export interface KpiRoutesOptions {
  config: Config;
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** The clock (tests). */
  now?: () => number;
  /** Called after a settings change, so the figures are recomputed with it. */
  onSettingsChanged?: () => void;
  /** What a display token may read: the scopes of its boards. */
  displayScopes: DisplayScopes;
}

const SettingsBody = Type.Object(
  {
    slThresholdS: Type.Number({ minimum: 1, maximum: 3600, description: 'service-level threshold T: answered within T seconds counts as in service' }),
    slTargetPct: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100, description: 'service-level target (%), used by the Erlang C staffing figure' }),
    shortAbandonS: Type.Number({ minimum: 0, maximum: 600, description: 'abandons with a shorter wait are short abandons' }),
  },
  { additionalProperties: false },
);

const ScopeQuery = Type.Optional(
  Type.Union([Type.String({ maxLength: 200 }), Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 })], {
    description: 'center, queue:<name>, team:<name>, channel:<name> or agent:<id>; repeat the parameter for several',
  }),
);

const DAY_MS = 86_400_000;

const invalidDate = (message: string) => new ApiError(400, 'invalid_request', `/date ${message}`, [{ path: '/date', message }]);

function scopesOf(q: string | string[] | undefined): string[] {
  const list = q === undefined ? [] : Array.isArray(q) ? q : [q];
  try {
    return parseScopes(list);
  } catch (err) {
    if (err instanceof ScopeError) throw new ApiError(400, 'invalid_scope', err.message);
    throw err;
  }
}

export async function kpiRoutes(parent: FastifyInstance, opts: KpiRoutesOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { config, clickhouse, redis } = opts;
  const now = opts.now ?? Date.now;
  const names = kpiRedisNames(config.REDIS_PREFIX);
  const reader = { onRequest: app.auth.require('reader') };
  const { displayScopes } = opts;

  /** The scopes asked for; a display may ask only for the scopes of its boards (403 `forbidden_scope`). */
  async function askedScopes(p: Principal | null, q: string | string[] | undefined): Promise<string[]> {
    const scopes = scopesOf(q);
    if (p?.kind === 'display') await displayScopes.check(p, scopes);
    return scopes;
  }

  app.get(
    '/v1/kpis',
    {
      ...reader,
      schema: {
        tags: ['kpis'],
        querystring: Type.Object(
          {
            window: Type.Optional(Type.Union(WINDOWS.map((w) => Type.Literal(w)), { default: 'today' })),
            scope: ScopeQuery,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const window = (request.query.window ?? 'today') as WindowName;
      const scopes = await askedScopes(request.principal, request.query.scope);
      let snapshots = await readSnapshots(redis, names, window, scopes);
      const missing = scopes.filter((s) => !snapshots.some((x) => x.scope === s));
      if (missing.length > 0 || (scopes.length === 0 && snapshots.length === 0)) {
        const computed = (
          await computeSnapshots(clickhouse, {
            now: now(),
            tz: config.CENTER_TZ,
            hours: config.centerHours,
            waitingLookbackHours: config.WAITING_LOOKBACK_HOURS,
            scopes: missing,
          })
        ).filter((s) => s.window === window);
        snapshots = scopes.length === 0 ? computed : scopes.map((s) => snapshots.find((x) => x.scope === s) ?? computed.find((x) => x.scope === s)!);
      }
      return { window, snapshots: await displayScopes.readable(request.principal, snapshots, (x) => x.scope) };
    },
  );

  app.get(
    '/v1/kpis/series',
    { ...reader, schema: { tags: ['kpis'], querystring: Type.Object({ scope: ScopeQuery }, { additionalProperties: false }) } },
    async (request) => {
      const scopes = await askedScopes(request.principal, request.query.scope);
      let series = await readSeries(redis, names, scopes);
      const missing = scopes.filter((s) => !series.some((x) => x.scope === s));
      if (missing.length > 0 || (scopes.length === 0 && series.length === 0)) {
        const computed = await computeSeries(clickhouse, { now: now(), tz: config.CENTER_TZ, scopes: missing });
        series = scopes.length === 0 ? computed : scopes.map((s) => series.find((x) => x.scope === s) ?? computed.find((x) => x.scope === s)!);
      }
      return { window: 'today', intervalMinutes: 15, series: await displayScopes.readable(request.principal, series, (x) => x.scope) };
    },
  );

  app.get(
    '/v1/kpis/report',
    {
      onRequest: app.auth.require('viewer'),
      schema: {
        tags: ['kpis'],
        description:
          'Every windowed KPI of one local day (CENTER_TZ) by 15-minute interval, and the day\'s total, per scope: the same figures as the ' +
          'trend charts and the analysts\' kpi_interval_15m / kpi_daily. Today: up to now, its last interval still open. Scopes: ' +
          '`center` by default; `queue:*` (`team:*`, `channel:*`, `agent:*`) for every one with figures that day, at most 50 in all. `format=csv` ' +
          'answers a CSV file (a total row and a row per interval per scope, times on the center\'s clock).',
        querystring: Type.Object(
          {
            date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'the local day, YYYY-MM-DD (default: today)' })),
            scope: ScopeQuery,
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'json (default) or csv' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const t = now();
      const tz = config.CENTER_TZ;
      const today = localDate(t, tz);
      const date = request.query.date ?? today;
      if (localDayStart(date, tz) === null) throw invalidDate('is not a day of the calendar');
      if (date > today) throw invalidDate(`is after today (${today} in ${tz})`);
      const oldest = localDate(t - config.RETENTION_DAYS * DAY_MS, tz);
      if (date < oldest) throw invalidDate(`is before ${oldest}: events are kept ${config.RETENTION_DAYS} days (RETENTION_DAYS)`);
      const asked = scopesOf(request.query.scope);
      let report;
      try {
        report = await computeDayReport(clickhouse, { date, tz, now: t, scopes: asked.length > 0 ? asked : ['center'] });
      } catch (err) {
        if (err instanceof ReportTooLarge) throw new ApiError(400, 'invalid_scope', `/scope ${err.message}`, [{ path: '/scope', message: err.message }]);
        throw err;
      }
      if (request.query.format !== 'csv') return report;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="nabiz-report-${date}.csv"`)
        .send(reportCsv(report));
    },
  );

  app.get(
    '/v1/kpis/scopes',
    {
      ...reader,
      schema: {
        tags: ['kpis'],
        description: 'The scopes with figures today: center, then every queue, team, channel and agent by name. For scope pickers and table rows of every queue (`queue:*`). A display gets those of its boards.',
        response: { 200: Type.Object({ scopes: Type.Array(Type.String()) }) },
      },
    },
    async (request) => {
      let scopes = await readScopes(redis, names, 'today');
      if (scopes.length === 0) {
        // no worker has stored figures yet: what ClickHouse gives
        const computed = await computeSnapshots(clickhouse, { now: now(), tz: config.CENTER_TZ, hours: config.centerHours, waitingLookbackHours: config.WAITING_LOOKBACK_HOURS, scopes: [] });
        scopes = [...new Set(computed.map((s) => s.scope))].sort(byScope);
      }
      return { scopes: await displayScopes.readable(request.principal, scopes, (s) => s) };
    },
  );

  app.get('/v1/kpis/catalog', { ...reader, schema: { tags: ['kpis'] } }, async () => ({
    kpis: KPI_CATALOG,
    windows: WINDOWS,
    scopeKinds: ['center', ...SCOPE_KINDS],
    timeZone: config.CENTER_TZ,
  }));

  // people only: a display reads its boards' scopes and nothing else, and this lists every queue
  app.get('/v1/kpis/settings', { onRequest: app.auth.require('viewer'), schema: { tags: ['kpis'] } }, async () => ({ settings: await listQueueSettings(clickhouse) }));

  app.put(
    '/v1/kpis/settings/:queue',
    {
      onRequest: app.auth.require('supervisor'),
      schema: {
        tags: ['kpis'],
        params: Type.Object({ queue: Type.String({ minLength: 1, maxLength: 64, description: 'a queue name' }) }),
        body: SettingsBody,
      },
    },
    async (request) => {
      const { queue } = request.params;
      if (queue === '*') {
        throw new ApiError(400, 'invalid_queue', 'the defaults (`*`) come from KPI_SL_THRESHOLD_S, KPI_SL_TARGET_PCT and KPI_SHORT_ABANDON_S: set them in the configuration');
      }
      await setQueueSettings(clickhouse, queue, request.body);
      await app.auth.audit.record(app.auth.actorOf(request), {
        action: 'kpi_settings.put',
        object_kind: 'queue',
        object_id: queue,
        details: { ...request.body },
      });
      opts.onSettingsChanged?.();
      return { settings: (await listQueueSettings(clickhouse)).find((s) => s.queue === queue) };
    },
  );
}
