// The body of POST /v1/messages as a schema, which the API validates with (server/messages/routes.ts). What a message
// is, its limits and its rules are in rules.ts, which the wallboard imports without TypeBox.
import { Type } from '@sinclair/typebox';
import { BOARD_NAME_PATTERN } from '../boards/schema.ts';
import { MAX_MESSAGE_BOARDS, MAX_MESSAGE_CHARS, MAX_MESSAGE_MINUTES, MAX_SCHEDULE_DAYS, MESSAGE_LEVELS } from './rules.ts';

/** The body of POST /v1/messages. */
export const MessageInputSchema = Type.Object(
  {
    text: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS, description: `one line, up to ${MAX_MESSAGE_CHARS} characters` }),
    level: Type.Optional(
      Type.Union(
        MESSAGE_LEVELS.map((l) => Type.Literal(l)),
        { description: 'info (default) or urgent: a red band that flashes, and beeps on TVs with sound on' },
      ),
    ),
    minutes: Type.Integer({ minimum: 1, maximum: MAX_MESSAGE_MINUTES, description: 'how long it stays on the screens' }),
    startsAt: Type.Optional(
      Type.String({
        maxLength: 40,
        description: `when it goes up: RFC 3339 with an offset (2026-11-24T14:55:00+03:00), up to ${MAX_SCHEDULE_DAYS} days ahead; default: now`,
      }),
    ),
    boards: Type.Optional(
      Type.Array(Type.String({ pattern: BOARD_NAME_PATTERN }), {
        maxItems: MAX_MESSAGE_BOARDS,
        uniqueItems: true,
        description: 'the boards that show it (a rotation: while any of its boards is on screen); none or empty: every board',
      }),
    ),
  },
  { additionalProperties: false },
);
