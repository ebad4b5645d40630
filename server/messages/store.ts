// Floor messages in ClickHouse (sql/012_floor_messages.sql): a ReplacingMergeTree read with FINAL; ending a message
// early inserts a new version with `ends_at` at that moment.
import type { ClickHouseClient } from '@clickhouse/client';
import { chIso, chTime, nextVersion } from '../clickhouse/time.ts';
import { newId } from '../auth/tokens.ts';
import { SHARED_READ_MS, SharedRead } from '../read-cache.ts';
import { byUrgency, type FloorMessage, type MessageLevel } from './rules.ts';

interface MessageRow {
  id: string;
  text: string;
  level: MessageLevel;
  boards: string[];
  starts_at: string;
  ends_at: string;
  created_by: string;
  ended_by: string;
  updated_at: string;
}

/** The Redis channel the API publishes on when a message is posted or ended; each live hub tells its sockets. */
export const messagesChannel = (prefix: string) => `${prefix}:messages`;

const COLUMNS = 'id, text, level, boards, starts_at, ends_at, created_by, ended_by, updated_at';
const DAY_MS = 86_400_000;

const toMessage = (r: MessageRow): FloorMessage & { updatedAt: string } => ({
  id: r.id,
  text: r.text,
  level: r.level,
  boards: r.boards,
  startsAt: chIso(r.starts_at),
  endsAt: chIso(r.ends_at),
  createdBy: r.created_by,
  endedBy: r.ended_by,
  updatedAt: chIso(r.updated_at),
});

export class MessageStore {
  /** The messages of the last day on, as the polling TVs read them: once a moment for all (read-cache.ts). */
  private readonly shared = new SharedRead(() => this.rows("ends_at > {since:DateTime64(3, 'UTC')}", { since: chTime(this.now() - DAY_MS) }), SHARED_READ_MS);

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly now: () => number = Date.now,
  ) {}

  private async rows(where: string, params: Record<string, unknown>): Promise<(FloorMessage & { updatedAt: string })[]> {
    const rs = await this.ch.query({ query: `SELECT ${COLUMNS} FROM floor_messages FINAL WHERE ${where}`, query_params: params, format: 'JSONEachRow' });
    return (await rs.json<MessageRow>()).map(toMessage).sort(byUrgency);
  }

  /**
   * The messages at `now`, in one read: `active` on the air (urgent first, newest first), `scheduled` not yet (and not
   * cancelled; the soonest first), `recent` ended in the day before (a cancelled one included; the latest ended first).
   */
  async at(now: number, shared = false): Promise<{ active: FloorMessage[]; scheduled: FloorMessage[]; recent: FloorMessage[] }> {
    const out = { active: [] as FloorMessage[], scheduled: [] as FloorMessage[], recent: [] as FloorMessage[] };
    const rows = shared ? await this.shared.get() : await this.rows("ends_at > {since:DateTime64(3, 'UTC')}", { since: chTime(now - DAY_MS) });
    for (const row of rows) {
      if (Date.parse(row.endsAt) <= now - DAY_MS) continue; // the shared read's day began a moment earlier
      const m = strip(row);
      const [start, end] = [Date.parse(m.startsAt), Date.parse(m.endsAt)];
      if (end <= now) out.recent.push(m);
      else if (start <= now) out.active.push(m);
      else if (end > start) out.scheduled.push(m);
    }
    out.scheduled.sort((a, b) => (a.startsAt < b.startsAt ? -1 : a.startsAt > b.startsAt ? 1 : 0));
    out.recent.sort((a, b) => (a.endsAt < b.endsAt ? 1 : a.endsAt > b.endsAt ? -1 : 0));
    return out;
  }

  async get(id: string): Promise<(FloorMessage & { updatedAt: string }) | undefined> {
    return (await this.rows('id = {id:String}', { id }))[0];
  }

  /** Posts a message going up at `startsAt` (epoch ms; now or later). */
  async post(input: { text: string; level: MessageLevel; boards: string[]; minutes: number; startsAt: number }, by: string, now: number): Promise<FloorMessage> {
    const m: FloorMessage = {
      id: newId(),
      text: input.text,
      level: input.level,
      boards: input.boards,
      startsAt: new Date(input.startsAt).toISOString(),
      endsAt: new Date(input.startsAt + input.minutes * 60_000).toISOString(),
      createdBy: by,
      endedBy: '',
    };
    await this.insert(m, now);
    return m;
  }

  /** Takes the message off the screens at `now`, or cancels it before it starts (a new version). */
  async end(m: FloorMessage & { updatedAt: string }, by: string, now: number): Promise<void> {
    await this.insert({ ...strip(m), endsAt: new Date(now).toISOString(), endedBy: by }, Math.max(nextVersion(m.updatedAt), now));
  }

  private async insert(m: FloorMessage, version: number): Promise<void> {
    await this.ch.insert({
      table: 'floor_messages',
      format: 'JSONEachRow',
      values: [
        {
          id: m.id,
          text: m.text,
          level: m.level,
          boards: m.boards,
          starts_at: chTime(Date.parse(m.startsAt)),
          ends_at: chTime(Date.parse(m.endsAt)),
          created_by: m.createdBy,
          ended_by: m.endedBy,
          updated_at: chTime(version),
        },
      ],
    });
    this.shared.clear();
  }
}

function strip({ updatedAt: _, ...m }: FloorMessage & { updatedAt?: string }): FloorMessage {
  return m;
}
