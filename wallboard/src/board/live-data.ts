// The board's live data as Solid signals, fed by the live-stream client: one signal per (window, scope) snapshot,
// per scope series and per scope roster, the open alerts, the connection status and a one-second clock. Bounded:
// signals exist only for what the board subscribes to (dropped when the subscription changes), alerts only while open.
import { createSignal, onCleanup, type Accessor, type Setter } from 'solid-js';
import type { LiveWindow, QuietSource, RosterAgent, RosterState, ServerMessage } from '../../../server/live/protocol.ts';
import type { KpiValue } from '../../../server/kpi/catalog.ts';
import { AlertBook } from '../lib/alert-display.ts';
import { LiveClient, type LiveStatus, type SocketLike, type Subscription } from '../lib/live.ts';

export interface SnapshotEntry {
  values: Record<string, KpiValue>;
  asOf: string;
  receivedAt: number;
}

export interface SeriesEntry {
  /** Interval starts, epoch seconds. */
  x: number[];
  points: { start: string; values: Record<string, KpiValue> }[];
  receivedAt: number;
}

export interface RosterEntry {
  /** How many agents are in each state (the list may hold fewer: the server caps it per state). */
  counts: Record<RosterState, number>;
  agents: RosterAgent[];
  receivedAt: number;
}

type Cell<T> = [Accessor<T | undefined>, Setter<T | undefined>];

export interface LiveData {
  snapshot(window: LiveWindow, scope: string): SnapshotEntry | undefined;
  /** The latest snapshot of a (window, scope) the board subscribes to; undefined for any other (no signal is made). */
  latest(window: LiveWindow, scope: string): SnapshotEntry | undefined;
  series(scope: string): SeriesEntry | undefined;
  roster(scope: string): RosterEntry | undefined;
  status: Accessor<LiveStatus>;
  /** Ticks every second. */
  now: Accessor<number>;
  /** The server's clock as last told (welcome, pong), ticking with `now`: a TV whose clock is off still counts right. */
  serverNow: Accessor<number>;
  /** Whether the server has told its clock yet: until then `serverNow` is the TV's own, which may be off. */
  serverTimeKnown: Accessor<boolean>;
  book: AlertBook;
  /** Changes whenever the open alerts change. */
  alertsVersion: Accessor<number>;
  /** The sources (ACD, IVR, CRM) that have gone quiet, as the server last said. */
  quiet: Accessor<QuietSource[]>;
  /** While the center is closed (CENTER_HOURS): when it opens (epoch ms; null: not known); undefined while open. */
  closedUntil: Accessor<number | null | undefined>;
  /**
   * While the server says the figures are stale (the KPI worker stopped ticking): as of when (epoch ms; null: not
   * known); undefined while they are current.
   */
  figuresStaleSince: Accessor<number | null | undefined>;
  subscribe(subs: Subscription[]): void;
  /** Connects the live socket now if it is waiting to (the screen was signed in again after a refusal). */
  reconnectNow(): void;
  /** Called when a new critical alert arrives (the board decides whether to beep). */
  onCritical(fn: () => void): void;
  /** Called when the floor messages changed (the page reads them again). */
  onMessagesChanged(fn: () => void): void;
  /** Called at each (re)connection of the live socket (its `welcome`): the server may have been restarted. */
  onWelcome(fn: () => void): void;
  /** Until when this screen shows its name (a supervisor asked it to identify itself); 0: not asked. */
  identifyUntil: Accessor<number>;
}

export function createLiveData(opts: { url: string; createSocket?: (url: string) => SocketLike }): LiveData {
  const snaps = new Map<string, Cell<SnapshotEntry>>();
  const seriesCells = new Map<string, Cell<SeriesEntry>>();
  const rosterCells = new Map<string, Cell<RosterEntry>>();
  const cell = <T,>(map: Map<string, Cell<T>>, key: string): Cell<T> => {
    let c = map.get(key);
    if (!c) {
      c = createSignal<T | undefined>(undefined, { equals: false });
      map.set(key, c);
    }
    return c;
  };
  const [status, setStatus] = createSignal<LiveStatus>({ connected: false, lastMessageAt: null, attempts: 0, revoked: null, updating: false, currentAt: null });
  const [now, setNow] = createSignal(Date.now());
  const [alertsVersion, setAlertsVersion] = createSignal(0);
  const [quiet, setQuiet] = createSignal<QuietSource[]>([]);
  const [closedUntil, setClosedUntil] = createSignal<number | null | undefined>(undefined);
  const [figuresStaleSince, setFiguresStaleSince] = createSignal<number | null | undefined>(undefined);
  const book = new AlertBook();
  let criticalListener: (() => void) | null = null;
  let messagesListener: (() => void) | null = null;
  let welcomeListener: (() => void) | null = null;
  const [identifyUntil, setIdentifyUntil] = createSignal(0);
  let wanted = new Set<string>();
  let wantedRoster = new Set<string>();
  /** Server clock − this clock, in ms, as of the last welcome or pong. */
  let skew = 0;
  const [serverTimeKnown, setServerTimeKnown] = createSignal(false);

  const onMessage = (m: ServerMessage) => {
    const t = Date.now();
    switch (m.type) {
      case 'snapshot': {
        const key = `${m.window}|${m.scope}`;
        if (!wanted.has(key)) return;
        cell(snaps, key)[1]({ values: m.values, asOf: m.asOf, receivedAt: t });
        return;
      }
      case 'series': {
        if (!wanted.has(`today|${m.scope}`)) return;
        const points = m.points.map((p) => ({ start: p.start, values: p.values }));
        cell(seriesCells, m.scope)[1]({ x: points.map((p) => Date.parse(p.start) / 1000), points, receivedAt: t });
        return;
      }
      case 'roster':
        if (!wantedRoster.has(m.scope)) return;
        cell(rosterCells, m.scope)[1]({ counts: m.counts, agents: m.agents, receivedAt: t });
        return;
      case 'pong':
        skew = Date.parse(m.serverTime) - t || 0;
        setServerTimeKnown(true);
        return;
      case 'welcome':
        skew = Date.parse(m.serverTime) - t || 0;
        setServerTimeKnown(true);
        // a (re)connection: the server says at once if some source is quiet, the center closed or the figures are
        // stale, so forget what was said before
        setQuiet([]);
        setClosedUntil(undefined);
        setFiguresStaleSince(undefined);
        welcomeListener?.();
        return;
      case 'figures':
        setFiguresStaleSince(!m.stale ? undefined : m.asOf === null ? null : Date.parse(m.asOf));
        return;
      case 'hours':
        setClosedUntil(m.open ? undefined : m.opensAt === null ? null : Date.parse(m.opensAt));
        return;
      case 'sources':
        setQuiet(m.quiet);
        return;
      case 'messages':
        messagesListener?.();
        return;
      case 'identify':
        setIdentifyUntil(t + m.seconds * 1000);
        return;
      case 'alerts':
        book.replace(m.alerts, t);
        setAlertsVersion((v) => (v + 1) % 1e9);
        return;
      case 'alert':
        if (book.apply(m.alert, t)) criticalListener?.();
        setAlertsVersion((v) => (v + 1) % 1e9);
        return;
      default:
        return;
    }
  };

  const client = new LiveClient({
    url: opts.url,
    createSocket: opts.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
    onMessage,
    onStatus: setStatus,
  });
  client.start();
  const tick = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => {
    clearInterval(tick);
    client.stop();
  });

  return {
    snapshot: (window, scope) => cell(snaps, `${window}|${scope}`)[0](),
    latest: (window, scope) => {
      const key = `${window}|${scope}`;
      return wanted.has(key) ? snaps.get(key)?.[0]() : undefined;
    },
    series: (scope) => cell(seriesCells, scope)[0](),
    roster: (scope) => cell(rosterCells, scope)[0](),
    status,
    now,
    serverNow: () => now() + skew,
    serverTimeKnown,
    book,
    alertsVersion,
    quiet,
    closedUntil,
    figuresStaleSince,
    subscribe(subs) {
      const next = new Set<string>();
      const nextRoster = new Set<string>();
      for (const s of subs) {
        for (const scope of s.scopes) {
          next.add(`${s.window}|${scope}`); // a roster's scope is subscribed too (the server sends its snapshots)
          if (s.roster) nextRoster.add(scope);
        }
      }
      // forget what is no longer shown (a board edited for weeks must not accumulate signals)
      for (const key of snaps.keys()) if (!next.has(key)) snaps.delete(key);
      for (const scope of seriesCells.keys()) if (!next.has(`today|${scope}`)) seriesCells.delete(scope);
      for (const scope of rosterCells.keys()) if (!nextRoster.has(scope)) rosterCells.delete(scope);
      const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((k) => b.has(k));
      const same = sameSet(next, wanted) && sameSet(nextRoster, wantedRoster);
      wanted = next;
      wantedRoster = nextRoster;
      if (!same) client.subscribe(subs);
    },
    reconnectNow: () => client.reconnectNow(),
    onCritical(fn) {
      criticalListener = fn;
    },
    onMessagesChanged(fn) {
      messagesListener = fn;
    },
    onWelcome(fn) {
      welcomeListener = fn;
    },
    identifyUntil,
  };
}
