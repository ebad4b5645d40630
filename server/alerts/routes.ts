// Thresholds and alerts API (docs/alerts.md):
//   GET    /v1/thresholds[?at=ISO]       the thresholds in force (now, or at a past time)        readers
//   POST   /v1/thresholds                create                                                  supervisors, admins
//   PUT    /v1/thresholds/:id            replace (If-Match: "<updatedAt>": only that version)     supervisors, admins
//   DELETE /v1/thresholds/:id            delete (history keeps it)                               supervisors, admins
//   GET    /v1/alerts?active=1           the open alerts (as the screens show them)              readers
//   GET    /v1/alerts[?since&until&kpi&scope&limit]   recent alerts from the history             readers
//   GET    /v1/alerts/:id                one alert with every transition                         readers
// (A display token reads the alerts of its boards' scopes, and the thresholds that apply to them, only:
// server/boards/display-scopes.ts.)
//   POST   /v1/alerts/:id/ack            acknowledge an open alert (shown on every screen)       supervisors, admins
// Every change is in the audit log (threshold.create/update/delete, alert.ack).
import type { ClickHouseClient } from '@clickhouse/client';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import type { Principal } from '../auth/principal.ts';
import { grantsThreshold, type DisplayScopes } from '../boards/display-scopes.ts';
import { AlertSchema, type Alert } from '../live/protocol.ts';
import { PreconditionHeaders, requireVersion } from '../preconditions.ts';
import { AlertStore } from './store.ts';
import { newThresholdId, ThresholdInputSchema, ThresholdSchema, ThresholdStore, validateThreshold, type Threshold, type ThresholdInput } from './thresholds.ts';

export interface AlertRoutesOptions {
  config: Config;
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** What a display token may read: the alerts of its boards' scopes. */
  displayScopes: DisplayScopes;
}

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const DAY_MS = 86_400_000;

export async function alertRoutes(parent: FastifyInstance, opts: AlertRoutesOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const thresholds = new ThresholdStore(opts.clickhouse);
  const alerts = new AlertStore(opts.clickhouse, opts.redis, opts.config.REDIS_PREFIX);
  const reader = { onRequest: app.auth.require('reader') };
  const supervisor = { onRequest: app.auth.require('supervisor') };
  const auth = app.auth;
  /** A display reads the alerts of its boards' scopes only. */
  const readable = (p: Principal | null, list: Alert[]) => opts.displayScopes.readable(p, list, (a) => a.scope);

  async function unique(input: ThresholdInput, exceptId?: string): Promise<void> {
    const clash = (await thresholds.list()).find((t) => t.kpi === input.kpi && t.scope === input.scope && t.window === input.window && t.id !== exceptId);
    if (clash) {
      throw new ApiError(409, 'duplicate_threshold', `threshold ${clash.id} already covers ${input.kpi} for ${input.scope} in ${input.window}: change that one`);
    }
  }

  async function existing(id: string): Promise<Threshold> {
    const t = await thresholds.get(id);
    if (!t) throw new ApiError(404, 'not_found', `no threshold ${id}`);
    return t;
  }

  /** Tells the engine; a lost notice is caught up by its periodic reload. */
  const notify = () => alerts.thresholdsChanged().catch((err: Error) => app.log.warn({ err: err.message }, 'thresholds: change notice not published'));

  app.get(
    '/v1/thresholds',
    {
      ...reader,
      schema: {
        tags: ['alerts'],
        querystring: Type.Object({ at: Type.Optional(Type.String({ format: 'date-time', description: 'the thresholds in force at this time' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ thresholds: Type.Array(ThresholdSchema) }) },
      },
    },
    async (request) => {
      // the TVs poll it: theirs come from the shared read
      const list = request.query.at ? await thresholds.list(Date.parse(request.query.at)) : request.principal?.kind === 'display' ? await thresholds.current() : await thresholds.list();
      // a display reads the thresholds that colour its tiles, no others
      return { thresholds: await opts.displayScopes.readable(request.principal, list, (t) => t.scope, grantsThreshold) };
    },
  );

  app.post(
    '/v1/thresholds',
    { ...supervisor, schema: { tags: ['alerts'], body: ThresholdInputSchema, response: { 201: Type.Object({ threshold: ThresholdSchema }) } } },
    async (request, reply) => {
      const input = validateThreshold(request.body);
      await unique(input);
      const actor = auth.actorOf(request);
      const threshold = await thresholds.put({ id: newThresholdId(), ...input }, actor.actor_name);
      await auth.audit.record(actor, { action: 'threshold.create', object_kind: 'threshold', object_id: threshold.id, details: { ...input } });
      await notify();
      return reply.code(201).send({ threshold });
    },
  );

  app.put(
    '/v1/thresholds/:id',
    {
      ...supervisor,
      schema: { tags: ['alerts'], params: Id, headers: PreconditionHeaders, body: ThresholdInputSchema, response: { 200: Type.Object({ threshold: ThresholdSchema }) } },
    },
    async (request) => {
      const before = await existing(request.params.id);
      // an edit of the version opened: one changed since (another supervisor) is not undone
      requireVersion(request.headers['if-match'], before, 'threshold');
      const input = validateThreshold(request.body);
      await unique(input, before.id);
      const actor = auth.actorOf(request);
      const at = Math.max(Date.now(), Date.parse(before.updatedAt) + 1);
      const threshold = await thresholds.put({ id: before.id, ...input }, actor.actor_name, at);
      const { updatedAt: _a, updatedBy: _b, id: _c, ...was } = before;
      await auth.audit.record(actor, { action: 'threshold.update', object_kind: 'threshold', object_id: before.id, details: { before: was, after: input } });
      await notify();
      return { threshold };
    },
  );

  app.delete('/v1/thresholds/:id', { ...supervisor, schema: { tags: ['alerts'], params: Id } }, async (request, reply) => {
    const before = await existing(request.params.id);
    const actor = auth.actorOf(request);
    await thresholds.remove(before, actor.actor_name, Math.max(Date.now(), Date.parse(before.updatedAt) + 1));
    const { updatedAt: _a, updatedBy: _b, id: _c, ...was } = before;
    await auth.audit.record(actor, { action: 'threshold.delete', object_kind: 'threshold', object_id: before.id, details: was });
    await notify();
    return reply.code(204).send();
  });

  app.get(
    '/v1/alerts',
    {
      ...reader,
      schema: {
        tags: ['alerts'],
        querystring: Type.Object({
          active: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')])),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'default: 24 hours ago' })),
          until: Type.Optional(Type.String({ format: 'date-time' })),
          kpi: Type.Optional(Type.String({ maxLength: 64 })),
          scope: Type.Optional(Type.String({ maxLength: 200 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ alerts: Type.Array(AlertSchema) }) },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.active === '1' || q.active === 'true') {
        let list = await alerts.active();
        if (q.kpi) list = list.filter((a) => a.kpi === q.kpi);
        if (q.scope) list = list.filter((a) => a.scope === q.scope);
        return { alerts: await readable(request.principal, list) };
      }
      const recent = await alerts.recent({
        sinceMs: q.since ? Date.parse(q.since) : Date.now() - DAY_MS,
        ...(q.until ? { untilMs: Date.parse(q.until) } : {}),
        limit: q.limit ?? 100,
        ...(q.kpi ? { kpi: q.kpi } : {}),
        ...(q.scope ? { scope: q.scope } : {}),
      });
      return { alerts: await readable(request.principal, recent) };
    },
  );

  app.get('/v1/alerts/:id', { ...reader, schema: { tags: ['alerts'], params: Id } }, async (request) => {
    const transitions = await alerts.history(request.params.id);
    const last = transitions[transitions.length - 1];
    // a display is told of its boards' alerts only; another's is as unknown to it as one that never was
    if (last === undefined || (await readable(request.principal, [last])).length === 0) throw new ApiError(404, 'not_found', `no alert ${request.params.id}`);
    const { transition: _t, at: _a, ...alert } = last;
    return { alert, transitions: transitions.map((t) => ({ transition: t.transition, at: t.at, level: t.level, value: t.value, acknowledgedBy: t.acknowledgedBy })) };
  });

  app.post(
    '/v1/alerts/:id/ack',
    { ...supervisor, schema: { tags: ['alerts'], params: Id, response: { 200: Type.Object({ alert: AlertSchema }) } } },
    async (request) => {
      const actor = auth.actorOf(request);
      const result = await alerts.acknowledge(request.params.id, actor.actor_name, Date.now());
      if (result === null) throw new ApiError(404, 'not_found', `no alert ${request.params.id}`);
      if (result === 'gone') throw new ApiError(409, 'alert_cleared', 'this alert has already cleared');
      if ('already' in result) {
        const { acknowledgedBy: by, acknowledgedAt: at } = result.already;
        throw new ApiError(409, 'alert_acknowledged', `${by} acknowledged this alert already${at ? ` (${at})` : ''}`);
      }
      await auth.audit.record(actor, { action: 'alert.ack', object_kind: 'alert', object_id: result.id, details: { kpi: result.kpi, scope: result.scope, level: result.level } });
      return { alert: result };
    },
  );
}
