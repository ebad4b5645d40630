// Which wallboard TVs are on the air, across every API process: a process notes in Redis when a display's live
// socket opens, at every heartbeat while it stays open, and when it closes, with the address it connects from.
// Supervisors see it in Console → Displays (GET /v1/displays: `seen`), so a TV that went dark on the floor is
// noticed from a desk. Best effort: Redis being down loses notes, never a socket.
//
// It also carries "identify" requests: a supervisor asks a display to show its name on its screen for a few seconds
// (Console → Displays → Identify), to tell which TV on the wall is which; every API process's live hub hears it on
// `<prefix>:displays:identify` and tells that display's sockets.
import type { Redis } from 'ioredis';

export interface DisplaySeen {
  /** When a socket of this display was last seen open (ISO): connected, or its last heartbeat or close. */
  at: string;
  /** A socket of it is open now (noted within the last few heartbeats, and not closed since). */
  connected: boolean;
  /** The address it connected from, as the API saw it. */
  address: string;
}

interface Note {
  at: number;
  open: boolean;
  address: string;
}

/** How long a TV shows its name when asked to identify itself. */
export const IDENTIFY_SECONDS = 15;

/** The channel of identify requests (`{"displayId": "…"}`). */
export const identifyChannel = (prefix: string) => `${prefix}:displays:identify`;

export class DisplayPresence {
  private readonly key: string;
  private readonly identifyChannel: string;

  /** `connectedWithinMs`: a note older than this no longer counts as connected (its process died). */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly connectedWithinMs: number,
  ) {
    this.key = `${prefix}:displays:seen`;
    this.identifyChannel = identifyChannel(prefix);
  }

  /** Asks every API process to tell this display's sockets to show its name. */
  async identify(displayId: string): Promise<void> {
    await this.redis.publish(this.identifyChannel, JSON.stringify({ displayId }));
  }

  /** Notes the displays' sockets, open or closed, in one write. */
  async note(entries: Array<{ displayId: string; open: boolean; address: string }>, now = Date.now()): Promise<void> {
    if (entries.length === 0) return;
    const fields: string[] = [];
    for (const e of entries) fields.push(e.displayId, JSON.stringify({ at: now, open: e.open, address: e.address } satisfies Note));
    await this.redis.hset(this.key, ...fields);
  }

  /** What is known of each display that was ever seen, by display id. */
  async all(now = Date.now()): Promise<Map<string, DisplaySeen>> {
    const raw = await this.redis.hgetall(this.key);
    const out = new Map<string, DisplaySeen>();
    for (const [id, text] of Object.entries(raw)) {
      let n: Note;
      try {
        n = JSON.parse(text) as Note;
      } catch {
        continue;
      }
      if (typeof n.at !== 'number') continue;
      out.set(id, { at: new Date(n.at).toISOString(), connected: n.open === true && now - n.at <= this.connectedWithinMs, address: String(n.address ?? '') });
    }
    return out;
  }
}

/** `displays` with what is known of each one's presence; `known` is false while Redis cannot say (then `seen` is null). */
export async function withPresence<T extends { id: string }>(
  displays: T[],
  presence: Pick<DisplayPresence, 'all'>,
): Promise<{ displays: Array<T & { seen: DisplaySeen | null }>; known: boolean }> {
  const seen = await presence.all().catch(() => null);
  return { displays: displays.map((d) => ({ ...d, seen: seen?.get(d.id) ?? null })), known: seen !== null };
}
