// Where alerts live.
//   ClickHouse `alerts`        every transition (fired, escalated, deescalated, acknowledged, cleared): the history
//   Redis <prefix>:alerts:tracks   hash  "<thresholdId>|<scope>" → Track JSON: the engine's state (pending breaches and
//                                  open alerts), so a restarted engine neither re-fires nor loses an alert
//   Redis <prefix>:alerts:active   hash  alert id → {alert, at}: the open alerts as of their last transition (at: ms)
//   Redis <prefix>:alerts:acks     hash  alert id → {by, at, level}: acknowledgements of open alerts
//   channel <prefix>:alerts        {"type":"alert","alert":…} on every transition and acknowledgement;
//                                  {"type":"thresholds.changed"} when a threshold was written
// The engine (one, in a worker) writes tracks and active; the API writes acks. Readers merge active with acks.
// An acknowledgement covers the level it was given at and below: an alert acknowledged at warning that escalates to
// critical shows as unacknowledged again (and as acknowledged if it comes back to warning).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { chIso, chTime } from '../clickhouse/time.ts';
import type { Alert, AlertLevel } from '../live/protocol.ts';
import type { Lease } from '../redis/lease.ts';
import type { Track, Transition } from './engine.ts';

export interface AlertRedisNames {
  tracks: string;
  active: string;
  acks: string;
  leader: string;
  /** When the leading engine last evaluated (epoch ms): a new leader finding it old does not trust pending breaches. */
  evaluatedAt: string;
  channel: string;
}

export function alertRedisNames(prefix: string): AlertRedisNames {
  return {
    tracks: `${prefix}:alerts:tracks`,
    active: `${prefix}:alerts:active`,
    acks: `${prefix}:alerts:acks`,
    leader: `${prefix}:alerts:leader`,
    evaluatedAt: `${prefix}:alerts:evaluated-at`,
    channel: `${prefix}:alerts`,
  };
}

/** `acknowledged`: the publication is an acknowledgement (the API's), not a transition (the engine's). */
export type AlertChannelMessage = { type: 'alert'; alert: Alert; acknowledged?: true } | { type: 'thresholds.changed' };

/** The engine's writes were refused: another engine holds the lease (this one paused past it). Nothing was written. */
export class LeaseLost extends Error {
  constructor() {
    super('the alert engine lost its lease; another engine evaluates');
  }
}

interface ActiveEntry {
  alert: Alert;
  /** Time of the alert's last transition (ms): an acknowledgement is recorded after it, whatever the clocks say. */
  at: number;
}

interface Ack {
  by: string;
  at: string;
  level: AlertLevel;
}

const RANK = { ok: 0, warning: 1, critical: 2 } as const;

/** The alert as screens show it: acknowledged when an ack exists at its level or above. */
export function withAck(alert: Alert, ack: Ack | undefined | null): Alert {
  if (ack && RANK[ack.level] >= RANK[alert.level]) return { ...alert, acknowledgedBy: ack.by, acknowledgedAt: ack.at };
  return { ...alert, acknowledgedBy: null, acknowledgedAt: null };
}

const ROW_TIME = (iso: string | null) => (iso === null ? null : chTime(Date.parse(iso)));

/** The `alerts` row of a transition (or an acknowledgement) of `alert` at `at`. */
export function alertRow(alert: Alert, transition: string, at: number) {
  return {
    id: alert.id,
    at: chTime(at),
    transition,
    threshold_id: alert.thresholdId,
    kpi: alert.kpi,
    scope: alert.scope,
    window: alert.window,
    direction: alert.direction,
    level: alert.level,
    peak: alert.peak,
    value: alert.value,
    threshold: alert.threshold,
    started_at: ROW_TIME(alert.startedAt),
    ended_at: ROW_TIME(alert.endedAt),
    acknowledged_by: alert.acknowledgedBy ?? '',
    acknowledged_at: ROW_TIME(alert.acknowledgedAt),
  };
}

interface AlertRow {
  id: string;
  threshold_id: string;
  kpi: string;
  scope: string;
  window: string;
  direction: string;
  level: string;
  peak: string;
  value: number | null;
  threshold: number;
  started_at: string;
  ended_at: string | null;
  acknowledged_by: string;
  acknowledged_at: string | null;
}

/** ClickHouse time (ISO with date_time_output_format=iso, or 'YYYY-MM-DD hh:mm:ss.sss' UTC) → ISO. */
const iso = (ch: string | null) => (ch === null ? null : chIso(ch));

function fromRow(r: AlertRow): Alert {
  return {
    id: r.id,
    thresholdId: r.threshold_id,
    kpi: r.kpi,
    scope: r.scope,
    window: r.window as Alert['window'],
    level: r.level as Alert['level'],
    peak: r.peak as AlertLevel,
    value: r.value === null ? null : Number(r.value),
    threshold: Number(r.threshold),
    direction: r.direction as Alert['direction'],
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at),
    acknowledgedBy: r.acknowledged_by === '' ? null : r.acknowledged_by,
    acknowledgedAt: iso(r.acknowledged_at),
  };
}

// Sets the ack (ARGV[2]) only while the alert is still open (the engine may have just cleared it): 0 if not; 2, and
// nothing set, if someone acknowledged it already at its level (ARGV[3]) or above: the first name stays.
const ACK_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local prev = redis.call('HGET', KEYS[2], ARGV[1])
if prev then
  local rank = { ok = 0, warning = 1, critical = 2 }
  if rank[cjson.decode(prev).level] >= rank[ARGV[3]] then return 2 end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`;

/**
 * Publishes an acknowledged alert (ARGV[2] on channel KEYS[2]) only while it is still open (in KEYS[1]): the engine
 * removes a cleared alert and publishes its end in one transaction, so a screen never gets the acknowledgement after
 * the end (which would show the cleared alert again).
 */
const PUBLISH_IF_OPEN = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1`;

export class AlertStore {
  readonly names: AlertRedisNames;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.names = alertRedisNames(prefix);
  }

  // --- the engine's side -------------------------------------------------------------------------------------

  async loadTracks(): Promise<Map<string, Track>> {
    const raw = await this.redis.hgetall(this.names.tracks);
    return new Map(Object.entries(raw).map(([k, v]) => [k, JSON.parse(v) as Track]));
  }

  /** Open alerts according to ClickHouse (the durable record), to rebuild tracks after Redis lost them. */
  async openAlertsFromHistory(): Promise<Array<{ alert: Alert; at: number }>> {
    const rs = await this.ch.query({
      query: `SELECT id, threshold_id, kpi, scope, window, direction, level, peak, value, threshold,
                     started_at, ended_at, acknowledged_by, acknowledged_at, updated_at
              FROM alerts_current WHERE ended_at IS NULL`,
      format: 'JSONEachRow',
    });
    return (await rs.json<AlertRow & { updated_at: string }>()).map((r) => ({ alert: fromRow(r), at: Date.parse(iso(r.updated_at)!) }));
  }

  /**
   * Puts open alerts that the active set lacks back into it, with the acknowledgement their history holds at their
   * level, and tells the screens. After Redis lost its data the tracks come back from the history (loadAll), but the
   * screens, `GET /v1/alerts` and acknowledgements read the active set. Returns how many were put back.
   */
  async restoreActive(lease: Lease, open: ReadonlyArray<{ alert: Alert; at: number }>): Promise<number> {
    if (open.length === 0) return 0;
    const present = await this.redis.hmget(this.names.active, ...open.map((o) => o.alert.id));
    const missing = open.filter((_, i) => present[i] === null);
    if (missing.length === 0) return 0;
    const writes = lease.writes();
    for (const { alert, at } of missing) {
      const { acknowledgedBy: by, acknowledgedAt: ackAt } = alert;
      const ack: Ack | null = by && ackAt ? { by, at: ackAt, level: alert.level as AlertLevel } : null;
      const bare = withAck(alert, null);
      writes.hset(this.names.active, alert.id, JSON.stringify({ alert: bare, at } satisfies ActiveEntry));
      if (ack) writes.hset(this.names.acks, alert.id, JSON.stringify(ack));
      const message: AlertChannelMessage = { type: 'alert', alert: withAck(bare, ack) };
      writes.publish(this.names.channel, JSON.stringify(message));
    }
    if (!(await writes.exec())) throw new LeaseLost();
    return missing.length;
  }

  /**
   * Makes the engine's step durable: the transitions go to ClickHouse first (the history), then the tracks, the
   * active set and the publications to Redis at once, only while the engine holds its lease (else LeaseLost, nothing
   * written to Redis). Returns the transitions as published (acks merged). Throws when either store fails; the caller
   * then keeps its previous state and retries on the next evaluation. A transition whose history row was written but
   * not its Redis part is an orphan: endOrphans() ends it.
   */
  async commit(lease: Lease, changed: readonly Track[], removed: readonly string[], transitions: readonly Transition[]): Promise<Alert[]> {
    let published: Alert[] = [];
    if (transitions.length > 0) {
      const ids = transitions.map((t) => t.alert.id);
      const acks = await this.redis.hmget(this.names.acks, ...ids);
      const parsed = acks.map((a) => (a ? (JSON.parse(a) as Ack) : null));
      published = transitions.map((t, i) => withAck(t.alert, parsed[i]));
      await this.ch.insert({
        table: 'alerts',
        format: 'JSONEachRow',
        // A transition row always follows the acknowledgement row (the latest row is the alert's state).
        values: transitions.map((t, i) => alertRow(published[i]!, t.kind, Math.max(t.at, parsed[i] ? Date.parse(parsed[i]!.at) + 1 : 0))),
      });
    }
    const writes = lease.writes();
    for (const key of removed) writes.hdel(this.names.tracks, key);
    for (const t of changed) writes.hset(this.names.tracks, `${t.thresholdId}|${t.scope}`, JSON.stringify(t));
    for (const [i, t] of transitions.entries()) {
      if (t.alert.level === 'ok') writes.hdel(this.names.active, t.alert.id).hdel(this.names.acks, t.alert.id);
      else writes.hset(this.names.active, t.alert.id, JSON.stringify({ alert: t.alert, at: t.at } satisfies ActiveEntry));
      const message: AlertChannelMessage = { type: 'alert', alert: published[i]! };
      writes.publish(this.names.channel, JSON.stringify(message));
    }
    if (writes.size > 0 && !(await writes.exec())) throw new LeaseLost();
    return published;
  }

  /** Ends orphans (see commit) in the history only: they were never listed, published nor sent. */
  async endOrphans(ended: readonly Transition[]): Promise<void> {
    await this.ch.insert({ table: 'alerts', format: 'JSONEachRow', values: ended.map((t) => alertRow(t.alert, t.kind, t.at)) });
  }

  // --- the API's side ----------------------------------------------------------------------------------------

  /** The open alerts (acks merged), optionally only those of the given scopes; oldest first. */
  async active(scopes?: ReadonlySet<string>): Promise<Alert[]> {
    const [active, acks] = await Promise.all([this.redis.hgetall(this.names.active), this.redis.hgetall(this.names.acks)]);
    const out: Alert[] = [];
    for (const [id, raw] of Object.entries(active)) {
      const { alert } = JSON.parse(raw) as ActiveEntry;
      if (scopes && !scopes.has(alert.scope)) continue;
      out.push(withAck(alert, acks[id] ? (JSON.parse(acks[id]) as Ack) : null));
    }
    return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /** Alerts from the history, newest first: those started in [since, until), or still open. */
  async recent(filter: { sinceMs: number; untilMs?: number; limit: number; kpi?: string; scope?: string }): Promise<Alert[]> {
    const where = ['(started_at >= {since:DateTime64(3, \'UTC\')} OR ended_at IS NULL)'];
    const params: Record<string, unknown> = { since: chTime(filter.sinceMs), limit: filter.limit };
    if (filter.untilMs !== undefined) {
      where.push(`started_at < {until:DateTime64(3, 'UTC')}`);
      params.until = chTime(filter.untilMs);
    }
    if (filter.kpi) {
      where.push('kpi = {kpi:String}');
      params.kpi = filter.kpi;
    }
    if (filter.scope) {
      where.push('scope = {scope:String}');
      params.scope = filter.scope;
    }
    const rs = await this.ch.query({
      query: `SELECT id, threshold_id, kpi, scope, window, direction, level, peak, value, threshold,
                     started_at, ended_at, acknowledged_by, acknowledged_at
              FROM alerts_current WHERE ${where.join(' AND ')}
              ORDER BY started_at DESC, id LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return (await rs.json<AlertRow>()).map(fromRow);
  }

  /** Every transition of one alert, oldest first. */
  async history(id: string): Promise<Array<Alert & { transition: string; at: string }>> {
    const rs = await this.ch.query({
      query: `SELECT id, threshold_id, kpi, scope, window, direction, level, peak, value, threshold,
                     started_at, ended_at, acknowledged_by, acknowledged_at,
                     transition, at
              FROM alerts WHERE id = {id:String} ORDER BY at, transition = 'cleared'`,
      query_params: { id },
      format: 'JSONEachRow',
    });
    return (await rs.json<AlertRow & { transition: string; at: string }>()).map((r) => ({ ...fromRow(r), transition: r.transition, at: iso(r.at)! }));
  }

  /**
   * Acknowledges an open alert. Returns the alert as now shown, `gone` when it exists but is no longer open,
   * `{ already }` (the alert as shown, unchanged) when it is acknowledged already at its level, or null when there is
   * no such alert.
   */
  async acknowledge(id: string, by: string, atMs: number): Promise<Alert | 'gone' | { already: Alert } | null> {
    const raw = await this.redis.hget(this.names.active, id);
    if (!raw) return (await this.history(id)).length > 0 ? 'gone' : null;
    const entry = JSON.parse(raw) as ActiveEntry;
    const alert = entry.alert;
    // After the alert's last transition, even if this process's clock is behind the engine's.
    atMs = Math.max(atMs, entry.at + 1);
    const ack: Ack = { by, at: new Date(atMs).toISOString(), level: alert.level as AlertLevel };
    const set = Number(await this.redis.eval(ACK_SCRIPT, 2, this.names.active, this.names.acks, id, JSON.stringify(ack), alert.level));
    if (set === 0) return 'gone';
    if (set === 2) {
      const prev = await this.redis.hget(this.names.acks, id);
      return { already: withAck(alert, prev ? (JSON.parse(prev) as Ack) : null) };
    }
    const shown = withAck(alert, ack);
    await this.ch.insert({ table: 'alerts', format: 'JSONEachRow', values: [alertRow(shown, 'acknowledged', atMs)] });
    const message: AlertChannelMessage = { type: 'alert', alert: shown, acknowledged: true };
    await this.redis.eval(PUBLISH_IF_OPEN, 2, this.names.active, this.names.channel, id, JSON.stringify(message));
    return shown;
  }

  /** Tells the engine (in whichever process) to reload the thresholds. */
  async thresholdsChanged(): Promise<void> {
    const message: AlertChannelMessage = { type: 'thresholds.changed' };
    await this.redis.publish(this.names.channel, JSON.stringify(message));
  }
}
