// GET /v1/sources (supervisors and admins): how each feed is doing, for Console → Sources. Per source (ACD, IVR,
// CRM): when its latest event was stored and whether it counts as quiet (as the wallboards say), how many events were
// stored and refused since midnight in the center's time zone, and its latest refusals with their reasons — so a
// broken integration is seen from the console, not only by the integrator holding the key (GET /v1/events/rejected).
import type { ClickHouseClient } from '@clickhouse/client';
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { centerOpen } from '../center-hours.ts';
import { INGEST_SOURCES, type Config } from '../config.ts';
import { startOfLocalDay } from '../time-zone.ts';
import { quietSources, type SourceActivity } from './activity.ts';
import { chTime } from '../clickhouse/time.ts';

/** Refusals listed per source, newest first. */
export const RECENT_REJECTIONS = 10;
/** Of each refused event, the start of what was sent (the whole is in rejected_events and GET /v1/events/rejected). */
export const RAW_PREVIEW_CHARS = 2_000;

const RejectionSchema = Type.Object({
  receivedAt: Type.String(),
  keyName: Type.String({ description: 'the ingest key it came with' }),
  id: Type.Union([Type.String(), Type.Null()], { description: "the event's id, when it had a readable one" }),
  reasons: Type.Array(Type.String(), { description: '"<json pointer>: <message>"' }),
  raw: Type.String({ description: `what was sent: its first ${RAW_PREVIEW_CHARS} characters` }),
});

export const SourceStatusSchema = Type.Object({
  source: Type.String(),
  lastStoredAt: Type.Union([Type.String(), Type.Null()], { description: 'its latest stored event; null: none in the last day' }),
  quiet: Type.Boolean({ description: 'silent for its quiet time (SOURCE_QUIET_MINUTES), as the wallboards say' }),
  quietAfterMinutes: Type.Number(),
  storedToday: Type.Integer({ description: 'events stored since midnight in CENTER_TZ' }),
  rejectedToday: Type.Integer({ description: 'events (and unparseable bodies) refused since midnight' }),
  recentRejections: Type.Array(RejectionSchema, { description: `its ${RECENT_REJECTIONS} latest refusals, newest first` }),
});
export type SourceStatus = Static<typeof SourceStatusSchema>;

export const SourcesResponseSchema = Type.Object({
  since: Type.String({ description: 'midnight in CENTER_TZ' }),
  sources: Type.Array(SourceStatusSchema),
  activityKnown: Type.Boolean({ description: 'false while Redis cannot say when each source last sent' }),
});
export type SourcesResponse = Static<typeof SourcesResponseSchema>;

export interface SourceRoutesOptions {
  config: Pick<Config, 'CENTER_TZ' | 'sourceQuietMs' | 'centerHours'>;
  clickhouse: ClickHouseClient;
  activity: Pick<SourceActivity, 'lastStored'>;
}

export async function sourceRoutes(parent: FastifyInstance, opts: SourceRoutesOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { clickhouse, config } = opts;

  app.get(
    '/v1/sources',
    {
      onRequest: app.auth.require('supervisor'),
      schema: {
        tags: ['ingest'],
        summary: 'How each source (ACD, IVR, CRM) is doing: last event, counts today, latest refusals',
        response: { 200: SourcesResponseSchema },
      },
    },
    async (): Promise<SourcesResponse> => {
      const now = Date.now();
      const midnight = startOfLocalDay(now, config.CENTER_TZ);
      const since = chTime(midnight);
      const count = async (table: 'events' | 'rejected_events') => {
        const rs = await clickhouse.query({
          query: `SELECT source, count() AS n FROM ${table} WHERE received_at >= {since:DateTime64(3, 'UTC')} GROUP BY source`,
          query_params: { since },
          format: 'JSONEachRow',
        });
        return new Map((await rs.json<{ source: string; n: string }>()).map((r) => [r.source, Number(r.n)]));
      };
      const [last, stored, rejected, recent] = await Promise.all([
        opts.activity.lastStored().catch(() => null),
        count('events'),
        count('rejected_events'),
        clickhouse
          .query({
            query: `
              SELECT source, received_at, key_name, event_id, reasons, substring(raw, 1, {preview:UInt32}) AS raw
              FROM rejected_events
              WHERE source IN {sources:Array(String)}
              ORDER BY received_at DESC, request_id DESC, item_index DESC
              LIMIT {limit:UInt32} BY source`,
            query_params: { sources: [...INGEST_SOURCES], preview: RAW_PREVIEW_CHARS, limit: RECENT_REJECTIONS },
            format: 'JSONEachRow',
          })
          .then((rs) => rs.json<{ source: string; received_at: string; key_name: string; event_id: string; reasons: string[]; raw: string }>()),
      ]);
      const quiet = new Set(last ? quietSources(last, now, config.sourceQuietMs, centerOpen(config.centerHours, now, config.CENTER_TZ)).map((q) => q.source) : []);
      return {
        since: new Date(midnight).toISOString(),
        sources: INGEST_SOURCES.map((source) => {
          const at = last?.get(source);
          return {
            source,
            lastStoredAt: at === undefined || !Number.isFinite(at) ? null : new Date(at).toISOString(),
            quiet: quiet.has(source),
            quietAfterMinutes: (config.sourceQuietMs[source] ?? 0) / 60_000,
            storedToday: stored.get(source) ?? 0,
            rejectedToday: rejected.get(source) ?? 0,
            recentRejections: recent
              .filter((r) => r.source === source)
              .map((r) => ({ receivedAt: new Date(r.received_at).toISOString(), keyName: r.key_name, id: r.event_id === '' ? null : r.event_id, reasons: r.reasons, raw: r.raw })),
          };
        }),
        activityKnown: last !== null,
      };
    },
  );
}
