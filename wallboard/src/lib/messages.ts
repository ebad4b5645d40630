// The floor messages a TV shows, and which of them are new: pure and DOM-free (unit-tested in node); time is passed in.
import { byUrgency, messageShownOn, type FloorMessage } from '../../../server/messages/rules.ts';
import { FLASH_MS } from './alert-display.ts';

/** How long each message stays in the banner when several are up. */
export const MESSAGE_CYCLE_MS = 10_000;

/**
 * The messages a TV shows now: those for every board or for one of `boards` (a rotation's name and the board on
 * screen), started and not yet ended by `now` (the server's clock: a TV that lost the server drops a message when its
 * time is up, not when it hears back), urgent first, newest first.
 */
export function messagesOnScreen(all: readonly FloorMessage[], boards: readonly (string | undefined)[], now: number): FloorMessage[] {
  return all.filter((m) => messageShownOn(m, boards) && Date.parse(m.startsAt) <= now && Date.parse(m.endsAt) > now).sort(byUrgency);
}

/**
 * Which messages just appeared. The first list a page gets is what was already up (nothing flashes); after that, an
 * urgent message not in the previous list flashes for FLASH_MS and asks for a beep. Bounded: it remembers only the
 * last list and the flashes under way.
 */
export class MessageArrivals {
  private known: Set<string> | null = null;
  private readonly flashUntil = new Map<string, number>();

  /** Takes the current list; returns the urgent messages that are new since the last one. */
  update(messages: readonly FloorMessage[], now: number): FloorMessage[] {
    const ids = new Set(messages.map((m) => m.id));
    const arrived = this.known === null ? [] : messages.filter((m) => m.level === 'urgent' && !this.known!.has(m.id));
    this.known = ids;
    for (const m of arrived) this.flashUntil.set(m.id, now + FLASH_MS);
    for (const id of this.flashUntil.keys()) if (!ids.has(id)) this.flashUntil.delete(id);
    return arrived;
  }

  flashing(id: string, now: number): boolean {
    return (this.flashUntil.get(id) ?? 0) > now;
  }
}

/** The message the banner shows after `current`: the next one in the list, round; the first when `current` is gone. */
export function nextMessage(list: readonly FloorMessage[], current: string | null): string | null {
  if (list.length === 0) return null;
  const i = list.findIndex((m) => m.id === current);
  return list[(i + 1) % list.length]!.id;
}
