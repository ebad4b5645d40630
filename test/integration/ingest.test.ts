// POST /v1/events against the embedded ClickHouse and a real redis-server.
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { chTime } from '../../server/clickhouse/time.ts';
import { loadConfig } from '../../server/config.ts';
import { EVENT_TYPES, validateEvent, type ValidEvent } from '../../server/ingest/contract.ts';
import { Deduplicator } from '../../server/ingest/dedupe.ts';
import { insertEventRows, toEventRow } from '../../server/ingest/rows.ts';
import { RejectedWriter } from '../../server/ingest/rejected.ts';
import { EventWriter } from '../../server/ingest/writer.ts';
import { catchUp, readWatermark } from '../../server/kpi/materialize.ts';
import { createRedis } from '../../server/redis/connections.ts';
import { capturedLog, createTestContext, type TestContext } from '../support/context.ts';
import { nextId, sampleEvent } from '../support/events.ts';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';

const KEYS = { acd: 'test-acd-key-0123456789', ivr: 'test-ivr-key-0123456789', crm: 'test-crm-key-0123456789' };
const INGEST_KEYS = Object.entries(KEYS).map(([s, k]) => `${s}:${k}`).join(',');

let ctx: TestContext;
let redis: Redis;
let app: FastifyInstance;

async function makeApp(overrides: Record<string, string> = {}): Promise<FastifyInstance> {
  return buildApp({ config: loadConfig({ ...envOf(ctx), ...overrides }), log: capturedLog('warn').log, clickhouse: ctx.clickhouse, redis });
}
function envOf(c: TestContext): Record<string, string> {
  return {
    CLICKHOUSE_URL: c.config.CLICKHOUSE_URL!,
    REDIS_URL: c.config.REDIS_URL!,
    CLICKHOUSE_DATABASE: c.config.CLICKHOUSE_DATABASE,
    REDIS_PREFIX: c.config.REDIS_PREFIX,
    INGEST_KEYS,
  };
}

function post(target: FastifyInstance, body: unknown, opts: { key?: string | null; contentType?: string } = {}) {
  const key = opts.key === undefined ? KEYS.acd : opts.key;
  const contentType = opts.contentType ?? 'application/json';
  return target.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': contentType, ...(key ? { authorization: `Bearer ${key}` } : {}) },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await ctx.clickhouse.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { max_query_size: '4000000' } });
  return rs.json<T>();
}
/** The test's ClickHouse client with its `insert` wrapped (counted, slowed, failed), everything else as is. */
function withInsert(wrap: (insert: ClickHouseClient['insert'], params: Parameters<ClickHouseClient['insert']>[0]) => ReturnType<ClickHouseClient['insert']>): ClickHouseClient {
  return new Proxy(ctx.clickhouse, {
    get(target, prop, receiver) {
      if (prop === 'insert') return (params: Parameters<ClickHouseClient['insert']>[0]) => wrap(target.insert.bind(target), params);
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A contract-valid event, as the writer takes it. */
function validEvent(): ValidEvent {
  const v = validateEvent(sampleEvent('contact.offered'), { now: Date.now(), retentionDays: 30 });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.event;
}
const countOf = async (ids: string[]) =>
  Number((await rows<{ n: string }>('SELECT count() AS n FROM events WHERE id IN {ids:Array(String)}', { ids }))[0]!.n);

beforeAll(async () => {
  ctx = await createTestContext({ INGEST_KEYS });
  redis = createRedis(inject('redisUrl'), 'commands');
  app = await makeApp();
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await ctx.cleanup();
});

describe('POST /v1/events', () => {
  it('stores one event of every type with its typed columns', async () => {
    for (const type of EVENT_TYPES) {
      const event = sampleEvent(type);
      const key = KEYS[event.source];
      const res = await post(app, event, { key });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(202);
      expect(res.json()).toEqual({ accepted: 1, duplicates: 0 });
    }
    const stored = await rows<{ type: string; n: string }>('SELECT type, count() AS n FROM events GROUP BY type ORDER BY type');
    expect(stored.map((r) => r.type)).toEqual([...EVENT_TYPES].sort());

    const ended = sampleEvent('contact.ended', { talkMs: 1000, holdMs: 2000, acwMs: 3000, resolved: false });
    const reply = sampleEvent('ticket.replied');
    await post(app, [ended], { key: KEYS.acd });
    await post(app, [reply], { key: KEYS.crm });
    const [e] = await rows<Record<string, unknown>>('SELECT talk_ms, hold_ms, acw_ms, resolved, agent_id FROM events WHERE id = {id:String}', { id: ended.id });
    expect(e).toEqual({ talk_ms: 1000, hold_ms: 2000, acw_ms: 3000, resolved: false, agent_id: 'a1' });
    const [r] = await rows<Record<string, unknown>>('SELECT public, talk_ms FROM events WHERE id = {id:String}', { id: reply.id });
    expect(r).toEqual({ public: true, talk_ms: null }); // public defaults to true; fields of other types are NULL
  });

  it('normalises timestamps in other offsets to UTC with millisecond precision', async () => {
    const a = sampleEvent('contact.offered', { occurredAt: '2026-11-23T12:00:00.123456+03:00' });
    const b = sampleEvent('contact.offered', { occurredAt: '2026-11-22T20:30:00-05:30' });
    const res = await post(app, [a, b]);
    expect(res.statusCode).toBe(202);
    const got = await rows<{ id: string; t: string }>(
      'SELECT id, toString(occurred_at) AS t FROM events WHERE id IN {ids:Array(String)} ORDER BY t',
      { ids: [a.id, b.id] },
    );
    // 12:00:00.123456+03:00 → 09:00:00.123 UTC (µs truncated); 20:30-05:30 → 02:00 the next day UTC
    expect(got).toEqual([
      { id: b.id, t: '2026-11-23 02:00:00.000' },
      { id: a.id, t: '2026-11-23 09:00:00.123' },
    ]);
    // RFC 3339 allows a lower-case t and z; an offset has at most 23 hours and 59 minutes
    const lower = sampleEvent('contact.offered', { occurredAt: '2026-11-23t10:00:00z' });
    const badOffset = sampleEvent('contact.offered', { occurredAt: '2026-11-23T10:00:00+24:00' });
    const res2 = await post(app, [lower, badOffset]);
    expect(res2.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, errors: [{ path: '/occurredAt', message: 'is not a real date and time' }] }] });
    expect(await rows('SELECT toString(occurred_at) AS t FROM events WHERE id = {id:String}', { id: lower.id })).toEqual([{ t: '2026-11-23 10:00:00.000' }]);
  });

  it('stores SQL-looking and unusual strings verbatim', async () => {
    const nasty = "x'); DROP TABLE events; -- \\' \" \\n {id:String} ${1}";
    const e = sampleEvent('contact.offered', { id: nextId(nasty), queue: "q'1\\", attributes: { "k'ey": nasty, 'emoji': 'müşteri 📞' } });
    expect((await post(app, e)).statusCode).toBe(202);
    const [r] = await rows<{ id: string; queue: string; attributes: Record<string, string> }>(
      'SELECT id, queue, attributes FROM events WHERE id = {id:String}',
      { id: e.id },
    );
    expect(r).toEqual({ id: e.id, queue: "q'1\\", attributes: { "k'ey": nasty, emoji: 'müşteri 📞' } });
  });

  it('stores the valid events of a partly invalid batch and lists each rejected one (422)', async () => {
    const good = [sampleEvent('contact.offered'), sampleEvent('contact.answered')];
    const bad1 = { ...sampleEvent('contact.ended'), talkMs: -1, quue: 'typo' };
    const bad2 = sampleEvent('survey.response', { source: 'acd', metric: 'nps', score: 11 });
    const res = await post(app, [good[0], bad1, good[1], bad2]);
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.duplicates).toBe(0);
    expect(body.rejected).toEqual([
      {
        index: 1,
        id: bad1.id,
        errors: expect.arrayContaining([
          { path: '/quue', message: 'is not a field of this event type (check the spelling)' },
          expect.objectContaining({ path: '/talkMs' }),
        ]),
      },
      { index: 3, id: bad2.id, errors: [{ path: '/score', message: expect.stringMatching(/^must be/) }] },
    ]);
    expect(await countOf(good.map((g) => g.id))).toBe(2);
    const kept = await rows<{ item_index: number; event_id: string; key_name: string; reasons: string[]; raw: string }>(
      'SELECT item_index, event_id, key_name, reasons, raw FROM rejected_events WHERE event_id IN {ids:Array(String)} ORDER BY item_index',
      { ids: [bad1.id, bad2.id] },
    );
    expect(kept.map((k) => [k.item_index, k.event_id])).toEqual([[1, bad1.id], [3, bad2.id]]);
    expect(JSON.parse(kept[0]!.raw)).toEqual(bad1);
    expect(kept[0]!.reasons).toContain('/quue: is not a field of this event type (check the spelling)');
  });

  it('keeps a rejected array element as the sender wrote it, however deeply nested', async () => {
    const good = sampleEvent('contact.offered');
    // as written: spaces, 1.50, an escaped é; and 5,000 levels of arrays, more than JSON.stringify can take
    const spaced = `{ "id" : "${nextId('spaced')}", "talkMs": 1.50, "x": "\u00e9" }`;
    const deep = `{"id": "${nextId('deep')}", "attributes": {"a": ${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    const res = await post(app, `[${JSON.stringify(good)},\n  ${spaced} ,${deep}]`);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }, { index: 2 }] });
    const kept = await rows<{ raw: string }>('SELECT raw FROM rejected_events WHERE event_id IN {ids:Array(String)} ORDER BY item_index', {
      ids: [JSON.parse(spaced).id, JSON.parse(deep).id],
    });
    expect(kept.map((k) => k.raw)).toEqual([spaced, deep]);
  });

  it('attribute names have 1 to 64 characters; values are strings', async () => {
    const long = 'k'.repeat(65);
    const events = [
      sampleEvent('contact.offered', { attributes: { [long]: 'v' } }),
      sampleEvent('contact.offered', { attributes: { '': 'v' } }),
      sampleEvent('contact.offered', { attributes: { 'line\nbreak': { nested: [1, 2] } } }),
      sampleEvent('contact.offered', { attributes: { ['k'.repeat(64)]: 'v', 'line\nbreak': 'v' } }),
    ];
    const res = await post(app, events);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 0, errors: [{ path: `/attributes/${long}`, message: 'an attribute name must have 1 to 64 characters' }] },
        { index: 1, errors: [{ path: '/attributes/', message: 'an attribute name must have 1 to 64 characters' }] },
        { index: 2, errors: [{ path: '/attributes/line\nbreak', message: 'must be string' }] },
      ],
    });
    expect(await countOf([events[3]!.id])).toBe(1);
  });

  it('NDJSON: a broken line is rejected on its own, the other lines are stored', async () => {
    const a = sampleEvent('contact.offered');
    const b = sampleEvent('contact.abandoned');
    const body = `${JSON.stringify(a)}\n{"id": "broken", \n\n${JSON.stringify(b)}\n`;
    const res = await post(app, body, { contentType: 'application/x-ndjson' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ accepted: 2, duplicates: 0, rejected: [{ index: 1, id: null, errors: [{ path: '', message: expect.stringMatching(/^line 2 is not valid JSON/) }] }] });
    expect(await countOf([a.id, b.id])).toBe(2);
    const kept = await rows<{ raw: string }>("SELECT raw FROM rejected_events WHERE raw = '{\"id\": \"broken\", '");
    expect(kept).toHaveLength(1);
    // media types are case-insensitive: the lines are still lines
    const c = sampleEvent('contact.offered');
    const mixed = await post(app, `${JSON.stringify(c)}\nnot json\n`, { contentType: 'Application/X-NDJSON; charset=utf-8' });
    expect(mixed.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
  });

  it('400 for a body that cannot be parsed at all, kept in rejected_events', async () => {
    const marker = nextId('unparseable');
    const res = await post(app, `{"id": "${marker}", oops`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_body', message: expect.stringMatching(/not valid JSON/) });
    const kept = await rows<{ item_index: number }>('SELECT item_index FROM rejected_events WHERE position(raw, {m:String}) > 0', { m: marker });
    expect(kept).toEqual([{ item_index: -1 }]);
    expect((await post(app, '42')).statusCode).toBe(400);
    expect((await post(app, '')).statusCode).toBe(400);
    // no body and no content type at all: the same 400, kept
    const empties = async () => Number((await rows<{ n: string }>("SELECT count() AS n FROM rejected_events WHERE raw = '' AND item_index = -1"))[0]!.n);
    const before = await empties();
    const bare = await app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.acd}` } });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().error).toMatchObject({ code: 'invalid_body', message: expect.stringMatching(/^the body is empty/) });
    expect(await empties()).toBe(before + 1);
  });

  it('401 without a valid key, 403 for events of another source', async () => {
    const e = sampleEvent('contact.offered');
    const none = await post(app, e, { key: null });
    expect(none.statusCode).toBe(401);
    expect((await post(app, e, { key: 'not-a-key' })).statusCode).toBe(401);
    const ivrAsAcd = sampleEvent('ivr.started');
    const res = await post(app, [sampleEvent('contact.offered'), ivrAsAcd], { key: KEYS.acd });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('wrong_source');
    expect(await countOf([ivrAsAcd.id])).toBe(0);
    // an ACD type claiming the IVR is refused the same way (not as a mistake of its type), and so is an invalid one
    const offeredAsIvr = sampleEvent('contact.offered', { source: 'ivr' });
    const brokenAsIvr = { ...sampleEvent('ivr.started'), queue: 42 };
    const ok = sampleEvent('contact.abandoned');
    const both = await post(app, [ok, offeredAsIvr, brokenAsIvr], { key: KEYS.acd });
    expect(both.statusCode).toBe(403);
    expect(both.json().error.message).toMatch(/events at 1, 2 claim another source/);
    expect(await countOf([ok.id, offeredAsIvr.id])).toBe(0);
    const kept = await rows<{ item_index: number; reasons: string[] }>(
      'SELECT item_index, reasons FROM rejected_events WHERE event_id IN {ids:Array(String)} ORDER BY item_index',
      { ids: [ok.id, offeredAsIvr.id, brokenAsIvr.id] },
    );
    expect(kept).toEqual([
      { item_index: 0, reasons: ['/: not stored: the request was refused because other events in it claim another source'] },
      { item_index: 1, reasons: ['/source: must be acd for this key'] },
      { item_index: 2, reasons: ['/source: must be acd for this key'] },
    ]);
  });

  it('415 for another content type; 413 for a body or a batch over the limits', async () => {
    const e = sampleEvent('contact.offered');
    const plain = await post(app, JSON.stringify(e), { contentType: 'text/plain' });
    expect(plain.statusCode).toBe(415);
    expect(plain.json().error).toEqual({
      code: 'unsupported_media_type',
      message: 'Content-Type "text/plain" is not taken here: send application/json (an event or an array of events) or application/x-ndjson',
    });
    const small = await makeApp({ INGEST_MAX_BYTES: '2048', INGEST_MAX_EVENTS: '3' });
    const big = await post(small, [sampleEvent('contact.offered', { attributes: { pad: 'x'.repeat(1000) } }), sampleEvent('contact.offered', { attributes: { pad: 'x'.repeat(1000) } })]);
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toEqual({ code: 'body_too_large', message: 'the body is larger than 2048 bytes (INGEST_MAX_BYTES): split the events over several requests' });
    const four = [1, 2, 3, 4].map(() => sampleEvent('contact.abandoned'));
    const many = await post(small, four);
    expect(many.statusCode).toBe(413);
    expect(many.json().error).toEqual({ code: 'too_many_events', message: 'a request may carry at most 3 events; this one has 4' });
    // the body was read and is the key's: kept whole, for GET /v1/events/rejected
    const kept = await rows<{ item_index: number; reasons: string[] }>('SELECT item_index, reasons FROM rejected_events WHERE position(raw, {id:String}) > 0', { id: four[0]!.id });
    expect(kept).toEqual([{ item_index: -1, reasons: ['/: a request may carry at most 3 events; this one has 4'] }]);
    await small.close();
  });

  it('takes gzip and deflate bodies, UTF-8 with or without a byte-order mark or in another charset it names; refuses unknown encodings and charsets (415)', async () => {
    const send = (payload: Buffer | string, headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.acd}`, 'content-type': 'application/x-ndjson', ...headers }, payload });
    const ndjson = (...events: unknown[]) => events.map((e) => JSON.stringify(e)).join('\n');
    const [a, b, c, d] = [1, 2, 3, 4].map(() => sampleEvent('contact.offered', { attributes: { caller: 'Gül Çağrı' } }));
    expect((await send(gzipSync(ndjson(a, b)), { 'content-encoding': 'gzip' })).json()).toEqual({ accepted: 2, duplicates: 0 });
    expect((await send(deflateSync(ndjson(c)), { 'content-encoding': 'Deflate' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    // a byte-order mark before the first event (NDJSON, then JSON)
    expect((await send(`\uFEFF${ndjson(d)}`, { 'content-type': 'application/x-ndjson; charset=UTF-8' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    const e = sampleEvent('contact.offered', { attributes: { caller: 'Gül' } });
    expect((await send(`\uFEFF${JSON.stringify([e])}`, { 'content-type': 'application/json' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    const stored = await rows<{ caller: string }>("SELECT attributes['caller'] AS caller FROM events WHERE id IN {ids:Array(String)} ORDER BY caller", { ids: [a!, b!, c!, d!, e].map((x) => x.id) });
    expect(stored.map((r) => r.caller)).toEqual(['Gül', 'Gül Çağrı', 'Gül Çağrı', 'Gül Çağrı', 'Gül Çağrı']);

    // another charset, named: decoded as such (Latin-1's ü is one byte, not UTF-8's two), and raw deflate, as .NET and PHP send it
    const f = sampleEvent('contact.offered', { attributes: { caller: 'Gül' } });
    expect((await send(Buffer.from(ndjson(f), 'latin1'), { 'content-type': 'application/x-ndjson; charset=ISO-8859-1' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    const g = sampleEvent('contact.offered');
    expect((await send(deflateRawSync(ndjson(g)), { 'content-encoding': 'deflate' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await rows("SELECT attributes['caller'] AS caller FROM events WHERE id = {id:String}", { id: f.id })).toEqual([{ caller: 'Gül' }]);
    expect(await countOf([g.id])).toBe(1);
    // refused before anything is read: a charset that is no encoding, another compression
    const klingon = await send(ndjson(sampleEvent('contact.offered')), { 'content-type': 'application/x-ndjson; charset=klingon' });
    expect([klingon.statusCode, klingon.json().error]).toEqual([415, { code: 'unsupported_charset', message: 'charset "klingon" is not an encoding known here: send the body in UTF-8' }]);
    const br = await send(ndjson(sampleEvent('contact.offered')), { 'content-encoding': 'br' });
    expect([br.statusCode, br.json().error.code]).toEqual([415, 'unsupported_encoding']);
    // a broken gzip body: 400, kept (as base64) for GET /v1/events/rejected
    const broken = gzipSync(ndjson(sampleEvent('contact.offered'))).subarray(0, 30);
    const bad = await send(broken, { 'content-encoding': 'gzip' });
    expect([bad.statusCode, bad.json().error.code, bad.json().error.message]).toEqual([400, 'invalid_body', expect.stringMatching(/^the body is not valid gzip: /)]);
    const kept = await rows<{ item_index: number; reasons: string[] }>('SELECT item_index, reasons FROM rejected_events WHERE raw = {raw:String}', { raw: `(gzip body of 30 bytes, base64) ${broken.toString('base64')}` });
    expect(kept).toEqual([{ item_index: -1, reasons: [expect.stringMatching(/^\/: the body is not valid gzip: /)] }]);
    // decompressed beyond INGEST_MAX_BYTES: 413, as a plain body would be
    const small = await makeApp({ INGEST_MAX_BYTES: '2048' });
    const bomb = gzipSync(ndjson(sampleEvent('contact.offered', { attributes: { pad: 'x'.repeat(4000) } })));
    expect(bomb.length).toBeLessThan(2048);
    const tooBig = await small.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.acd}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, payload: bomb });
    expect([tooBig.statusCode, tooBig.json().error.code]).toEqual([413, 'body_too_large']);
    await small.close();
    // one event per line sent as application/json: the 400 says what to send instead
    const asJson = await post(app, ndjson(sampleEvent('contact.offered'), sampleEvent('contact.offered')));
    expect(asJson.json().error.message).toMatch(/\(one event per line is NDJSON: send it as application\/x-ndjson\)$/);
  });

  it('429 when a key exceeds its rate limit', async () => {
    const limited = await makeApp({ INGEST_RATE_LIMIT_PER_MINUTE: '2', REDIS_PREFIX: `${ctx.config.REDIS_PREFIX}_rl` });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await post(limited, sampleEvent('contact.abandoned'))).statusCode);
    expect(codes).toEqual([202, 202, 429]);
    const refused = await post(limited, sampleEvent('contact.abandoned'));
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.json().error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^this ingest key may make 2 requests a minute \(INGEST_RATE_LIMIT_PER_MINUTE\); retry in \d+ s$/) });
    // another key is not affected
    expect((await post(limited, sampleEvent('ivr.started'), { key: KEYS.ivr })).statusCode).toBe(202);
    await limited.close();
  });

  it('a retried event is stored once: sequentially, within a batch, and concurrently', async () => {
    const e = sampleEvent('contact.offered');
    expect((await post(app, e)).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect((await post(app, e)).json()).toEqual({ accepted: 0, duplicates: 1 });
    const f = sampleEvent('contact.offered');
    expect((await post(app, [f, f, f])).json()).toEqual({ accepted: 1, duplicates: 2 });

    const g = sampleEvent('contact.answered');
    const other = await makeApp(); // a second API process sharing ClickHouse and Redis
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i % 2 ? other : app, [g, sampleEvent('contact.abandoned')])));
    expect(results.every((r) => r.statusCode === 202)).toBe(true);
    expect(results.reduce((sum, r) => sum + r.json().accepted, 0)).toBe(12 + 1); // 12 fresh abandons + g once
    expect(await countOf([e.id, f.id, g.id])).toBe(3);
    await other.close();
  });

  it('the same id from two sources is two events; a retry from either is a duplicate (one check for a mixed batch)', async () => {
    const id = nextId();
    const acd = { ...sampleEvent('contact.offered'), id };
    const ivr = { ...sampleEvent('ivr.started'), id };
    // Posted at once, so the writer usually coalesces them (and their check) into one insert.
    const first = await Promise.all([post(app, acd), post(app, ivr, { key: KEYS.ivr })]);
    expect(first.map((r) => r.json())).toEqual([{ accepted: 1, duplicates: 0 }, { accepted: 1, duplicates: 0 }]);
    const again = await Promise.all([post(app, acd), post(app, ivr, { key: KEYS.ivr })]);
    expect(again.map((r) => r.json())).toEqual([{ accepted: 0, duplicates: 1 }, { accepted: 0, duplicates: 1 }]);
    const stored = await rows<{ source: string }>('SELECT source FROM events WHERE id = {id:String} ORDER BY source', { id });
    expect(stored.map((r) => r.source)).toEqual(['acd', 'ivr']);
  });

  it('the same id at another occurredAt is another event under a used id: refused (422) and kept, not dropped as a duplicate', async () => {
    const e = sampleEvent('contact.offered', {}, 120_000);
    expect((await post(app, e)).json()).toEqual({ accepted: 1, duplicates: 0 });
    // a sender whose counter started again: the id now names an event of another time
    const reused = sampleEvent('contact.abandoned', { id: e.id }, 30_000);
    const res = await post(app, [sampleEvent('contact.offered'), reused]);
    expect(res.statusCode).toBe(422);
    const named = `already names another acd event, of ${new Date(Date.parse(e.occurredAt)).toISOString()}: a retry must send that same event, and a new event needs an id of its own`;
    expect(res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 1, id: e.id, errors: [{ path: '/id', message: named }] }] });
    const kept = await rows<{ item_index: number; reasons: string[]; raw: string }>(
      "SELECT item_index, reasons, raw FROM rejected_events WHERE event_id = {id:String} AND has(reasons, concat('/id: ', {named:String}))",
      { id: e.id, named },
    );
    expect(kept.map((k) => [k.item_index, JSON.parse(k.raw).type])).toEqual([[1, 'contact.abandoned']]);
    // a retry (the same occurredAt) is a duplicate, whatever else it says; the stored event is the first one
    expect((await post(app, { ...e, queue: 'sales' })).json()).toEqual({ accepted: 0, duplicates: 1 });
    expect(await rows('SELECT type, queue FROM events WHERE id = {id:String}', { id: e.id })).toEqual([{ type: 'contact.offered', queue: 'billing' }]);
    // within one request (nothing stored yet): the first is stored, a copy is a duplicate, another time is refused
    const f = sampleEvent('contact.offered', {}, 90_000);
    const later = { ...f, occurredAt: new Date(Date.parse(f.occurredAt) + 1).toISOString() };
    const batch = await post(app, [f, f, later]);
    expect(batch.json()).toEqual({ accepted: 1, duplicates: 1, rejected: [{ index: 2, id: f.id, errors: [{ path: '/id', message: expect.stringContaining(`of ${f.occurredAt}:`) }] }] });
  });

  it('coalesces concurrent requests into few inserts, one at a time; a lone request is written at once', async () => {
    let inserts = 0;
    const counting = withInsert((insert, params) => (inserts++, insert(params)));
    // A write holds the insert lock from before its insert until after it: writes at once = locks held at once.
    let held = 0;
    let mostAtOnce = 0;
    const dedupe = new (class extends Deduplicator {
      override async lock() {
        const lock = await super.lock();
        mostAtOnce = Math.max(mostAtOnce, ++held);
        return lock;
      }
      override async unlock(lock: Parameters<Deduplicator['unlock']>[0]) {
        await super.unlock(lock);
        held--;
      }
    })(redis, counting, `${ctx.config.REDIS_PREFIX}:coalesce`, { leaseMs: 30_000, waitMs: 5_000 });
    const writer = new EventWriter(counting, dedupe, { maxBatchEvents: 1_000, log: capturedLog('warn').log });
    // The writer unlocks just after answering a write: idle once it has.
    const idle = async () => {
      while (held > 0) await sleep(5);
      await new Promise((resolve) => setImmediate(resolve));
    };
    expect(await writer.write([validEvent()])).toEqual({ accepted: 1, duplicates: 0, conflicts: [] });
    expect(inserts).toBe(1);
    await idle();
    // 40 small requests at once: the first is written alone at once (the writer is idle); the other 39 wait for that
    // insert and are then written together, in one insert.
    const results = await Promise.all(Array.from({ length: 40 }, () => writer.write([validEvent(), validEvent()])));
    expect(results.every((r) => r.accepted === 2 && r.duplicates === 0)).toBe(true);
    expect(inserts).toBe(1 + 2);
    await idle();
    // Waiting requests beyond maxBatchEvents (1,000 here) go in the next insert: 1 alone, then 600, then 600.
    const large = await Promise.all([writer.write([validEvent()]), writer.write(Array.from({ length: 600 }, validEvent)), writer.write(Array.from({ length: 600 }, validEvent))]);
    expect(large.map((r) => r.accepted)).toEqual([1, 600, 600]);
    expect(inserts).toBe(3 + 3);
    expect(mostAtOnce).toBe(1);
    await writer.close();
  });

  it('keeps the refused events of concurrent requests in few inserts, and those of a request sent again after a 503 once', async () => {
    let inserts = 0;
    const rejectedWriter = new RejectedWriter(withInsert((insert, params) => (inserts++, insert(params))));
    const meta = { requestId: 'r', source: 'acd', keyId: 'config:acd:1', keyName: 'k', receivedAt: Date.now() };
    const refused = (id: string) => [{ index: 0, id, errors: [{ path: '/queue', message: 'is required' }], raw: `{"id":"${id}"}` }];
    await rejectedWriter.store(refused(nextId('lone')), meta);
    expect(inserts).toBe(1);
    await new Promise((resolve) => setImmediate(resolve)); // the writer is idle once it answered
    // 40 requests with a refused event each, at once: the first written alone, the other 39 together
    const ids = Array.from({ length: 40 }, () => nextId('many'));
    await Promise.all(ids.map((id) => rejectedWriter.store(refused(id), meta)));
    expect(inserts).toBe(1 + 2);
    expect(Number((await rows<{ n: string }>('SELECT count() AS n FROM rejected_events WHERE event_id IN {ids:Array(String)}', { ids }))[0]!.n)).toBe(40);
    await rejectedWriter.close();

    // A request whose events cannot be stored (503) keeps nothing; sent again, its refused event is kept once.
    const failing = await buildApp({
      config: loadConfig(envOf(ctx)),
      log: capturedLog('fatal').log,
      clickhouse: withInsert((insert, params) => (params.table === 'events_ingest' ? Promise.reject(new Error('refused by the test')) : insert(params))),
      redis,
    });
    const good = sampleEvent('contact.offered');
    const bad = { ...sampleEvent('contact.offered'), queue: undefined };
    expect((await post(failing, [good, bad])).statusCode).toBe(503);
    await failing.close();
    expect((await post(app, [good, bad])).json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
    expect(await rows('SELECT item_index FROM rejected_events WHERE event_id = {id:String}', { id: bad.id })).toEqual([{ item_index: 1 }]);
  });

  it('waits while another API process holds the insert lock; answers 503 and stores nothing when it is held too long', async () => {
    const prefix = `${ctx.config.REDIS_PREFIX}:lockwait`;
    const lockKey = `${prefix}:{ingest-insert-lock}`;
    const writer = new EventWriter(ctx.clickhouse, new Deduplicator(redis, ctx.clickhouse, prefix, { leaseMs: 30_000, waitMs: 1_000 }), {
      maxBatchEvents: 1_000,
      log: capturedLog('fatal').log,
    });
    // Held by another process: the write waits, and goes through once it is released.
    await redis.set(lockKey, 'another-process', 'PX', 30_000);
    const e = validEvent();
    let settled = false;
    const pending = writer.write([e]).finally(() => (settled = true));
    await sleep(300);
    expect(settled).toBe(false);
    expect(await countOf([e.id])).toBe(0);
    await redis.del(lockKey);
    expect(await pending).toEqual({ accepted: 1, duplicates: 0, conflicts: [] });
    expect(await redis.exists(lockKey)).toBe(0); // released after the write
    // Held past the wait (1 s here): 503, nothing stored, the other holder's lock untouched.
    await redis.set(lockKey, 'another-process', 'PX', 30_000);
    const f = validEvent();
    await expect(writer.write([f])).rejects.toThrow(/insert lock/);
    expect(await countOf([f.id])).toBe(0);
    expect(await redis.get(lockKey)).toBe('another-process');
    await redis.del(lockKey);
    await writer.close();
  });

  it('takes turns with another API process that writes without pause: it steps back when the other waits', async () => {
    const prefix = `${ctx.config.REDIS_PREFIX}:lockturns`;
    // `busy` always has requests waiting (three senders without pause), and each of its inserts takes 300 ms; so it
    // wants the lock again the moment it releases it. `other` looks every 5 ms meanwhile, and must get its turn
    // within its wait of 1.5 s, each time.
    const slow = withInsert(async (insert, params) => (await sleep(300), insert(params)));
    const writerOf = (ch: ClickHouseClient) =>
      new EventWriter(ch, new Deduplicator(redis, ch, prefix, { leaseMs: 30_000, waitMs: 1_500 }), { maxBatchEvents: 1_000, log: capturedLog('fatal').log });
    const busy = writerOf(slow);
    const other = writerOf(ctx.clickhouse);
    let sending = true;
    const senders = Array.from({ length: 3 }, async () => {
      while (sending) await busy.write([validEvent(), validEvent()]);
    });
    await sleep(400);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await other.write([validEvent()]).catch((err: Error) => err.message));
    sending = false;
    await Promise.all(senders);
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ accepted: 1, duplicates: 0, conflicts: [] })));
    await busy.close();
    await other.close();
  });

  it('keeps the insert lock while a slow insert runs, and for a lease after one whose outcome is unknown', async () => {
    const prefix = `${ctx.config.REDIS_PREFIX}:locklease`;
    const lockKey = `${prefix}:{ingest-insert-lock}`;
    let mode: 'slow' | 'timeout' = 'slow';
    const faulty = withInsert(async (insert, params) => {
      if (mode === 'timeout') throw new Error('Timeout error.'); // as @clickhouse/client reports a request timeout
      await sleep(1_500);
      return insert(params);
    });
    // A lease of 600 ms, renewed every 200 ms: the 1.5 s insert keeps it throughout.
    const writer = new EventWriter(faulty, new Deduplicator(redis, faulty, prefix, { leaseMs: 600, waitMs: 300 }), {
      maxBatchEvents: 1_000,
      log: capturedLog('fatal').log,
    });
    const e = validEvent();
    const slow = writer.write([e]);
    await sleep(1_200);
    expect(await redis.exists(lockKey)).toBe(1);
    expect(await slow).toEqual({ accepted: 1, duplicates: 0, conflicts: [] });
    expect(await redis.exists(lockKey)).toBe(0);

    // A timeout: the insert may still land, so the lock stays for a lease (600 ms) and the next write waits for it.
    mode = 'timeout';
    await expect(writer.write([validEvent()])).rejects.toThrow(/Timeout/);
    expect(Number(await redis.pttl(lockKey))).toBeGreaterThan(0);
    mode = 'slow';
    await expect(writer.write([validEvent()])).rejects.toThrow(/insert lock/); // waits 300 ms < the lease: 503
    await sleep(700);
    expect(await redis.exists(lockKey)).toBe(0); // expired on its own
    const g = validEvent();
    expect(await writer.write([g])).toEqual({ accepted: 1, duplicates: 0, conflicts: [] });
    await writer.close();
  });

  it('a retry after a restart with Redis emptied is still recognised (ClickHouse is the truth)', async () => {
    const e = sampleEvent('ticket.created');
    expect((await post(app, e, { key: KEYS.crm })).json()).toEqual({ accepted: 1, duplicates: 0 });
    const restarted = await makeApp();
    const keys = await redis.keys(`${ctx.config.REDIS_PREFIX}:*`);
    if (keys.length) await redis.del(...keys);
    expect((await post(restarted, e, { key: KEYS.crm })).json()).toEqual({ accepted: 0, duplicates: 1 });
    expect(await countOf([e.id])).toBe(1);
    await restarted.close();
  });

  it('a retry is recognised on both sides of the KPI worker\'s fan-out (events, then event_ids)', async () => {
    const before = sampleEvent('contact.offered');
    expect((await post(app, before)).json()).toEqual({ accepted: 1, duplicates: 0 });
    // Not fanned out yet: found in `events`, above the watermark.
    expect((await post(app, before)).json()).toEqual({ accepted: 0, duplicates: 1 });
    const pass = await catchUp(ctx.clickhouse, { lookbackDays: 7 });
    expect(pass.events).toBeGreaterThan(0);
    expect(await readWatermark(ctx.clickhouse)).toBe(pass.upTo);
    // Fanned out: now below the watermark, found in event_ids only.
    const rs = await ctx.clickhouse.query({
      query: 'SELECT count() AS n FROM events WHERE id = {id:String} AND _block_number > {w:UInt64}',
      query_params: { id: before.id, w: pass.upTo },
      format: 'JSONEachRow',
    });
    expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(0);
    expect((await post(app, before)).json()).toEqual({ accepted: 0, duplicates: 1 });
    expect(await countOf([before.id])).toBe(1);
  });

  it('events_ingest stores a batch only if none of it is stored: in the tail or fanned out, all or nothing', async () => {
    const row = (e: ReturnType<typeof sampleEvent>) => {
      const v = validateEvent(e, { now: Date.now(), retentionDays: 30 });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      return toEventRow(v.event, Date.now());
    };
    const insert = (events: Array<ReturnType<typeof sampleEvent>>) => insertEventRows(ctx.clickhouse, 'events_ingest', events.map(row));
    const refused = async (events: Array<ReturnType<typeof sampleEvent>>) => {
      const err = await insert(events).then(() => null, (e: unknown) => e as { code?: string; message: string });
      expect(err?.code).toBe('395');
      expect(err?.message).toContain('NABIZ_DUPLICATE');
      expect(await countOf(events.map((e) => e.id).filter((id) => id !== stored.id))).toBe(0); // nothing of it written
    };
    const stored = sampleEvent('contact.offered');
    await insert([stored]);
    expect(await countOf([stored.id])).toBe(1);
    // Stored, not fanned out yet: found above the watermark.
    await refused([sampleEvent('contact.answered'), stored, sampleEvent('contact.abandoned')]);
    // Fanned out: found in event_ids.
    await catchUp(ctx.clickhouse, { lookbackDays: 7 });
    await refused([stored, sampleEvent('contact.answered')]);
    // The same id from another source is another event.
    const fresh = [{ ...sampleEvent('ivr.started'), id: stored.id, source: 'ivr' as const }, sampleEvent('contact.answered')];
    await insert(fresh);
    expect(await countOf([stored.id])).toBe(2);
    expect(await countOf([fresh[1]!.id])).toBe(1);
  });

  it('POST /v1/events/check says what POST /v1/events would answer, storing and keeping nothing', async () => {
    const check = (body: unknown, key = KEYS.acd) =>
      app.inject({ method: 'POST', url: '/v1/events/check', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    const good = sampleEvent('contact.offered');
    const bad = { ...sampleEvent('contact.ended'), talkMs: -1 };
    const partly = await check([good, bad]);
    expect(partly.statusCode).toBe(200);
    expect(partly.json()).toEqual({ answer: 422, valid: 1, rejected: [{ index: 1, id: bad.id, errors: [expect.objectContaining({ path: '/talkMs' })] }] });
    expect((await check(good)).json()).toEqual({ answer: 202, valid: 1, rejected: [] });
    // an event of another source: the whole request would be refused, each item says why
    const ivr = sampleEvent('ivr.started');
    expect((await check([good, ivr])).json()).toEqual({
      answer: 403,
      valid: 0,
      rejected: [
        { index: 0, id: good.id, errors: [{ path: '', message: expect.stringMatching(/^would not be stored/) }] },
        { index: 1, id: ivr.id, errors: [{ path: '/source', message: 'must be acd for this key' }] },
      ],
    });
    // a body that does not parse: 400, as POST would answer
    expect((await app.inject({ method: 'POST', url: '/v1/events/check', headers: { authorization: `Bearer ${KEYS.acd}`, 'content-type': 'application/json' }, payload: '{"id": "x", oops' })).statusCode).toBe(400);
    // nothing stored, nothing kept
    expect(await countOf([good.id, bad.id, ivr.id])).toBe(0);
    expect(await rows('SELECT 1 FROM rejected_events WHERE event_id IN {ids:Array(String)}', { ids: [bad.id, ivr.id] })).toEqual([]);
    // and the events are then taken as it said
    expect((await post(app, [good, bad])).json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
  });

  it('takes a batch of 10,000 events in one request', async () => {
    const batch = Array.from({ length: 10_000 }, (_, i) => sampleEvent(i % 2 ? 'contact.offered' : 'contact.abandoned'));
    const res = await post(app, batch.map((b) => JSON.stringify(b)).join('\n'), { contentType: 'application/x-ndjson' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 10_000, duplicates: 0 });
    expect(await countOf(batch.map((b) => b.id))).toBe(10_000);
  });

  it('refuses events from the future and older than the retention', async () => {
    const future = sampleEvent('contact.offered', {}, -6 * 60_000);
    const old = sampleEvent('contact.offered', {}, 401 * 86_400_000);
    const res = await post(app, [future, old]);
    expect(res.statusCode).toBe(422);
    expect(res.json().rejected.map((r: { errors: { message: string }[] }) => r.errors[0]!.message)).toEqual([
      expect.stringMatching(/^is more than 5 minutes in the future: the server's clock read \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(check the sender's clock\)$/),
      'is older than the retention (400 days)',
    ]);
  });
});

describe('GET /v1/events/rejected', () => {
  const get = (query: string, key: string | null = KEYS.acd) =>
    app.inject({ method: 'GET', url: `/v1/events/rejected${query}`, headers: key ? { authorization: `Bearer ${key}` } : {} });

  it("lists what the calling key sent that was refused, newest first, with reasons and raw text, and pages on", async () => {
    const since = new Date(Date.now() - 1).toISOString();
    const good = sampleEvent('contact.offered');
    const noContact = { ...sampleEvent('contact.abandoned'), contactId: undefined };
    const ndjson = `${JSON.stringify(good)}\n{"id": "half a line\n${JSON.stringify(noContact)}`;
    const partial = await post(app, ndjson, { contentType: 'application/x-ndjson' });
    expect(partial.statusCode).toBe(422);
    await new Promise((r) => setTimeout(r, 5)); // the next request's received_at is later
    // the sender's own request id, when it gives one, is the request's
    const unparseable = await app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.acd}`, 'content-type': 'application/json', 'x-request-id': 'acd-batch-2026-11-25/0042' }, payload: '{"not": json' });
    expect([unparseable.statusCode, unparseable.headers['x-request-id']]).toEqual([400, 'acd-batch-2026-11-25/0042']);
    // another key's refusal is not this key's to see
    const ivrBad = { ...sampleEvent('ivr.ended'), outcome: 'nonsense' };
    expect((await post(app, [ivrBad], { key: KEYS.ivr })).statusCode).toBe(422);

    const res = await get(`?since=${encodeURIComponent(since)}`);
    expect(res.statusCode).toBe(200);
    const { rejected, next } = res.json() as { rejected: Array<Record<string, unknown>>; next: string | null };
    // newest first: the unparseable body, then the NDJSON request's refused lines, last line first
    expect(rejected).toEqual([
      { receivedAt: expect.any(String), requestId: 'acd-batch-2026-11-25/0042', index: -1, id: null, reasons: [expect.stringMatching(/^\/: .*not valid JSON/)], raw: '{"not": json' },
      { receivedAt: expect.any(String), requestId: partial.headers['x-request-id'], index: 2, id: noContact.id, reasons: ['/contactId: is required'], raw: JSON.stringify(noContact) },
      { receivedAt: expect.any(String), requestId: partial.headers['x-request-id'], index: 1, id: null, reasons: [expect.stringMatching(/^\/: line 2 is not valid JSON/)], raw: '{"id": "half a line' },
    ]);
    expect(next).toBeNull();
    // without one: an id of its own, unique across processes and restarts (a counter per process was not)
    expect(partial.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const odd = await app.inject({ url: '/v1/events/schema', headers: { authorization: `Bearer ${KEYS.acd}`, 'x-request-id': 'has spaces and\nlines' } });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-/); // not an id of the accepted form: replaced
    expect(Date.parse(rejected[0]!.receivedAt as string)).toBeGreaterThan(Date.parse(rejected[1]!.receivedAt as string));

    // two per page: the first page says where to go on, the second ends
    const first = (await get(`?since=${encodeURIComponent(since)}&limit=2`)).json() as { rejected: Array<{ index: number }>; next: string };
    expect(first.rejected.map((r) => r.index)).toEqual([-1, 2]);
    expect(first.next).toEqual(expect.any(String));
    const second = (await get(`?since=${encodeURIComponent(since)}&limit=2&before=${first.next}`)).json() as { rejected: Array<{ index: number }>; next: null };
    expect(second).toEqual({ rejected: [expect.objectContaining({ index: 1 })], next: null });

    const ivr = (await get(`?since=${encodeURIComponent(since)}`, KEYS.ivr)).json() as { rejected: Array<{ id: string; reasons: string[] }> };
    expect(ivr.rejected).toEqual([expect.objectContaining({ id: ivrBad.id, reasons: [expect.stringMatching(/^\/outcome: /)] })]);
  });

  it('gives a key its own refusals only, though another key of its source has the same name; rows kept before by name', async () => {
    const since = new Date(Date.now() - 1).toISOString();
    const actor = { actor_kind: 'user', actor_id: 'u_test', actor_name: 'admin', ip: '', user_agent: '' } as const;
    // two sites' ACD keys, both named "Genesys prod"
    const [a, b] = await Promise.all([1, 2].map(() => app.auth.service.createIngestKey(actor, { source: 'acd', name: 'Genesys prod' })));
    const bad = (site: string) => ({ ...sampleEvent('contact.offered'), queue: undefined, id: nextId(site) });
    const fromA = bad('site-a');
    const fromB = bad('site-b');
    expect((await post(app, [fromA], { key: a!.token })).statusCode).toBe(422);
    expect((await post(app, [fromB], { key: b!.token })).statusCode).toBe(422);
    const seen = async (key: string) => ((await get(`?since=${encodeURIComponent(since)}`, key)).json() as { rejected: Array<{ id: string }> }).rejected.map((r) => r.id);
    expect(await seen(a!.token)).toEqual([fromA.id]);
    expect(await seen(b!.token)).toEqual([fromB.id]);
    // a row kept before key ids were (020: key_id ''), under that name: still read by name
    const old = { received_at: chTime(Date.now()), request_id: 'before-020', source: 'acd', key_name: 'Genesys prod', item_index: 0, event_id: 'old-refusal', reasons: ['/queue: is required'], raw: '{}' };
    await ctx.clickhouse.insert({ table: 'rejected_events', values: [old], format: 'JSONEachRow' });
    expect((await seen(a!.token)).sort()).toEqual([fromA.id, 'old-refusal'].sort());
  });

  it('validates its query, naming the field, and needs an ingest key', async () => {
    for (const [query, path] of [['?since=yesterday', '/since'], ['?limit=0', '/limit'], ['?limit=1001', '/limit'], ['?before=not-a-cursor', '/before'], ['?sinse=2026-11-24T00:00:00Z', '/sinse']] as const) {
      const res = await get(query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.details, query).toEqual([expect.objectContaining({ path })]);
    }
    expect((await get('', null)).statusCode).toBe(401);
    expect((await get('', 'not-a-key')).statusCode).toBe(401);
  });
});
