// THE floor-message contract: a supervisor's short text shown along the bottom of the wallboards for a time, on every
// board or on the boards named (docs/wallboard.md, "Messages"): its limits, its shape, which screens show it and in
// what order. Plain TypeScript, so the TV bundle carries no TypeBox; the request schema is in schema.ts.

export const MESSAGE_LEVELS = ['info', 'urgent'] as const;
export type MessageLevel = (typeof MESSAGE_LEVELS)[number];
/** The longest text: what a TV shows readably across the room, on three lines at most. */
export const MAX_MESSAGE_CHARS = 200;
/** The longest a message may stay up, in minutes: a week. */
export const MAX_MESSAGE_MINUTES = 7 * 24 * 60;
/** The most messages on the air or scheduled at once: a TV shows them one after the other. */
export const MAX_ACTIVE_MESSAGES = 20;
/** How far ahead a message may be scheduled, in days. */
export const MAX_SCHEDULE_DAYS = 7;
/** The most boards one message may name. */
export const MAX_MESSAGE_BOARDS = 20;

export interface FloorMessage {
  id: string;
  text: string;
  level: MessageLevel;
  /** Board names; empty: every board. */
  boards: string[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  /** Who ended it before its time ('' otherwise). */
  endedBy: string;
}

/**
 * GET /v1/messages: on the air now (urgent first, newest first) and those scheduled (the soonest first); for people
 * also those that ended in the last day.
 */
export interface MessagesResponse {
  messages: FloorMessage[];
  scheduled?: FloorMessage[];
  recent?: FloorMessage[];
}

/** Whether a message shows on a TV showing `boards` (a rotation's name and the board on screen). */
export function messageShownOn(m: Pick<FloorMessage, 'boards'>, boards: readonly (string | undefined)[]): boolean {
  return m.boards.length === 0 || m.boards.some((b) => boards.includes(b));
}

/** Urgent before info, then the newest first: the order of the TV's banner and the console's list. */
export function byUrgency(a: FloorMessage, b: FloorMessage): number {
  if (a.level !== b.level) return a.level === 'urgent' ? -1 : 1;
  return a.startsAt < b.startsAt ? 1 : a.startsAt > b.startsAt ? -1 : a.id < b.id ? -1 : 1;
}
