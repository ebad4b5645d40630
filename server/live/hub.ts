// The per-process fan-out of the live stream: one Redis subscriber (KPI snapshots, series, alerts) forwards each
// publication to the local sockets subscribed to it. Each message is serialized once and the same string is sent
// to every socket that wants it. A socket whose send buffer passes the limit is a slow consumer: it is terminated
// and logged, so a stuck TV can never make the server's memory grow.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { describePrincipal, revocationAffects, type DisplayPrincipal, type Principal, type Revocation } from '../auth/principal.ts';
import { IDENTIFY_SECONDS, identifyChannel, type DisplayPresence } from './presence.ts';
import { AlertStore, type AlertChannelMessage } from '../alerts/store.ts';
import type { Config } from '../config.ts';
import { computeSeries, computeSnapshots, type Series, type Snapshot } from '../kpi/compute.ts';
import type { Sessions } from '../auth/sessions.ts';
import { forbiddenMessage, type DisplayScopes } from '../boards/display-scopes.ts';
import { parseScopes, ScopeError } from '../kpi/scopes.ts';
import { computeRoster, readRoster, rosterMessage, rosterNames, rosterScopes, type RosterNames, type RosterPublication } from '../kpi/roster.ts';
import { readSeries, type SeriesMessage } from '../kpi/series-store.ts';
import { kpiRedisNames, readSnapshots, type KpiRedisNames, type SnapshotMessage } from '../kpi/snapshots.ts';
import type { SourceActivity } from '../ingest/activity.ts';
import { messagesChannel } from '../messages/store.ts';
import type { Log } from '../log.ts';
import { SHARED_READ_MS } from '../read-cache.ts';
import {
  decodeClientMessage,
  WINDOW_NAMES,
  type Alert,
  type ClientMessage,
  type LiveWindow,
  type RosterAgent,
  type ServerMessage,
} from './protocol.ts';
import { MAX_SUBSCRIPTIONS } from './limits.ts';
import { FloorConditions } from './conditions.ts';

/** What the hub needs of a websocket (the `ws` WebSocket has all of it). */
export interface LiveSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  ping(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

const OPEN = 1;
/** Close codes: see docs/live.md. */
export const CLOSE_REVOKED = 4401;
export const CLOSE_GOING_AWAY = 1001;
/** Most pairs (window, scope) one socket may hold. */
export const MAX_PAIRS = MAX_SUBSCRIPTIONS * WINDOW_NAMES.length;
/** Close code of a socket over its credential's STREAM_MAX_SOCKETS_PER_CREDENTIAL (policy violation). */
export const CLOSE_TOO_MANY = 1008;

/** Most scopes whose roster one socket may follow (each costs the hub a pass over the agents when it changes). */
export const MAX_ROSTER_SCOPES = 50;
/** Most client messages per second per socket; more are answered with an error and ignored. */
const MAX_MESSAGES_PER_SECOND = 50;
/** Alert publications kept to be sent again after a list of open alerts read while they arrived. */
const ALERT_LOG_SIZE = 1_000;

export class LiveClient {
  /** "<window>|<scope>" → asOf of the last snapshot sent ('' before the first). */
  readonly pairs = new Map<string, string>();
  readonly series = new Map<string, string>();
  /** Scopes whose roster it is sent. */
  readonly roster = new Set<string>();
  /** Answered the last heartbeat ping (or sent something since). */
  alive = true;
  closed = false;
  /** Subscribe messages taken so far (the display check skips a socket that subscribed while it read the boards). */
  subscribes = 0;
  /** The socket's reads of snapshots, one after another (LiveHub.serially). */
  reading: Promise<unknown> = Promise.resolve();
  msgWindowStart = 0;
  msgCount = 0;

  constructor(
    readonly id: number,
    readonly socket: LiveSocket,
    readonly principal: Principal,
    /** The address it connected from. */
    readonly address: string,
  ) {}

  /** Scopes subscribed in any window (alerts follow these). */
  scopes(): Set<string> {
    const out = new Set<string>();
    for (const k of this.pairs.keys()) out.add(k.slice(k.indexOf('|') + 1));
    return out;
  }
}

export interface HubOptions {
  config: Pick<Config, 'REDIS_PREFIX' | 'CENTER_TZ' | 'WAITING_LOOKBACK_HOURS' | 'STREAM_MAX_BUFFER_BYTES' | 'STREAM_MAX_SOCKETS_PER_CREDENTIAL' | 'centerHours'>;
  log: Log;
  clickhouse: ClickHouseClient;
  /** Request-path connection (reads of the latest snapshots and alerts). */
  redis: Redis;
  /** A connection of its own for the subscription (a subscribed connection can do nothing else). */
  subscriber: Redis;
  /** When each source last sent, and after how long a source counts as quiet (0: never); checked at each heartbeat. */
  sources?: { activity: Pick<SourceActivity, 'lastStored'>; quietAfterMs: Readonly<Record<string, number>> };
  /** Where the displays' sockets are noted (open, at each heartbeat, closed), for Console → Displays. */
  presence?: Pick<DisplayPresence, 'note'>;
  /** What a display may subscribe to: the scopes of its boards (checked again at each heartbeat). */
  displayScopes: Pick<DisplayScopes, 'refused' | 'refreshAll'>;
  /** Which people's sessions have ended without a revocation (expired): their sockets are closed at a heartbeat. */
  sessions?: Pick<Sessions, 'ended'>;
  now?: () => number;
}

export interface HubStats {
  sockets: number;
  /** Sockets dropped for being too slow since start. */
  dropped: number;
  /** Largest send buffer seen on any socket when a message was about to be sent. */
  maxBuffered: number;
  /** Messages sent since start. */
  sent: number;
}

const key = (window: string, scope: string) => `${window}|${scope}`;

/** How long after the subscription's connection is back the sockets are caught up (ioredis subscribes again first). */
const CATCH_UP_AFTER_MS = 250;

export class LiveHub {
  private readonly clients = new Set<LiveClient>();
  /** "<window>|<scope>" → sockets. */
  private readonly byPair = new Map<string, Set<LiveClient>>();
  private readonly bySeries = new Map<string, Set<LiveClient>>();
  private readonly byRoster = new Map<string, Set<LiveClient>>();
  /** scope → sockets (any window), for alerts. */
  private readonly byScope = new Map<string, Map<LiveClient, number>>();
  private readonly names: KpiRedisNames;
  private readonly rosterNames: RosterNames;
  private readonly messagesChannel: string;
  private readonly identifyChannel: string;
  /** The roster (agentId → entry), read when first wanted and kept current by the worker's publications since. */
  private roster: { asOf: string; agents: Map<string, RosterAgent> } | null = null;
  /** Publications that arrive while the roster is being read (applied after it, when newer). */
  private rosterPending: RosterPublication[] | null = null;
  /** scope → its last roster message's counts and agents, so that a scope whose part did not change is not sent. */
  private readonly rosterSent = new Map<string, string>();
  readonly alerts: AlertStore;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private nextId = 1;
  private readonly stats_: HubStats = { sockets: 0, dropped: 0, maxBuffered: 0, sent: 0 };
  private readonly now: () => number;
  /** Alert publications seen (an `alerts` list read while this moved may be older than what was sent since). */
  private alertChanges = 0;
  /** The latest alert publications, numbered by alertChanges: replayed after a list that may predate them. */
  private readonly alertLog: Array<{ n: number; alert: Alert }> = [];
  /** What every socket is told while it holds (the center closed, quiet sources, stale figures), and again on connect. */
  private readonly floor: FloorConditions;

  constructor(private readonly opts: HubOptions) {
    this.names = kpiRedisNames(opts.config.REDIS_PREFIX);
    this.rosterNames = rosterNames(opts.config.REDIS_PREFIX);
    this.messagesChannel = messagesChannel(opts.config.REDIS_PREFIX);
    this.identifyChannel = identifyChannel(opts.config.REDIS_PREFIX);
    this.alerts = new AlertStore(opts.clickhouse, opts.redis, opts.config.REDIS_PREFIX);
    this.now = opts.now ?? Date.now;
    this.floor = new FloorConditions({ ...opts, now: this.now, broadcast: (data) => this.clients.forEach((c) => this.send(c, data)) });
  }

  /**
   * Subscribes to the channels. Resolves once subscribed (or rejects). ioredis subscribes again after a reconnect; what
   * was published meanwhile is lost, so every socket is then caught up (`catchUp`).
   */
  async start(): Promise<void> {
    const sub = this.opts.subscriber;
    sub.on('message', (channel: string, message: string) => this.onPublication(channel, message));
    let subscribed = false;
    sub.on('ready', () => {
      if (subscribed) setTimeout(() => void this.catchUp(), CATCH_UP_AFTER_MS).unref();
    });
    await sub.subscribe(this.names.snapshotsChannel, this.names.seriesChannel, this.rosterNames.channel, this.alerts.names.channel, this.messagesChannel, this.identifyChannel);
    subscribed = true;
    this.floor.checkHours();
    await Promise.all([this.floor.checkSources(), this.floor.checkFigures()]);
  }

  /**
   * After the subscription came back: the worker publishes only what changes, and the alert engine only transitions,
   * so what was published while it was away would never reach the screens here (a figure until it next changes, which
   * may be midnight; a cleared alert until the screen reconnects). Every socket is sent what it follows as it is now,
   * as a subscribe answers: the newer snapshots and series, its roster scopes, the list of its open alerts; and every
   * screen reads the floor messages again.
   */
  async catchUp(): Promise<void> {
    this.opts.log.warn({ sockets: this.clients.size }, 'live: the Redis subscription came back; catching every socket up');
    try {
      const byWindow = new Map<LiveWindow, string[]>();
      for (const k of this.byPair.keys()) {
        const w = k.slice(0, k.indexOf('|')) as LiveWindow;
        const scopes = byWindow.get(w) ?? byWindow.set(w, []).get(w)!;
        scopes.push(k.slice(k.indexOf('|') + 1));
      }
      for (const [window, scopes] of byWindow) this.fanOutSnapshots(await readSnapshots(this.opts.redis, this.names, window, scopes));
      if (this.bySeries.size > 0) this.fanOutSeries(await readSeries(this.opts.redis, this.names, [...this.bySeries.keys()]));
      this.roster = null; // publications were missed: read it again
      if (this.byRoster.size > 0) await this.resendRoster();
      // a floor message posted meanwhile: the screens read the messages again
      const messages = JSON.stringify({ type: 'messages' } satisfies ServerMessage);
      for (const c of this.clients) this.send(c, messages);
      // one read of the open alerts per set of scopes followed
      const byScopes = new Map<string, LiveClient[]>();
      for (const c of this.clients) {
        const k = [...c.scopes()].sort().join('\n');
        const clients = byScopes.get(k) ?? byScopes.set(k, []).get(k)!;
        clients.push(c);
      }
      for (const clients of byScopes.values()) {
        const alerts = await this.activeAlerts(clients[0]!);
        const list = JSON.stringify({ type: 'alerts', alerts: alerts.list } satisfies ServerMessage);
        const since = alerts.since.map((a) => [a.scope, JSON.stringify({ type: 'alert', alert: a } satisfies ServerMessage)] as const);
        for (const c of clients) {
          this.send(c, list);
          const mine = c.scopes();
          for (const [scope, data] of since) if (mine.has(scope)) this.send(c, data);
        }
      }
    } catch (err) {
      // Redis went away again: its next return catches up again
      this.opts.log.warn({ err: (err as Error).message }, 'live: could not catch the sockets up');
    }
  }

  /** Whether the figures are current; checked every FIGURES_CHECK_MS (conditions.ts). */
  checkFigures(): Promise<void> {
    return this.floor.checkFigures();
  }

  stats(): HubStats {
    return { ...this.stats_, sockets: this.clients.size };
  }

  /**
   * Whether `principal` may open another socket in this process (STREAM_MAX_SOCKETS_PER_CREDENTIAL): each costs
   * presence writes and reads, and a leaked link must not open thousands.
   */
  mayConnect(principal: Principal): boolean {
    // one credential: one display, one person (whichever session), as the audit log names them
    const { actor_kind: kind, actor_id: id } = describePrincipal(principal);
    let n = 0;
    for (const c of this.clients) {
      const other = describePrincipal(c.principal);
      if (other.actor_kind === kind && other.actor_id === id) n++;
    }
    return n < this.opts.config.STREAM_MAX_SOCKETS_PER_CREDENTIAL;
  }

  add(socket: LiveSocket, principal: Principal, address = ''): LiveClient {
    const client = new LiveClient(this.nextId++, socket, principal, address);
    this.clients.add(client);
    if (principal.kind === 'display') this.notePresence([client], true);
    // Ingest keys never get here (the upgrade requires a reader).
    const p = principal.kind === 'display'
      ? { kind: 'display' as const, name: principal.name, board: principal.board }
      : { kind: 'user' as const, name: principal.kind === 'user' ? principal.username : principal.name, ...(principal.kind === 'user' ? { role: principal.role } : {}) };
    this.send(client, JSON.stringify({ type: 'welcome', serverTime: new Date(this.now()).toISOString(), principal: p } satisfies ServerMessage));
    for (const message of this.floor.current()) this.send(client, message);
    return client;
  }

  remove(client: LiveClient): void {
    if (!this.clients.delete(client)) return;
    client.closed = true;
    const p = client.principal;
    if (p.kind === 'display' && ![...this.clients].some((c) => c.principal.kind === 'display' && c.principal.displayId === p.displayId)) {
      this.notePresence([client], false);
    }
    for (const k of client.pairs.keys()) this.unindexPair(client, k);
    for (const s of client.series.keys()) this.unindexSeries(client, s);
    for (const s of [...client.roster]) this.unindexRoster(client, s);
    client.pairs.clear();
    client.series.clear();
  }

  /** Sockets of this process. */
  get size(): number {
    return this.clients.size;
  }

  /** Sends `revoked` and closes every socket the revocation affects. Idempotent. */
  revoke(r: Revocation, reason = `the ${r.kind === 'session' ? 'session' : r.kind} was revoked`): number {
    let n = 0;
    for (const client of this.clients) {
      if (client.closed || !revocationAffects(r, client.principal)) continue;
      n++;
      this.opts.log.info({ client: client.id, kind: r.kind, reason }, 'live: closing a socket whose credentials ended');
      this.send(client, JSON.stringify({ type: 'revoked', reason } satisfies ServerMessage));
      client.socket.close(CLOSE_REVOKED, 'revoked');
      this.remove(client);
      // A peer that does not answer the close handshake is cut off.
      setTimeout(() => client.socket.terminate(), 2_000).unref();
    }
    return n;
  }

  /** Closes every socket (server shutdown). */
  closeAll(): void {
    for (const client of [...this.clients]) {
      client.socket.close(CLOSE_GOING_AWAY, 'server shutting down');
      this.remove(client);
    }
  }

  // --- sending ---------------------------------------------------------------------------------------------------

  /** Sends unless the socket is too far behind; a slow consumer is terminated. Returns whether it was sent. */
  send(client: LiveClient, data: string): boolean {
    if (client.closed || client.socket.readyState !== OPEN) return false;
    const buffered = client.socket.bufferedAmount;
    if (buffered > this.stats_.maxBuffered) this.stats_.maxBuffered = buffered;
    if (buffered + data.length > this.opts.config.STREAM_MAX_BUFFER_BYTES) {
      this.stats_.dropped++;
      this.opts.log.warn(
        { client: client.id, buffered, limit: this.opts.config.STREAM_MAX_BUFFER_BYTES, who: client.principal.kind === 'display' ? client.principal.name : client.principal.kind },
        'live: dropped a slow consumer (send buffer full)',
      );
      this.remove(client);
      client.socket.terminate();
      return false;
    }
    client.socket.send(data);
    this.stats_.sent++;
    return true;
  }

  private error(client: LiveClient, code: string, message: string): void {
    this.send(client, JSON.stringify({ type: 'error', code, message } satisfies ServerMessage));
  }

  // --- publications ------------------------------------------------------------------------------------------------

  private onPublication(channel: string, message: string): void {
    try {
      if (channel === this.names.snapshotsChannel) this.fanOutSnapshots((JSON.parse(message) as SnapshotMessage).snapshots);
      else if (channel === this.names.seriesChannel) this.onSeries(JSON.parse(message) as SeriesMessage);
      else if (channel === this.rosterNames.channel) this.onRoster(JSON.parse(message) as RosterPublication);
      else if (channel === this.messagesChannel) {
        // every screen: which messages a display shows is for GET /v1/messages to say. Told once this process's shared
        // read of the messages (read-cache.ts) has run out, which a change made in another process does not clear: a
        // TV reading at once could get the list from before it.
        const data = JSON.stringify({ type: 'messages' } satisfies ServerMessage);
        setTimeout(() => {
          for (const client of this.clients) this.send(client, data);
        }, SHARED_READ_MS).unref();
      } else if (channel === this.identifyChannel) {
        const { displayId } = JSON.parse(message) as { displayId: string };
        const data = JSON.stringify({ type: 'identify', seconds: IDENTIFY_SECONDS } satisfies ServerMessage);
        for (const client of this.clients) if (client.principal.kind === 'display' && client.principal.displayId === displayId) this.send(client, data);
      }
      else if (channel === this.alerts.names.channel) {
        const m = JSON.parse(message) as AlertChannelMessage;
        if (m.type === 'alert') {
          this.alertLog.push({ n: ++this.alertChanges, alert: m.alert });
          if (this.alertLog.length > ALERT_LOG_SIZE) this.alertLog.shift();
          this.fanOutAlert(m.alert);
        }
      }
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, channel }, 'live: ignored a malformed publication');
    }
  }

  private fanOutSnapshots(snapshots: readonly Snapshot[]): void {
    for (const s of snapshots) {
      const k = key(s.window, s.scope);
      const subs = this.byPair.get(k);
      if (!subs || subs.size === 0) continue;
      const data = snapshotMessage(s);
      for (const client of subs) {
        if ((client.pairs.get(k) ?? '') >= s.asOf) continue;
        client.pairs.set(k, s.asOf);
        this.send(client, data);
      }
    }
  }

  /** The series of some scopes changed: those the screens here follow are read and sent. */
  private onSeries(m: SeriesMessage): void {
    this.fanOutSeries(m.departed);
    const followed = m.scopes.filter((scope) => (this.bySeries.get(scope)?.size ?? 0) > 0);
    if (followed.length === 0) return;
    readSeries(this.opts.redis, this.names, followed).then(
      (series) => this.fanOutSeries(series),
      (err: Error) => this.opts.log.warn({ err: err.message }, 'live: could not read the changed series (the next change sends them)'),
    );
  }

  private fanOutSeries(series: readonly Series[]): void {
    for (const s of series) {
      const subs = this.bySeries.get(s.scope);
      if (!subs || subs.size === 0) continue;
      const data = seriesMessage(s);
      for (const client of subs) {
        if ((client.series.get(s.scope) ?? '') >= s.asOf) continue;
        client.series.set(s.scope, s.asOf);
        this.send(client, data);
      }
    }
  }

  /** A roster publication: moves the copy (if one is held) and sends the subscribed scopes whose part changed. */
  private onRoster(p: RosterPublication): void {
    if (this.rosterPending) this.rosterPending.push(p);
    const roster = this.roster;
    if (!roster) {
      // Screens follow a roster the hub could not read when they subscribed (Redis was down): read it now, and send it.
      if (this.byRoster.size > 0 && !this.rosterPending) void this.resendRoster();
      return;
    }
    if (p.asOf < roster.asOf) return;
    roster.asOf = p.asOf;
    // A full publication replaces the copy: those it no longer lists are gone, and only the agents whose entry differs
    // from the copy's touch their scopes (usually none: it repairs what a missed publication left behind).
    const listed = new Set(p.changed.map((a) => a.agentId));
    const removed = p.full ? [...roster.agents.keys()].filter((id) => !listed.has(id)) : p.removed;
    const changed = p.full ? p.changed.filter((a) => JSON.stringify(roster.agents.get(a.agentId)) !== JSON.stringify(a)) : p.changed;
    const touched = new Set<string>();
    for (const id of [...removed, ...changed.map((a) => a.agentId)]) {
      const old = roster.agents.get(id);
      if (old) for (const scope of rosterScopes(old)) touched.add(scope);
      roster.agents.delete(id);
    }
    for (const a of changed) {
      roster.agents.set(a.agentId, a);
      for (const scope of rosterScopes(a)) touched.add(scope);
    }
    for (const scope of touched) {
      const subs = this.byRoster.get(scope);
      if (!subs || subs.size === 0) continue;
      const data = this.rosterData(scope, roster, true);
      if (data === null) continue;
      for (const client of subs) this.send(client, data);
    }
  }

  /** Reads the roster and sends every subscribed scope its part (a failed read waits for the next publication). */
  private async resendRoster(): Promise<void> {
    let roster: NonNullable<LiveHub['roster']>;
    try {
      roster = await this.loadRoster();
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'live: could not read the roster');
      return;
    }
    for (const [scope, subs] of this.byRoster) {
      const data = this.rosterData(scope, roster, false)!;
      for (const client of subs) this.send(client, data);
    }
  }

  /**
   * The `roster` message of a scope, serialized; with `changedOnly`, null when its counts and agents are those last
   * sent for the scope.
   */
  private rosterData(scope: string, roster: NonNullable<LiveHub['roster']>, changedOnly: boolean): string | null {
    const m = rosterMessage(roster.agents.values(), scope, roster.asOf);
    const body = JSON.stringify([m.counts, m.agents]);
    if (changedOnly && this.rosterSent.get(scope) === body) return null;
    this.rosterSent.set(scope, body);
    return JSON.stringify(m satisfies ServerMessage);
  }

  private fanOutAlert(alert: Alert): void {
    const subs = this.byScope.get(alert.scope);
    if (!subs || subs.size === 0) return;
    const data = JSON.stringify({ type: 'alert', alert } satisfies ServerMessage);
    for (const client of subs.keys()) this.send(client, data);
  }

  // --- client messages ---------------------------------------------------------------------------------------------

  /** Handles one text frame from a client. Never throws; problems are answered with an `error` message. */
  async handle(client: LiveClient, raw: string): Promise<void> {
    client.alive = true;
    const t = this.now();
    if (t - client.msgWindowStart >= 1000) {
      client.msgWindowStart = t;
      client.msgCount = 0;
    }
    if (++client.msgCount > MAX_MESSAGES_PER_SECOND) {
      if (client.msgCount === MAX_MESSAGES_PER_SECOND + 1) this.error(client, 'rate_limited', `at most ${MAX_MESSAGES_PER_SECOND} messages per second; the rest were ignored`);
      return;
    }
    const decoded = decodeClientMessage(raw);
    if (!decoded.ok) return this.error(client, decoded.code, decoded.message);
    try {
      await this.dispatch(client, decoded.message);
    } catch (err) {
      this.opts.log.error({ err, client: client.id }, 'live: message handling failed');
      this.error(client, 'unavailable', 'the subscription could not be answered right now; send it again in a moment');
    }
  }

  private async dispatch(client: LiveClient, m: ClientMessage): Promise<void> {
    switch (m.type) {
      case 'ping':
        this.send(client, JSON.stringify({ type: 'pong', ...(m.id !== undefined ? { id: m.id } : {}), serverTime: new Date(this.now()).toISOString() } satisfies ServerMessage));
        return;
      case 'unsubscribe':
        this.unsubscribe(client, m.window, m.scopes);
        return;
      case 'subscribe':
        return this.subscribe(client, m.window, m.scopes, m.series === true, m.roster === true);
    }
  }

  private async subscribe(client: LiveClient, window: LiveWindow, rawScopes: string[], withSeries: boolean, withRoster: boolean): Promise<void> {
    let scopes: string[];
    try {
      scopes = parseScopes(rawScopes);
    } catch (err) {
      if (err instanceof ScopeError) return this.error(client, 'invalid_scope', err.message);
      throw err;
    }
    const p = client.principal;
    client.subscribes++;
    if (p.kind === 'display') {
      // A display follows the scopes of its boards only. The others of the message are still subscribed: a TV that
      // asks for a tile just taken off its board keeps every other tile live.
      const refused = await this.opts.displayScopes.refused(p, scopes);
      if (client.closed) return;
      if (refused.length > 0) {
        this.error(client, 'forbidden_scope', forbiddenMessage(p, refused));
        scopes = scopes.filter((s) => !refused.includes(s));
        if (scopes.length === 0) return;
      }
    }
    const fresh = scopes.filter((s) => !client.pairs.has(key(window, s)));
    if (client.pairs.size + fresh.length > MAX_PAIRS) {
      return this.error(client, 'too_many_subscriptions', `a socket may hold at most ${MAX_PAIRS} (window, scope) pairs; unsubscribe first`);
    }
    if (withRoster && client.roster.size + scopes.filter((s) => !client.roster.has(s)).length > MAX_ROSTER_SCOPES) {
      return this.error(client, 'too_many_subscriptions', `a socket may follow the roster of at most ${MAX_ROSTER_SCOPES} scopes; unsubscribe first`);
    }
    // Index first, read second: a publication arriving meanwhile is not lost, and the older of the two is not sent
    // after the newer (the asOf check).
    for (const s of fresh) this.indexPair(client, window, s);
    if (withSeries) for (const s of scopes) if (!client.series.has(s)) this.indexSeries(client, s);
    if (withRoster) for (const s of scopes) if (!client.roster.has(s)) this.indexRoster(client, s);

    const [snaps, series, alerts, roster] = await Promise.all([
      this.serially(client, () => this.latestSnapshots(window, scopes)),
      withSeries ? this.latestSeries(scopes) : Promise.resolve([]),
      this.activeAlerts(client),
      withRoster ? this.loadRoster() : Promise.resolve(null),
    ]);
    if (client.closed) return;
    for (const s of snaps) {
      const k = key(s.window, s.scope);
      if (!client.pairs.has(k) || (client.pairs.get(k) ?? '') >= s.asOf) continue;
      client.pairs.set(k, s.asOf);
      this.send(client, snapshotMessage(s));
    }
    for (const s of series) {
      if (!client.series.has(s.scope) || (client.series.get(s.scope) ?? '') >= s.asOf) continue;
      client.series.set(s.scope, s.asOf);
      this.send(client, seriesMessage(s));
    }
    if (roster) for (const s of scopes) if (client.roster.has(s)) this.send(client, this.rosterData(s, roster, false)!);
    this.send(client, JSON.stringify({ type: 'alerts', alerts: alerts.list } satisfies ServerMessage));
    const mine = client.scopes();
    for (const a of alerts.since) if (mine.has(a.scope)) this.send(client, JSON.stringify({ type: 'alert', alert: a } satisfies ServerMessage));
  }

  /**
   * The open alerts of the client's scopes, for the `alerts` message that replaces what it holds, and the alert changes
   * published while they were read. Such a change (an acknowledgement, an alert firing) reached the client first, as an
   * `alert` message; the list, read before it, would undo it. So those changes are sent again after the list, in the
   * order they came: the client ends with the latest state of each alert however many change meanwhile.
   */
  private async activeAlerts(client: LiveClient): Promise<{ list: Alert[]; since: Alert[] }> {
    for (;;) {
      const before = this.alertChanges;
      const list = await this.alerts.active(client.scopes());
      if (this.alertChanges === before) return { list, since: [] };
      // more changes than the log keeps came meanwhile (a storm): read the list again
      if ((this.alertLog[0]?.n ?? Infinity) <= before + 1) return { list, since: this.alertLog.filter((e) => e.n > before).map((e) => e.alert) };
    }
  }

  private unsubscribe(client: LiveClient, window: LiveWindow | undefined, rawScopes: string[] | undefined): void {
    let scopes: Set<string> | null = null;
    if (rawScopes) {
      try {
        scopes = new Set(parseScopes(rawScopes));
      } catch (err) {
        if (err instanceof ScopeError) return this.error(client, 'invalid_scope', err.message);
        throw err;
      }
    }
    for (const k of [...client.pairs.keys()]) {
      const [w, s] = [k.slice(0, k.indexOf('|')), k.slice(k.indexOf('|') + 1)];
      if ((window === undefined || w === window) && (scopes === null || scopes.has(s))) this.unindexPair(client, k);
    }
    const still = client.scopes();
    const dropped = (s: string) => !still.has(s) || (window === undefined && (scopes === null || scopes.has(s)));
    for (const s of [...client.series.keys()]) {
      if (dropped(s)) {
        client.series.delete(s);
        this.unindexSeries(client, s);
      }
    }
    for (const s of [...client.roster]) if (dropped(s)) this.unindexRoster(client, s);
  }

  private indexPair(client: LiveClient, window: string, scope: string): void {
    const k = key(window, scope);
    client.pairs.set(k, '');
    let set = this.byPair.get(k);
    if (!set) this.byPair.set(k, (set = new Set()));
    set.add(client);
    let counts = this.byScope.get(scope);
    if (!counts) this.byScope.set(scope, (counts = new Map()));
    counts.set(client, (counts.get(client) ?? 0) + 1);
  }

  private unindexPair(client: LiveClient, k: string): void {
    client.pairs.delete(k);
    const set = this.byPair.get(k);
    set?.delete(client);
    if (set?.size === 0) this.byPair.delete(k);
    const scope = k.slice(k.indexOf('|') + 1);
    const counts = this.byScope.get(scope);
    const n = (counts?.get(client) ?? 0) - 1;
    if (n > 0) counts!.set(client, n);
    else {
      counts?.delete(client);
      if (counts?.size === 0) this.byScope.delete(scope);
    }
  }

  private indexSeries(client: LiveClient, scope: string): void {
    client.series.set(scope, '');
    let set = this.bySeries.get(scope);
    if (!set) this.bySeries.set(scope, (set = new Set()));
    set.add(client);
  }

  private unindexSeries(client: LiveClient, scope: string): void {
    const set = this.bySeries.get(scope);
    set?.delete(client);
    if (set?.size === 0) this.bySeries.delete(scope);
  }

  private indexRoster(client: LiveClient, scope: string): void {
    client.roster.add(scope);
    let set = this.byRoster.get(scope);
    if (!set) this.byRoster.set(scope, (set = new Set()));
    set.add(client);
  }

  private unindexRoster(client: LiveClient, scope: string): void {
    client.roster.delete(scope);
    const set = this.byRoster.get(scope);
    set?.delete(client);
    if (set?.size === 0) {
      this.byRoster.delete(scope);
      this.rosterSent.delete(scope);
    }
  }

  // --- reads -------------------------------------------------------------------------------------------------------

  /**
   * Runs a socket's reads one after another: a scope with no snapshot yet is computed in ClickHouse, and a client
   * sending subscribes for made-up scopes as fast as it may (50 messages a second) would otherwise run as many at once.
   */
  private serially<T>(client: LiveClient, fn: () => Promise<T>): Promise<T> {
    const run = client.reading.then(fn);
    client.reading = run.catch(() => undefined);
    return run;
  }

  /** One computation at a time per question: a thousand screens reconnecting at once cost one query, not a thousand. */
  private once<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(k) as Promise<T> | undefined;
    if (existing) return existing;
    const p = fn().finally(() => this.inflight.delete(k));
    this.inflight.set(k, p);
    return p;
  }

  /** The latest snapshots from Redis; scopes the worker has none for (quiet today, or not run yet) are computed. */
  private async latestSnapshots(window: LiveWindow, scopes: string[]): Promise<Snapshot[]> {
    const stored = await readSnapshots(this.opts.redis, this.names, window, scopes);
    const missing = scopes.filter((s) => !stored.some((x) => x.scope === s));
    if (missing.length === 0) return stored;
    const { config, clickhouse } = this.opts;
    const computed = await this.once(`snap|${missing.join('\n')}`, () =>
      computeSnapshots(clickhouse, { now: this.now(), tz: config.CENTER_TZ, hours: config.centerHours, waitingLookbackHours: config.WAITING_LOOKBACK_HOURS, scopes: missing }),
    );
    return [...stored, ...computed.filter((s) => s.window === window && missing.includes(s.scope))];
  }

  /**
   * The roster, read once (from Redis; from ClickHouse before any worker stored one) and kept current by the
   * publications since. Those that arrive during the read are applied after it.
   */
  private async loadRoster(): Promise<NonNullable<LiveHub['roster']>> {
    if (this.roster) return this.roster;
    return this.once('roster', async () => {
      const pending: RosterPublication[] = [];
      this.rosterPending = pending;
      try {
        const stored = await readRoster(this.opts.redis, this.rosterNames);
        const loaded = stored ?? { asOf: new Date(this.now()).toISOString(), agents: await computeRoster(this.opts.clickhouse, this.now()) };
        this.roster = { asOf: loaded.asOf, agents: new Map(loaded.agents.map((a) => [a.agentId, a])) };
      } finally {
        this.rosterPending = null;
      }
      for (const p of pending) this.onRoster(p);
      return this.roster;
    });
  }

  private async latestSeries(scopes: string[]): Promise<Series[]> {
    const stored = await readSeries(this.opts.redis, this.names, scopes);
    const missing = scopes.filter((s) => !stored.some((x) => x.scope === s));
    if (missing.length === 0) return stored;
    const computed = await this.once(`series|${missing.join('\n')}`, () =>
      computeSeries(this.opts.clickhouse, { now: this.now(), tz: this.opts.config.CENTER_TZ, scopes: missing }),
    );
    return [...stored, ...computed.filter((s) => missing.includes(s.scope))];
  }

  private notePresence(clients: LiveClient[], open: boolean): void {
    const presence = this.opts.presence;
    if (!presence || clients.length === 0) return;
    const entries = clients.map((c) => ({ displayId: (c.principal as Extract<Principal, { kind: 'display' }>).displayId, open, address: c.address }));
    presence.note(entries, this.now()).catch((err: Error) => this.opts.log.debug({ err: err.message }, 'live: could not note the displays connected'));
  }

  // --- heartbeat ---------------------------------------------------------------------------------------------------

  /**
   * A session that expired on its own (idle past SESSION_TTL_SECONDS) is revoked by no one, so its sockets are closed
   * here, as a revoked one's are. Redis not answering closes nothing: the next heartbeat asks again.
   */
  private async checkSessions(): Promise<void> {
    const sessions = this.opts.sessions;
    const ids = new Set<string>();
    for (const c of this.clients) if (c.principal.kind === 'user' && !c.closed) ids.add(c.principal.sessionId);
    if (!sessions || ids.size === 0) return;
    try {
      for (const id of await sessions.ended([...ids])) this.revoke({ kind: 'session', id }, 'the session expired');
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'live: could not check the sessions of the sockets');
    }
  }

  /**
   * A scope taken off a display's boards (a tile removed, the TV moved to another board) is no longer its to read. The
   * wallboard unsubscribes at once; what a socket still holds is dropped here, with one read of the boards for every
   * display. For a socket that subscribes meanwhile, the refused scopes are asked about again, of its boards as they
   * are then: its subscription may have been granted by boards newer than the ones read here (a scope put back), and
   * a socket that keeps subscribing must not keep a scope by it.
   */
  private async checkDisplayGrants(): Promise<void> {
    const held = new Map<LiveClient, { scopes: string[]; subscribes: number }>();
    const displays = new Map<string, DisplayPrincipal>();
    for (const c of this.clients) {
      if (c.principal.kind !== 'display' || c.closed) continue;
      const scopes = c.scopes(); // a series or a roster is followed only for a subscribed scope
      if (scopes.size === 0) continue;
      held.set(c, { scopes: [...scopes], subscribes: c.subscribes });
      displays.set(c.principal.displayId, c.principal);
    }
    if (held.size === 0) return;
    try {
      await this.opts.displayScopes.refreshAll([...displays.values()]);
      for (const [c, h] of held) {
        const p = c.principal as DisplayPrincipal;
        let refused = await this.opts.displayScopes.refused(p, h.scopes);
        if (refused.length > 0 && c.subscribes !== h.subscribes) refused = await this.opts.displayScopes.refused(p, refused);
        if (refused.length === 0 || c.closed) continue;
        this.unsubscribe(c, undefined, refused);
        this.error(c, 'forbidden_scope', `${forbiddenMessage(p, refused)}: they are no longer on its boards, so they were unsubscribed`);
      }
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'live: could not check what the displays may read');
    }
  }

  /**
   * One heartbeat round: a socket that has not answered the previous ping (nor sent anything since) is dead and is
   * terminated; every other one is pinged. Returns how many were terminated.
   */
  heartbeat(): number {
    this.floor.checkHours();
    void this.floor.checkSources();
    void this.checkSessions();
    void this.checkDisplayGrants();
    this.notePresence([...this.clients].filter((c) => c.alive && c.principal.kind === 'display'), true);
    let dead = 0;
    for (const client of [...this.clients]) {
      if (!client.alive) {
        dead++;
        this.opts.log.info({ client: client.id }, 'live: no answer to the heartbeat, socket dropped');
        this.remove(client);
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      try {
        client.socket.ping();
      } catch {
        /* closing already */
      }
    }
    return dead;
  }
}

function snapshotMessage(s: Snapshot): string {
  return JSON.stringify({ type: 'snapshot', window: s.window, scope: s.scope, asOf: s.asOf, values: s.values } satisfies ServerMessage);
}

function seriesMessage(s: Series): string {
  return JSON.stringify({ type: 'series', window: 'today', scope: s.scope, asOf: s.asOf, intervalMinutes: 15, points: s.points } satisfies ServerMessage);
}
