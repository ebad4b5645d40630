// The floor-messages API (docs/wallboard.md, "Messages to the floor"):
//   GET    /v1/messages          reader      on the air now, urgent first, and `scheduled`; people also get `recent`
//                                           (ended in the last day); a display gets only the messages its board(s) show
//   POST   /v1/messages          supervisor  {text, level?, minutes, boards?, startsAt?} → 201 {message}; at most 20 on
//                                           the air or scheduled
//   DELETE /v1/messages/:id      supervisor  takes it off the screens now, or cancels it before it starts (204; again: 204)
// Every post and early end is audited (message.post, message.end), and published on `<prefix>:messages` so that the
// live hubs tell the screens to read the list again.
import type { ClickHouseClient } from '@clickhouse/client';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { BoardStore } from '../boards/store.ts';
import { ApiError } from '../errors.ts';
import { parseTimestamp } from '../ingest/contract.ts';
import { MAX_ACTIVE_MESSAGES, MAX_SCHEDULE_DAYS, messageShownOn, type MessagesResponse } from './rules.ts';
import { MessageInputSchema } from './schema.ts';
import { messagesChannel, MessageStore } from './store.ts';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

/** A start this far in the past still counts as "now" (a sender's clock a little behind). */
const PAST_START_SLACK_MS = 60_000;

/** Characters a TV cannot show as text: control characters (a message is one line) and the Unicode line separators. */
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

export interface MessageRoutesOptions {
  clickhouse: ClickHouseClient;
  /** The app's board store (its shared reads serve every TV). */
  boards: BoardStore;
  /** Publishes each change, so the TVs read the list at once (they also re-read it every 5 s). */
  redis: Redis;
  /** REDIS_PREFIX (not `prefix`: Fastify takes that as the routes' URL prefix). */
  redisPrefix: string;
  now?: () => number;
}

export async function messageRoutes(parent: FastifyInstance, opts: MessageRoutesOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { auth } = parent;
  const now = opts.now ?? Date.now;
  const messages = new MessageStore(opts.clickhouse, now);
  const boards = opts.boards;
  const channel = messagesChannel(opts.redisPrefix);
  /** Tells the live hubs; a lost notice costs the TVs their next re-read, at most 5 s. */
  const changed = () => void opts.redis.publish(channel, '{}').catch((err: Error) => parent.log.warn({ err: err.message }, 'messages: change not published'));

  app.get('/v1/messages', { onRequest: auth.require('reader'), schema: { tags: ['messages'] } }, async (request): Promise<MessagesResponse> => {
    const p = request.principal!;
    const t = now();
    // the TVs poll it: theirs come from the shared read
    const { active, scheduled, recent } = await messages.at(t, p.kind === 'display');
    if (p.kind !== 'display') return { messages: active, scheduled, recent };
    // a TV gets its scheduled ones too, and puts each up at its start by the server's clock
    const shown = (await boards.displayView(p)).boards.map((b) => b.name);
    const mine = (list: typeof active) => list.filter((m) => messageShownOn(m, shown));
    return { messages: mine(active), scheduled: mine(scheduled) };
  });

  app.post('/v1/messages', { onRequest: auth.require('supervisor'), schema: { tags: ['messages'], body: MessageInputSchema } }, async (request, reply) => {
    const input = request.body;
    const text = input.text.trim();
    const problems: { path: string; message: string }[] = [];
    if (text === '') problems.push({ path: '/text', message: 'must not be blank' });
    else if (UNSHOWABLE.test(text)) problems.push({ path: '/text', message: 'must be one line of text (no line breaks or control characters)' });
    const t = now();
    const startsAt = input.startsAt === undefined ? t : parseTimestamp(input.startsAt);
    if (Number.isNaN(startsAt)) problems.push({ path: '/startsAt', message: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-11-24T14:55:00+03:00' });
    else if (startsAt < t - PAST_START_SLACK_MS) problems.push({ path: '/startsAt', message: 'is in the past' });
    else if (startsAt > t + MAX_SCHEDULE_DAYS * 86_400_000) problems.push({ path: '/startsAt', message: `is more than ${MAX_SCHEDULE_DAYS} days ahead` });
    const names = input.boards ?? [];
    if (names.length > 0) {
      const known = new Set((await boards.list()).map((b) => b.name));
      names.forEach((b, i) => {
        if (!known.has(b)) problems.push({ path: `/boards/${i}`, message: `no board named ${JSON.stringify(b)}` });
      });
    }
    const actor = auth.actorOf(request);
    if (problems.length > 0) {
      await auth.audit.record(actor, { action: 'message.post', outcome: 'failed', object_kind: 'message', object_id: '', details: { problems } });
      throw new ApiError(400, 'invalid_message', `${problems[0]!.path} ${problems[0]!.message}`, problems);
    }
    const { active, scheduled } = await messages.at(t);
    if (active.length + scheduled.length >= MAX_ACTIVE_MESSAGES) {
      throw new ApiError(409, 'too_many_messages', `${MAX_ACTIVE_MESSAGES} messages are on the air or scheduled already: end or cancel one first`);
    }
    const start = Math.max(startsAt, t);
    const message = await messages.post({ text, level: input.level ?? 'info', boards: names, minutes: input.minutes, startsAt: start }, actor.actor_name, t);
    changed();
    await auth.audit.record(actor, { action: 'message.post', object_kind: 'message', object_id: message.id, details: { message } });
    return reply.code(201).send({ message });
  });

  app.delete('/v1/messages/:id', { onRequest: auth.require('supervisor'), schema: { tags: ['messages'], params: IdParams } }, async (request, reply) => {
    const m = await messages.get(request.params.id);
    if (!m) throw new ApiError(404, 'not_found', 'no such message');
    const t = now();
    if (Date.parse(m.endsAt) > t) {
      const actor = auth.actorOf(request);
      await messages.end(m, actor.actor_name, t);
      changed();
      await auth.audit.record(actor, { action: 'message.end', object_kind: 'message', object_id: m.id, details: { text: m.text } });
    }
    return reply.code(204).send();
  });
}
