// Prometheus metrics of an API process, at GET /metrics for a scraper holding METRICS_TOKEN (the endpoint does not
// exist while it is unset). What an operator watches: ingest traffic and its outcomes, how long acknowledgements and
// inserts take, whether the KPI worker keeps up with what is stored, the screens connected, the backups (embedded
// ClickHouse), and the process itself (CPU, memory, event loop).
import type { ClickHouseClient } from '@clickhouse/client';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DisplaySeen } from './live/presence.ts';
import type { BackupOutcomes } from './backup-schedule.ts';
import { ApiError } from './errors.ts';
import { newEvents, STORED_WATERMARK } from './kpi/materialize.ts';
import type { SourceActivity } from './ingest/activity.ts';
import type { HubStats } from './live/hub.ts';

export interface IngestMetrics {
  /** POST /v1/events requests by the key's source (`none` before a key is known) and HTTP status. */
  requests: Counter<'source' | 'status'>;
  /** Events by outcome: accepted (stored now), duplicate (stored before), rejected (kept in rejected_events). */
  events: Counter<'source' | 'outcome'>;
  /** From the request's arrival to its answer. */
  ackSeconds: Histogram<'source'>;
  /** One write of the event writer (insert lock, checked insert, and the look-up after a refused one), and how many
   * distinct events it held. */
  insertSeconds: Histogram;
  insertEvents: Histogram;
}

export interface AppMetrics {
  registry: Registry;
  ingest: IngestMetrics;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A registry of its own per app (tests build several apps in one process), with the process's default metrics.
 * `live` gives the live hub's counters at scrape time (the hub is created after the metrics). `backups`: where backups
 * are (the embedded ClickHouse's BACKUP_DIR, on this machine), how they went; undefined: no backup metrics.
 */
export function createMetrics(
  clickhouse: ClickHouseClient,
  activity: Pick<SourceActivity, 'lastStored'>,
  live: () => HubStats | undefined,
  displays: () => Promise<{ displays: Array<{ id: string; name: string; seen: DisplaySeen | null }>; known: boolean }>,
  backups?: BackupOutcomes,
): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nabiz_' });
  const ingest: IngestMetrics = {
    requests: new Counter({ name: 'nabiz_ingest_requests_total', help: 'POST /v1/events requests, by source and HTTP status', labelNames: ['source', 'status'], registers: [registry] }),
    events: new Counter({ name: 'nabiz_ingest_events_total', help: 'Events received, by source and outcome (accepted, duplicate, rejected)', labelNames: ['source', 'outcome'], registers: [registry] }),
    ackSeconds: new Histogram({ name: 'nabiz_ingest_ack_seconds', help: 'POST /v1/events: from arrival to answer', labelNames: ['source'], buckets: SECONDS_BUCKETS, registers: [registry] }),
    insertSeconds: new Histogram({ name: 'nabiz_ingest_insert_seconds', help: 'One write of the event writer: insert lock, checked insert (and the look-up after a refused one)', buckets: SECONDS_BUCKETS, registers: [registry] }),
    insertEvents: new Histogram({ name: 'nabiz_ingest_insert_events', help: 'Distinct events in one write of the event writer', buckets: [1, 10, 100, 1_000, 10_000, 100_000], registers: [registry] }),
  };
  // From the record every API process keeps in Redis (ingest/activity.ts): a sender that went quiet shows as a growing age.
  new Gauge({
    name: 'nabiz_ingest_last_stored_timestamp_seconds',
    help: 'When an event of the source was last stored, by any API process (Unix time)',
    labelNames: ['source'],
    registers: [registry],
    async collect() {
      const last = await activity.lastStored().catch(() => null); // Redis down: the scrape answers with the last known
      for (const [source, at] of last ?? []) this.set({ source }, at / 1000);
    },
  });
  // Read from ClickHouse at each scrape: the KPI worker may run in another process, and both figures are its state.
  new Gauge({
    name: 'nabiz_kpi_pending_events',
    help: 'Events stored but not yet taken into the KPIs by the KPI worker (above its fan-out watermark)',
    registers: [registry],
    async collect() {
      this.set(await orNaN(async () => {
        const rs = await clickhouse.query({ query: `WITH ${STORED_WATERMARK} AS fanned_out SELECT count() AS n FROM events WHERE ${newEvents(true, 'fanned_out')}`, format: 'JSONEachRow' });
        return Number((await rs.json<{ n: string }>())[0]!.n);
      }));
    },
  });
  new Gauge({
    name: 'nabiz_kpi_watermark_age_seconds',
    help: 'Seconds since the KPI worker last moved its fan-out watermark (grows while it is stopped or stuck, and while no events arrive)',
    registers: [registry],
    async collect() {
      this.set(await orNaN(async () => {
        const rs = await clickhouse.query({
          query: "SELECT toUnixTimestamp64Milli(max(updated_at)) AS at, count() AS n FROM kpi_progress WHERE name = 'fanout'",
          format: 'JSONEachRow',
        });
        const [row] = await rs.json<{ at: string; n: string }>();
        return Number(row!.n) === 0 ? Number.NaN : (Date.now() - Number(row!.at)) / 1000;
      }));
    },
  });
  // The TVs (displays not revoked), from the notes every API process keeps in Redis (live/presence.ts): a TV that went
  // dark shows as 0, and as a growing `time() -` its last-seen time. Both keep their last values while unreadable.
  // one read per scrape for both gauges (the registry collects them at once)
  let reading: ReturnType<typeof displays> | null = null;
  const readDisplays = () => (reading ??= displays().finally(() => (reading = null)));
  const displayGauge = (name: string, help: string, valueOf: (seen: DisplaySeen | null) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['display', 'name'],
      registers: [registry],
      async collect() {
        const read = await readDisplays().catch(() => null);
        if (!read?.known) return;
        this.reset();
        for (const d of read.displays) {
          const v = valueOf(d.seen);
          if (v !== null) this.set({ display: d.id, name: d.name }, v);
        }
      },
    });
  displayGauge('nabiz_display_connected', 'Whether a live socket of the display (TV) is open now, on any API process (1 or 0)', (seen) => (seen?.connected ? 1 : 0));
  displayGauge('nabiz_display_last_seen_timestamp_seconds', 'When a live socket of the display (TV) was last seen open, on any API process (Unix time)', (seen) =>
    seen ? Date.parse(seen.at) / 1000 : null,
  );
  // From BACKUP_DIR (whichever way a backup was taken) and from the note the nightly backup keeps in Redis: 0 for never
  // (so "no backup for a day" holds from the start), the last value while unreadable.
  const backupGauge = (name: string, help: string, read: () => Promise<number | null>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const at = await read().then((ms) => (ms ?? 0) / 1000, () => null);
        if (at !== null) this.set(at);
      },
    });
  if (backups) {
    backupGauge('nabiz_backup_last_success_timestamp_seconds', 'When the newest backup in BACKUP_DIR was taken, nightly or by hand (Unix time; 0: none)', backups.lastSuccess);
    backupGauge('nabiz_backup_last_failure_timestamp_seconds', 'When the nightly backup last failed (Unix time; 0: never; the reason is in the log)', backups.lastFailure);
  }
  new Gauge({
    name: 'nabiz_live_sockets',
    help: 'Websockets (screens, consoles) connected to this process',
    registers: [registry],
    collect() {
      this.set(live()?.sockets ?? 0);
    },
  });
  new Counter({
    name: 'nabiz_live_sockets_dropped_total',
    help: 'Websockets this process closed for not keeping up with their messages',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(live()?.dropped ?? 0);
    },
  });
  new Counter({
    name: 'nabiz_live_messages_sent_total',
    help: 'Live-stream messages this process sent',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(live()?.sent ?? 0);
    },
  });
  return { registry, ingest };
}

/** A figure read from ClickHouse, or NaN while it cannot be read: the scrape still answers with the others. */
async function orNaN(read: () => Promise<number>): Promise<number> {
  try {
    return await read();
  } catch {
    return Number.NaN;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** GET /metrics (Prometheus text format), for `Authorization: Bearer <METRICS_TOKEN>`. */
export async function metricsRoutes(app: FastifyInstance, opts: { token: string; metrics: AppMetrics }): Promise<void> {
  const expected = sha256(opts.token); // compared as digests: equal lengths, constant time
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics (Authorization: Bearer <METRICS_TOKEN>)', security: [{ bearer: [] }] } }, async (req, reply) => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (given === '' || !timingSafeEqual(sha256(given), expected)) {
      throw new ApiError(401, 'unauthorized', 'send the metrics token: Authorization: Bearer <METRICS_TOKEN>', undefined, { 'www-authenticate': 'Bearer' });
    }
    const text = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(text);
  });
}
