// GET /metrics: Prometheus metrics of the API process, for a scraper holding METRICS_TOKEN.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { catchUp } from '../../server/kpi/materialize.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';
import { openSocket } from '../support/ws.ts';

const ACD_KEY = 'test-acd-key-0123456789';
const TOKEN = 'metrics-token-0123456789';
const ADMIN_PASSWORD = 'metrics-admin-password';

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS: `acd:${ACD_KEY}`, METRICS_TOKEN: TOKEN, ADMIN_PASSWORD });
  redis = createRedis(inject('redisUrl'), 'commands');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis });
});
afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

const post = (body: string, key: string | null = ACD_KEY) =>
  app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, payload: body });
const scrape = (token: string | null = TOKEN) => app.inject({ method: 'GET', url: '/metrics', headers: token ? { authorization: `Bearer ${token}` } : {} });

/** The value of one series of a Prometheus text exposition, matched by name and exact label set. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('counts ingest requests and events by outcome, times acknowledgements and inserts, and shows the KPI backlog', async () => {
    const sentFrom = Date.now() / 1000;
    const offered = sampleEvent('contact.offered');
    const abandoned = sampleEvent('contact.abandoned');
    const noQueue = { ...sampleEvent('contact.offered'), queue: undefined };
    expect((await post(JSON.stringify([offered, abandoned, noQueue]))).statusCode).toBe(422); // 2 stored, 1 rejected
    expect((await post(JSON.stringify(offered))).statusCode).toBe(202); // a retry: 1 duplicate
    expect((await post('{"broken": ')).statusCode).toBe(400); // the body is kept: 1 rejected
    expect((await post(JSON.stringify(offered), null)).statusCode).toBe(401); // no key: source "none"
    const sentTo = Date.now() / 1000;

    const res = await scrape();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(value(text, 'nabiz_ingest_events_total', { source: 'acd', outcome: 'accepted' })).toBe(2);
    expect(value(text, 'nabiz_ingest_events_total', { source: 'acd', outcome: 'duplicate' })).toBe(1);
    // 1 invalid event + 1 unparseable body
    expect(value(text, 'nabiz_ingest_events_total', { source: 'acd', outcome: 'rejected' })).toBe(2);
    expect(value(text, 'nabiz_ingest_requests_total', { source: 'acd', status: '422' })).toBe(1);
    expect(value(text, 'nabiz_ingest_requests_total', { source: 'acd', status: '202' })).toBe(1);
    expect(value(text, 'nabiz_ingest_requests_total', { source: 'acd', status: '400' })).toBe(1);
    expect(value(text, 'nabiz_ingest_requests_total', { source: 'none', status: '401' })).toBe(1);
    // three answered requests of the acd key, each within the histogram's last bucket
    expect(value(text, 'nabiz_ingest_ack_seconds_count', { source: 'acd' })).toBe(3);
    expect(value(text, 'nabiz_ingest_ack_seconds_bucket', { source: 'acd', le: '+Inf' })).toBe(3);
    // two writes, one request each: 2 events (both stored), then 1 (found already stored)
    expect(value(text, 'nabiz_ingest_insert_seconds_count')).toBe(2);
    expect(value(text, 'nabiz_ingest_insert_events_sum')).toBe(2 + 1);
    // the 422's two stored events are the last the acd key got stored (the retry stored nothing); no other source
    expect(value(text, 'nabiz_ingest_last_stored_timestamp_seconds', { source: 'acd' })).toBeGreaterThanOrEqual(sentFrom);
    expect(value(text, 'nabiz_ingest_last_stored_timestamp_seconds', { source: 'acd' })).toBeLessThanOrEqual(sentTo);
    expect(text).not.toMatch(/nabiz_ingest_last_stored_timestamp_seconds\{source="(ivr|crm|none)"\}/);
    // no KPI worker ran: both stored events wait, and there is no watermark yet
    expect(value(text, 'nabiz_kpi_pending_events')).toBe(2);
    expect(value(text, 'nabiz_kpi_watermark_age_seconds')).toBeNaN();
    expect(value(text, 'nabiz_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // with a ClickHouse server (CLICKHOUSE_URL, as here) there is no BACKUP_DIR of ours to report on
    // (the backup gauges: backup-schedule.test.ts)
    expect(text).not.toContain('nabiz_backup_');

    await catchUp(ctx.clickhouse, { lookbackDays: 7 });
    const after = (await scrape()).body;
    expect(value(after, 'nabiz_kpi_pending_events')).toBe(0);
    expect(value(after, 'nabiz_kpi_watermark_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'nabiz_kpi_watermark_age_seconds')).toBeLessThan(60);
  });

  it('counts the screens connected to this process and the messages sent to them', async () => {
    const before = (await scrape()).body;
    expect(value(before, 'nabiz_live_sockets')).toBe(0);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`;
    const socket = await openSocket(url, { authorization: `Bearer ${login.json<{ token: string }>().token}` });
    await socket.next('welcome');
    const during = (await scrape()).body;
    expect(value(during, 'nabiz_live_sockets')).toBe(1);
    // at least the welcome message
    expect(value(during, 'nabiz_live_messages_sent_total')).toBeGreaterThanOrEqual((value(before, 'nabiz_live_messages_sent_total') ?? 0) + 1);
    expect(value(during, 'nabiz_live_sockets_dropped_total')).toBe(0);
    socket.ws.close();
    await socket.closed;
    await expect.poll(async () => value((await scrape()).body, 'nabiz_live_sockets')).toBe(0);
  });

  it('says which TVs are on the air: connected, and when each was last seen', async () => {
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    const admin = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
    const created = await app.inject({ method: 'POST', url: '/v1/displays', headers: admin, payload: { name: 'TV lobby', board: 'main' } });
    const { display, token } = created.json<{ display: { id: string }; token: string }>();
    const labels = { display: display.id, name: 'TV lobby' };
    const never = (await scrape()).body;
    expect(value(never, 'nabiz_display_connected', labels)).toBe(0);
    expect(value(never, 'nabiz_display_last_seen_timestamp_seconds', labels)).toBeUndefined(); // never seen

    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const opened = Date.now() / 1000;
    const tv = await openSocket(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/stream`, { authorization: `Bearer ${token}` });
    await tv.next('welcome');
    await expect.poll(async () => value((await scrape()).body, 'nabiz_display_connected', labels)).toBe(1);
    expect(value((await scrape()).body, 'nabiz_display_last_seen_timestamp_seconds', labels)).toBeGreaterThanOrEqual(opened - 0.01);
    tv.ws.close();
    await tv.closed;
    await expect.poll(async () => value((await scrape()).body, 'nabiz_display_connected', labels)).toBe(0);
    // a revoked display is no longer a TV to watch
    expect((await app.inject({ method: 'DELETE', url: `/v1/displays/${display.id}`, headers: admin })).statusCode).toBe(200);
    expect(value((await scrape()).body, 'nabiz_display_connected', labels)).toBeUndefined();
  });

  it('answers only the metrics token, and does not exist without one', async () => {
    for (const token of [null, 'wrong-token-0123456789', ACD_KEY]) {
      const res = await scrape(token);
      expect(res.statusCode, String(token)).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
      expect(res.body).not.toContain('nabiz_ingest');
    }
    const config = loadConfig({ CLICKHOUSE_URL: ctx.config.CLICKHOUSE_URL!, REDIS_URL: ctx.config.REDIS_URL!, CLICKHOUSE_DATABASE: ctx.config.CLICKHOUSE_DATABASE, REDIS_PREFIX: ctx.config.REDIS_PREFIX });
    const without = await buildApp({ config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis });
    expect((await without.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(404);
    await without.close();
  });

  it('refuses a token shorter than 16 characters at start', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});
