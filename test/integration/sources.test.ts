// GET /v1/sources (server/ingest/sources.ts): how each feed is doing, for supervisors — its latest event and whether it
// counts as quiet, what was stored and refused since midnight, and its latest refusals with their reasons.
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { RAW_PREVIEW_CHARS, type SourcesResponse } from '../../server/ingest/sources.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { sampleEvent } from '../support/events.ts';

const ADMIN_PASSWORD = 'admin-Pa55word-sources';
const ACD_KEY = 'sources-acd-key-0123456789';
let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;
const tokens = { admin: '', supervisor: '', viewer: '' };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  // the CRM warns after one minute of silence
  ctx = await createTestContext({ ADMIN_PASSWORD, INGEST_KEYS: `acd:${ACD_KEY}`, SOURCE_QUIET_MINUTES: '15,crm:1' });
  redis = createRedis(inject('redisUrl'), 'commands');
  if (redis.status !== 'ready') await once(redis, 'ready');
  app = await buildApp({ config: ctx.config, log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis, wallboardDir: '/nonexistent' });
  const login = async (username: string, password: string) =>
    (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password } })).json<{ token: string }>().token;
  tokens.admin = await login('admin', ADMIN_PASSWORD);
  for (const role of ['supervisor', 'viewer'] as const) {
    await app.inject({ method: 'POST', url: '/v1/admin/users', headers: bearer(tokens.admin), payload: { username: role, password: `${role}-Pa55word-src`, role } });
    tokens[role] = await login(role, `${role}-Pa55word-src`);
  }
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await ctx?.cleanup();
});

describe('GET /v1/sources', () => {
  it("shows each feed's latest event, quiet or not, counts since midnight and its latest refusals", async () => {
    const before = Date.now();
    // the ACD: two events stored, two refused (one too long to list whole)
    const long = { ...sampleEvent('contact.offered'), queue: undefined, attributes: { note: 'x'.repeat(3 * RAW_PREVIEW_CHARS) } };
    const posted = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(ACD_KEY),
      payload: [sampleEvent('contact.offered'), sampleEvent('contact.offered'), { ...sampleEvent('contact.answered'), agentId: undefined }, long],
    });
    expect(posted.statusCode, posted.body).toBe(422);
    // the CRM last sent five minutes ago (as another API process noted it): quiet after its one minute
    const crmAt = Date.now() - 5 * 60_000;
    await redis.hset(`${ctx.config.REDIS_PREFIX}:ingest:last-stored`, 'crm', String(crmAt));

    expect((await app.inject({ url: '/v1/sources', headers: bearer(tokens.viewer) })).statusCode).toBe(403);
    const res = await app.inject({ url: '/v1/sources', headers: bearer(tokens.supervisor) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<SourcesResponse>();
    expect(body.activityKnown).toBe(true);
    const by = new Map(body.sources.map((s) => [s.source, s]));
    expect([...by.keys()]).toEqual(['acd', 'ivr', 'crm']);

    const acd = by.get('acd')!;
    expect(acd).toMatchObject({ quiet: false, quietAfterMinutes: 15, storedToday: 2, rejectedToday: 2 });
    expect(Date.parse(acd.lastStoredAt!)).toBeGreaterThanOrEqual(before - 5);
    expect(acd.recentRejections).toHaveLength(2);
    expect(acd.recentRejections.map((r) => r.keyName)).toEqual(['INGEST_KEYS acd #1', 'INGEST_KEYS acd #1']);
    const reasons = acd.recentRejections.flatMap((r) => r.reasons).join(' | ');
    expect(reasons).toMatch(/\/agentId/);
    expect(reasons).toMatch(/\/queue/);
    // listed to its first 2,000 characters; the whole is in rejected_events
    expect(Math.max(...acd.recentRejections.map((r) => r.raw.length))).toBe(RAW_PREVIEW_CHARS);

    expect(by.get('ivr')).toMatchObject({ lastStoredAt: null, quiet: false, storedToday: 0, rejectedToday: 0, recentRejections: [] });
    expect(by.get('crm')).toMatchObject({ lastStoredAt: new Date(crmAt).toISOString(), quiet: true, quietAfterMinutes: 1, storedToday: 0 });
  });
});
