// The live-stream client (GET /v1/stream, protocol in server/live/protocol.ts). It keeps one websocket open for as
// long as the page lives: reconnects with backoff and jitter, resubscribes on every new socket (the server answers
// with fresh snapshots and the active alerts), pings so a half-open connection (a pulled cable, a sleeping router)
// is noticed within seconds, and reports when it last heard the server so tiles can say "stale since hh:mm". A
// subscription the server could not answer (error `unavailable`: ClickHouse or Redis away for a moment) is sent again,
// with backoff, until answered: a socket must not stay open and "live" with nothing subscribed.
// DOM-free: the socket constructor and timers are injected (unit tests use fakes).
import { MAX_SUBSCRIPTIONS } from '../../../server/live/limits.ts';
import type { ClientMessage, LiveWindow, ServerMessage } from '../../../server/live/protocol.ts';
import { backoffDelay, type BackoffOptions } from '../../../server/backoff.ts';
import { Reconnector } from './reconnect.ts';

export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface LiveTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface Subscription {
  window: LiveWindow;
  scopes: string[];
  series?: boolean;
  /** Also the roster of these scopes (sent in messages of their own, so other scopes do not get one). */
  roster?: boolean;
}

export interface LiveStatus {
  connected: boolean;
  /** When the last message from the server arrived (ms), or null before the first one. */
  lastMessageAt: number | null;
  /** Attempts since the last good connection. */
  attempts: number;
  /** Set when the server revoked this credential. */
  revoked: string | null;
  /**
   * A (re)connected socket whose subscriptions are not all answered yet: what the page shows is from before (a TV
   * that slept, a server restarted). Values are current again once they are.
   */
  updating: boolean;
  /** The last moment the page's values were known current (connected, answered, heard from); null before the first. */
  currentAt: number | null;
}

export interface LiveOptions extends BackoffOptions {
  url: string;
  createSocket: (url: string) => SocketLike;
  onMessage: (message: ServerMessage) => void;
  onStatus?: (status: LiveStatus) => void;
  timers?: LiveTimers;
  now?: () => number;
  random?: () => number;
  /** How often to ping (default 3 s). */
  pingMs?: number;
  /** Silence after which the socket is presumed dead and replaced (default 10 s). */
  silenceMs?: number;
  /**
   * How long the opening handshake may take before the socket is given up and replaced (default 10 s). Without it a
   * socket stuck connecting (a SYN into a dead route) waits on the browser and OS, for minutes or for ever.
   */
  connectMs?: number;
  /**
   * How long a fresh sending of the subscriptions may go unanswered before it is sent again (default 15 s): the page
   * says "updating" meanwhile, and must not for ever if an answer never comes.
   */
  answerMs?: number;
}

const OPEN = 1;

const browserTimers: LiveTimers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as number),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (h) => globalThis.clearInterval(h as number),
};

/**
 * The subscribe messages for a set of subscriptions: one per window (scopes de-duplicated, series if any asks), and
 * one per window for the scopes whose roster is wanted.
 */
export function subscribeMessages(subs: readonly Subscription[]): ClientMessage[] {
  const groups = new Map<string, { window: LiveWindow; roster: boolean; scopes: Set<string>; series: boolean }>();
  for (const s of subs) {
    const roster = Boolean(s.roster);
    const k = `${s.window}|${roster}`;
    const g = groups.get(k) ?? { window: s.window, roster, scopes: new Set<string>(), series: false };
    for (const scope of s.scopes) g.scopes.add(scope);
    g.series ||= Boolean(s.series);
    groups.set(k, g);
  }
  const out: ClientMessage[] = [];
  for (const g of groups.values()) {
    const scopes = [...g.scopes];
    for (let i = 0; i < scopes.length; i += MAX_SUBSCRIPTIONS) {
      out.push({ type: 'subscribe', window: g.window, scopes: scopes.slice(i, i + MAX_SUBSCRIPTIONS), ...(g.series ? { series: true } : {}), ...(g.roster ? { roster: true } : {}) });
    }
  }
  return out;
}

/** Refusals that answer a subscribe message (it will not be answered otherwise); `unavailable` is retried instead. */
const ANSWERING_ERRORS = new Set(['forbidden_scope', 'too_many_subscriptions', 'invalid_scope', 'bad_message']);

/**
 * Closes after which the same credential would be refused again at once: too many sockets for it (1008), or revoked
 * (4401). The next attempt waits a minute at least, instead of a reconnect loop of a few a second (the page's own
 * reads say why: not signed in, or the error).
 */
const REFUSED_CLOSES = new Set([1008, 4401]);
const AFTER_REFUSAL_MS = 60_000;

export class LiveClient {
  private socket: SocketLike | null = null;
  private subs: Subscription[] = [];
  private pingTimer: unknown = null;
  private connectTimer: unknown = null;
  private resubscribeTimer: unknown = null;
  private answerTimer: unknown = null;
  /** Subscriptions refused as `unavailable` in a row (the backoff of resubscribeLater). */
  private unanswered = 0;
  /** Subscribe messages of the last full sending on this socket not answered yet (`alerts` ends each answer). */
  private awaiting = 0;
  private readonly reconnector: Reconnector;
  private readonly timers: LiveTimers;
  private readonly now: () => number;
  private stopped = false;
  private pingSeq = 0;
  readonly status: LiveStatus = { connected: false, lastMessageAt: null, attempts: 0, revoked: null, updating: false, currentAt: null };

  constructor(private readonly opts: LiveOptions) {
    this.timers = opts.timers ?? browserTimers;
    this.now = opts.now ?? Date.now;
    this.reconnector = new Reconnector(() => this.open(), { ...opts, timers: this.timers, random: opts.random });
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Replaces what this page listens to; sent now if connected, and again on every reconnect. */
  subscribe(subs: Subscription[]): void {
    this.subs = subs;
    // the values held for what stays subscribed are still current: only new ones are awaited (shown as no data yet)
    if (this.socket?.readyState === OPEN) this.sendSubscriptions(true, false);
  }

  /** Sends every subscription; `fresh`: the page's values are not current until they are all answered. */
  private sendSubscriptions(replace: boolean, fresh: boolean): void {
    if (replace) this.send({ type: 'unsubscribe' });
    const messages = subscribeMessages(this.subs);
    for (const m of messages) this.send(m);
    if (fresh) {
      this.awaiting = messages.length;
      this.setStatus({ updating: messages.length > 0 });
      this.stopAnswerTimer();
      const socket = this.socket;
      if (messages.length > 0 && socket) {
        this.answerTimer = this.timers.setTimeout(() => {
          this.answerTimer = null;
          if (this.socket === socket && this.awaiting > 0) this.resubscribeLater(socket);
        }, this.opts.answerMs ?? 15_000);
      }
    }
  }

  private stopAnswerTimer(): void {
    if (this.answerTimer !== null) this.timers.clearTimeout(this.answerTimer);
    this.answerTimer = null;
  }

  /** The server could not answer a subscription: it is sent again on this socket after a backoff (1 s, doubling to 30 s). */
  private resubscribeLater(socket: SocketLike): void {
    if (this.resubscribeTimer !== null) return;
    const delay = backoffDelay(this.unanswered++, this.opts.random ?? Math.random, { baseMs: 1_000, maxMs: 30_000 });
    this.resubscribeTimer = this.timers.setTimeout(() => {
      this.resubscribeTimer = null;
      if (this.socket === socket && socket.readyState === OPEN) this.sendSubscriptions(true, true);
    }, delay);
  }

  private stopResubscribe(): void {
    if (this.resubscribeTimer !== null) this.timers.clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = null;
  }

  /**
   * Connects now if the next attempt is still waiting: the page was signed in again after a refusal (4401), which
   * would otherwise keep the socket away for up to a minute.
   */
  reconnectNow(): void {
    if (this.socket === null) this.reconnector.hurry();
  }

  stop(): void {
    this.stopped = true;
    this.reconnector.stop();
    this.stopConnectTimer();
    this.stopResubscribe();
    this.stopAnswerTimer();
    this.stopPing();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onopen = s.onclose = s.onerror = s.onmessage = null;
      s.close(1000, 'page closed');
    }
    this.setStatus({ connected: false });
  }

  private setStatus(change: Partial<LiveStatus>): void {
    Object.assign(this.status, change, { attempts: this.reconnector.attempts });
    this.opts.onStatus?.({ ...this.status });
  }

  private send(m: ClientMessage): void {
    try {
      this.socket?.send(JSON.stringify(m));
    } catch {
      // a socket closing under us: its close handler reconnects
    }
  }

  private open(): void {
    if (this.stopped) return;
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch {
      this.reconnector.failed();
      this.setStatus({ connected: false });
      return;
    }
    this.socket = socket;
    // the silence watchdog starts on open; until then this is the only thing that notices a socket going nowhere
    this.stopConnectTimer();
    this.connectTimer = this.timers.setTimeout(() => {
      this.connectTimer = null;
      if (this.socket === socket) this.dropSocket('connect timeout');
    }, this.opts.connectMs ?? 10_000);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.stopConnectTimer();
      this.unanswered = 0;
      this.sendSubscriptions(false, true);
      this.startPing(socket);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      let message: ServerMessage;
      try {
        message = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return;
      }
      // The socket is healthy (the backoff starts over) once its subscriptions are answered (answered()), or at a message
      // when it has none: not at any first message, which may be the refusal before a close.
      if (this.awaiting === 0 && message.type !== 'revoked' && message.type !== 'error') this.reconnector.succeeded();
      const t = this.now();
      if (message.type === 'error' && message.code === 'unavailable') this.resubscribeLater(socket);
      else if (message.type === 'alerts' || (message.type === 'error' && ANSWERING_ERRORS.has(message.code))) this.answered();
      if (message.type === 'revoked') this.setStatus({ revoked: message.reason, lastMessageAt: t });
      else this.setStatus({ connected: true, lastMessageAt: t, revoked: null, ...(this.status.updating ? {} : { currentAt: t }) });
      this.opts.onMessage(message);
    };
    socket.onerror = () => {
      // onclose follows and reconnects
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      const code = (ev as { code?: number } | null)?.code;
      this.dropSocket('closed', code !== undefined && REFUSED_CLOSES.has(code) ? AFTER_REFUSAL_MS : 0);
    };
  }

  /**
   * One subscribe message answered: `alerts` ends every answer; a refusal of it (a scope not allowed, too many) answers
   * it too. Once all are, the page's values are current, and the next `unavailable` backs off from the start again.
   */
  private answered(): void {
    if (this.awaiting > 0) this.awaiting--;
    if (this.awaiting > 0) return;
    this.reconnector.succeeded();
    this.unanswered = 0;
    this.stopAnswerTimer();
    if (this.status.updating) this.setStatus({ updating: false });
  }

  /** Forgets the current socket and schedules the next attempt (`atLeastMs` from now at the earliest). */
  private dropSocket(reason = 'silent', atLeastMs = 0): void {
    const s = this.socket;
    this.socket = null;
    this.stopConnectTimer();
    this.stopResubscribe();
    this.stopAnswerTimer();
    this.stopPing();
    if (s) {
      s.onopen = s.onclose = s.onerror = s.onmessage = null;
      try {
        s.close(4000, reason);
      } catch {
        // already closed
      }
    }
    this.setStatus({ connected: false });
    this.reconnector.failed(atLeastMs);
  }

  private startPing(socket: SocketLike): void {
    this.stopPing();
    const pingMs = this.opts.pingMs ?? 3_000;
    const silenceMs = this.opts.silenceMs ?? 10_000;
    const openedAt = this.now();
    this.pingTimer = this.timers.setInterval(() => {
      if (this.socket !== socket) return;
      const heard = Math.max(this.status.lastMessageAt ?? 0, openedAt);
      if (this.now() - heard > silenceMs) {
        this.dropSocket();
        return;
      }
      this.pingSeq = (this.pingSeq + 1) % 1_000_000;
      this.send({ type: 'ping', id: String(this.pingSeq) });
    }, pingMs);
  }

  private stopConnectTimer(): void {
    if (this.connectTimer !== null) this.timers.clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private stopPing(): void {
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}

/** Whether the page may present values as live: connected and heard from within `staleMs`. */
export function isLive(status: Pick<LiveStatus, 'connected' | 'lastMessageAt'>, now: number, staleMs: number): boolean {
  return status.connected && status.lastMessageAt !== null && now - status.lastMessageAt <= staleMs;
}

/**
 * Since when the values on screen are not known to be current, on the server's clock (epoch ms), the earliest of: the
 * connection (no word for `staleMs`, or a new one not answered yet: its values are from before) and the figures (the
 * server says the KPI worker stopped ticking: `figures`, its last tick; null: none known). null while everything is
 * current; 'connecting' before anything was ever current; 'unknown' when only the figures are stale, since a time the
 * server does not know.
 */
export function staleSince(
  status: LiveStatus,
  figures: number | null | undefined,
  clock: { now: number; skew: number; staleMs: number },
): number | null | 'connecting' | 'unknown' {
  const connectionCurrent = isLive(status, clock.now, clock.staleMs) && !status.updating;
  if (connectionCurrent && figures === undefined) return null;
  if (connectionCurrent) return figures ?? 'unknown';
  if (status.currentAt === null) return 'connecting';
  const heard = status.currentAt + clock.skew;
  return typeof figures === 'number' ? Math.min(heard, figures) : heard;
}
