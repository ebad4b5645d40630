// The TV: who am I (a display or a signed-in person), which board (a display's own, or #/board/<name>), the live
// data, rotation, sound, and the header with the board's name, the live/stale state and the clock. Every fetch is
// retried forever and keeps the last good answer, so the page never goes blank and recovers by itself.
import { createEffect, createMemo, createSignal, Match, on, onCleanup, Show, Switch, type Component } from 'solid-js';
import type { PublicPrincipal } from '../../../server/auth/principal.ts';
import type { Board, BoardsResponse, GridBoard } from '../../../server/boards/schema.ts';
import type { KpiDefinition } from '../../../server/kpi/catalog.ts';
import type { LiveWindow } from '../../../server/live/protocol.ts';
import type { FloorMessage, MessagesResponse } from '../../../server/messages/rules.ts';
import { ApiFailure, api, timeoutSignal } from '../lib/api.ts';
import type { ThresholdView } from '../lib/alert-display.ts';
import { formatClock, formatClosed, formatQuietSources, formatStaleSince } from '../lib/format.ts';
import { staleSince, type Subscription } from '../lib/live.ts';
import { MessageArrivals, messagesOnScreen } from '../lib/messages.ts';
import { newBuildServed } from '../lib/new-build.ts';
import { backoffDelay } from '../../../server/backoff.ts';
import { expandRows, MAX_TABLE_SCOPES, wildcardKind } from '../../../server/boards/table-rows.ts';
import { toThresholdView } from '../lib/thresholds.ts';
import { BoardView } from './BoardView.tsx';
import { createLiveData } from './live-data.ts';
import { MessageBanner } from './MessageBanner.tsx';

/** Values older than this without word from the server are shown as stale. */
export const STALE_MS = 8_000;
/** How often board layouts, display settings, thresholds and floor messages are re-read. */
const REFRESH_MS = 5_000;
/** A read of the board loop that has not answered by then is given up (and asked again at the next turn). */
const READ_TIMEOUT_MS = 10_000;
/** A read of the board loop, given up after READ_TIMEOUT_MS. */
const read = <T,>(url: string) => api<T>('GET', url, undefined, timeoutSignal(READ_TIMEOUT_MS));
/** How often the page asks whether a new build is served (also at each reconnection of its live socket). */
const BUILD_CHECK_MS = 10 * 60_000;

interface Catalog {
  kpis: KpiDefinition[];
  timeZone: string;
}


/** How often the scopes with figures today are re-read, while a board has a table of every queue (`queue:*`). */
const SCOPES_REFRESH_MS = 30_000;

function subscriptionsFor(boards: GridBoard[], rows: (scopes: string[]) => string[]): Subscription[] {
  const byWindow = new Map<LiveWindow, Set<string>>([['today', new Set()]]);
  const add = (w: LiveWindow, s: string) => (byWindow.get(w) ?? byWindow.set(w, new Set()).get(w)!).add(s);
  const roster = new Set<string>();
  for (const b of boards) {
    for (const t of b.tiles) {
      if (t.kind === 'kpi') {
        add(t.window, t.scope);
        add('today', t.scope); // its sparkline
      } else if (t.kind === 'trend' || t.kind === 'agents') add('today', t.scope);
      else if (t.kind === 'table') for (const scope of rows(t.scopes)) add(t.window, scope);
      else if (t.kind === 'roster') roster.add(t.scope);
    }
  }
  const subs: Subscription[] = [...byWindow]
    .filter(([, s]) => s.size > 0)
    .map(([window, scopes]) => ({ window, scopes: [...scopes], ...(window === 'today' ? { series: true } : {}) }));
  if (roster.size > 0) subs.push({ window: 'today', scopes: [...roster], roster: true });
  return subs;
}

let audio: AudioContext | undefined;
/** A short two-tone beep (WebAudio: no media file, nothing to load). */
function beep(): void {
  try {
    audio ??= new AudioContext();
    const t = audio.currentTime;
    for (const [i, f] of [880, 660].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.25, t + i * 0.25);
      g.gain.exponentialRampToValueAtTime(0.001, t + i * 0.25 + 0.22);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.25);
      o.stop(t + i * 0.25 + 0.24);
    }
  } catch {
    // no audio device, or autoplay refused: the flash still shows
  }
}

export const BoardApp: Component<{ requested: string | undefined }> = (props) => {
  const [me, setMe] = createSignal<PublicPrincipal | null>(null);
  const [signedOut, setSignedOut] = createSignal(false);
  const [boards, setBoards] = createSignal<BoardsResponse | null>(null);
  const [catalog, setCatalog] = createSignal<Catalog | null>(null);
  const [thresholds, setThresholds] = createSignal<ThresholdView[]>([], { equals: (a, b) => JSON.stringify(a) === JSON.stringify(b) });
  const [problem, setProblem] = createSignal<string | null>(null);
  /** The floor messages for this screen as last read, on the air and scheduled (null until the first answer). */
  const [messages, setMessages] = createSignal<FloorMessage[] | null>(null, { equals: (a, b) => JSON.stringify(a) === JSON.stringify(b) });

  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;
  const live = createLiveData({ url: wsUrl });

  // a new build deployed while the TV runs: reload into it (lib/new-build.ts)
  const build = document.querySelector('script[type="module"][src^="/assets/index-"]')?.getAttribute('src') ?? null;
  const checkBuild = () => void newBuildServed(build).then((fresh) => fresh && location.reload());
  live.onWelcome(checkBuild);
  const buildTimer = setInterval(checkBuild, BUILD_CHECK_MS);
  onCleanup(() => clearInterval(buildTimer));

  // --- periodic loading, with backoff while the server is away ---
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let disposed = false;
  let boardsJson = '';
  async function loadThresholds(): Promise<void> {
    try {
      const t = await read<{ thresholds: unknown[] }>('/v1/thresholds');
      setThresholds((t.thresholds ?? []).map(toThresholdView).filter((x): x is ThresholdView => x !== null));
    } catch (err) {
      // thresholds not readable by this credential (or not there yet): alerts alone colour the tiles
      if (!(err instanceof ApiFailure) || err.status === 0 || err.status >= 500) throw err;
    }
  }
  async function loadMessages(): Promise<void> {
    const r = await read<MessagesResponse>('/v1/messages');
    setMessages([...r.messages, ...(r.scheduled ?? [])]);
  }
  async function load(): Promise<void> {
    try {
      if (!me()) setMe(((await read<{ principal: PublicPrincipal }>('/v1/auth/me')).principal));
      if (!catalog()) setCatalog(await read<Catalog>('/v1/kpis/catalog'));
      const b = await read<BoardsResponse>('/v1/boards');
      const json = JSON.stringify(b);
      if (json !== boardsJson) {
        boardsJson = json;
        setBoards(b);
      }
      await loadThresholds();
      await loadMessages();
      failures = 0;
      setProblem(null);
      // signed in again (a display link opened, a person signed in in another tab): the live socket need not wait
      // out its minute after the refusal
      if (signedOut()) live.reconnectNow();
      setSignedOut(false);
    } catch (err) {
      failures++;
      if (err instanceof ApiFailure && err.status === 401) {
        // Nabız's 401 is final (a display revoked, a session ended, perhaps while the screen was off the network): the
        // board it showed goes, and the screen says it is not signed in, rather than show it stale for ever.
        setSignedOut(true);
        setMe(null);
        boardsJson = '';
        setBoards(null);
      } else setProblem(err instanceof Error ? err.message : String(err));
    }
    if (!disposed) timer = setTimeout(load, failures === 0 ? REFRESH_MS : backoffDelay(failures - 1, Math.random, { maxMs: REFRESH_MS * 3 }));
  }
  void load();
  onCleanup(() => {
    disposed = true;
    clearTimeout(timer);
  });

  // A changed threshold shows up first as alert changes: re-read the thresholds then (debounced), not only every 10 s.
  let thrTimer: ReturnType<typeof setTimeout> | undefined;
  createEffect(
    on(live.alertsVersion, () => {
      clearTimeout(thrTimer);
      thrTimer = setTimeout(() => void loadThresholds().catch(() => {}), 250);
    }, { defer: true }),
  );
  onCleanup(() => clearTimeout(thrTimer));

  const catalogMap = createMemo(() => new Map((catalog()?.kpis ?? []).map((k) => [k.key, k] as const)));
  const timeZone = () => catalog()?.timeZone;

  const boardName = createMemo(() => {
    const b = boards();
    if (b?.display) return b.display.board;
    return props.requested ?? b?.boards.find((x) => x.type === 'grid')?.name ?? b?.boards[0]?.name;
  });
  const mainBoard = createMemo<Board | undefined>(() => boards()?.boards.find((b) => b.name === boardName()));
  const gridOf = (name: string) => boards()?.boards.find((b): b is GridBoard => b.name === name && b.type === 'grid');
  // the same rotation after an edit elsewhere (another board, a display's sound) is not a new one: it goes on where it is
  const rotation = createMemo(
    () => {
      const m = mainBoard();
      if (m?.type !== 'rotation') return null;
      return m.rotation.filter((e) => gridOf(e.board));
    },
    undefined,
    { equals: (a, b) => JSON.stringify(a) === JSON.stringify(b) },
  );

  // rotation: show each board for its duration, then the next
  const [rotIndex, setRotIndex] = createSignal(0);
  createEffect(
    on(rotation, (rot) => {
      setRotIndex(0);
      if (!rot || rot.length < 2) return;
      let handle: ReturnType<typeof setTimeout>;
      const step = (i: number) => {
        handle = setTimeout(() => {
          const next = (i + 1) % rot.length;
          setRotIndex(next);
          step(next);
        }, rot[i]!.seconds * 1000);
      };
      step(0);
      onCleanup(() => clearTimeout(handle));
    }),
  );

  const shown = createMemo<GridBoard | undefined>(() => {
    const m = mainBoard();
    if (!m) return undefined;
    if (m.type === 'grid') return m;
    const rot = rotation();
    return rot && rot.length > 0 ? gridOf(rot[Math.min(rotIndex(), rot.length - 1)]!.board) : undefined;
  });

  // every board of the rotation at once: switching boards then shows live values at once
  const grids = createMemo(() => {
    const m = mainBoard();
    return m?.type === 'grid' ? [m] : (rotation() ?? []).map((e) => gridOf(e.board)!).filter(Boolean);
  });

  // tables of every queue (team, channel): the scopes with figures today, re-read every 30 s while one is shown
  const [active, setActive] = createSignal<string[]>([], { equals: (a, b) => a.join('\n') === b.join('\n') });
  const wantsActive = createMemo(() => grids().some((g) => g.tiles.some((t) => t.kind === 'table' && t.scopes.some((s) => wildcardKind(s) !== null))));
  createEffect(
    on(wantsActive, (wanted) => {
      if (!wanted) return;
      const readScopes = () => void api<{ scopes: string[] }>('GET', '/v1/kpis/scopes').then((r) => setActive(r.scopes), () => {}); // keeps the last answer
      readScopes();
      const handle = setInterval(readScopes, SCOPES_REFRESH_MS);
      onCleanup(() => clearInterval(handle));
    }),
  );
  const rows = (scopes: string[]) => expandRows(scopes, active(), MAX_TABLE_SCOPES);

  createEffect(() => live.subscribe(subscriptionsFor(grids(), rows)));

  const soundOn = () => boards()?.display?.sound ?? false;
  live.onCritical(() => {
    if (soundOn()) beep();
  });

  // floor messages: those for this board (or the rotation and the board on screen) from their start to their end, by
  // the server's clock; an urgent one that starts while the TV runs (posted, or scheduled) flashes, beeps (sound on)
  // and is shown at once — not those already up when the TV started
  const onScreen = createMemo(() => messagesOnScreen(messages() ?? [], [mainBoard()?.name, shown()?.name], live.serverNow()), undefined, {
    equals: (a, b) => a.length === b.length && a.every((m, i) => m.id === b[i]!.id && m.endsAt === b[i]!.endsAt),
  });
  // a message posted or ended: read them now, not at the next re-read (which follows anyway if this fails)
  live.onMessagesChanged(() => void loadMessages().catch(() => {}));
  const arrivals = new MessageArrivals();
  const [arrived, setArrived] = createSignal<string | null>(null);
  /** The messages started by now, whichever board they are for (so a rotation's turn is no arrival). */
  const started = createMemo(
    () => {
      const list = messages();
      const now = live.serverNow();
      return list === null ? null : list.filter((m) => Date.parse(m.startsAt) <= now);
    },
    undefined,
    { equals: (a, b) => a === b || (a !== null && b !== null && a.length === b.length && a.every((m, i) => m.id === b[i]!.id)) },
  );
  createEffect(
    on(started, (list) => {
      if (list === null) return;
      const fresh = arrivals.update(list, Date.now());
      if (fresh.length === 0) return;
      setArrived(fresh[0]!.id);
      if (soundOn()) beep();
    }),
  );

  // stale: no word from the server for a while, a (re)connection whose subscriptions are not answered yet (the values
  // are from before it), or the server says the KPI worker stopped updating the figures. Said as since when the values
  // on screen were last known current, the earliest of these, on the server's clock (the header's: the TV's own may be
  // off).
  const staleness = createMemo(() => staleSince(live.status(), live.figuresStaleSince(), { now: live.now(), skew: live.serverNow() - live.now(), staleMs: STALE_MS }));
  const stale = createMemo(() => {
    const since = staleness();
    if (since === null) return null;
    if (since === 'connecting') return 'connecting…';
    return since === 'unknown' ? 'waiting for figures' : formatStaleSince(since, live.serverNow(), timeZone());
  });

  const statusText = () => {
    const s = live.status();
    if (s.revoked) return 'display revoked';
    if (stale() === null) return 'live';
    if (!s.connected) return `${stale()} · reconnecting`;
    return s.updating && s.currentAt !== null ? `${stale()} · updating` : stale()!;
  };

  return (
    <div class="board-page" classList={{ 'with-message': onScreen().length > 0 }} data-live={stale() === null ? 'true' : 'false'}>
      <header class="board-head">
        <h1 class="board-title">{mainBoard()?.type === 'rotation' ? `${mainBoard()!.title} · ${shown()?.title ?? ''}` : mainBoard()?.title ?? 'Nabız'}</h1>
        <span class="board-status" classList={{ live: stale() === null, stale: stale() !== null }} data-status={stale() === null ? 'live' : 'stale'}>
          <i class="dot" aria-hidden="true" />
          {statusText()}
        </span>
        <Show when={live.closedUntil() !== undefined}>
          <span class="center-closed">{formatClosed(live.closedUntil() ?? null, live.serverNow(), timeZone())}</span>
        </Show>
        <Show when={live.quiet().length > 0}>
          <span class="quiet-source" data-sources={live.quiet().map((q) => q.source).join(' ')}>
            <i class="dot" aria-hidden="true" />
            {formatQuietSources(live.quiet(), live.serverNow(), timeZone())}
          </span>
        </Show>
        {/* the server's time, as the floor messages, the roster and every "since" on the board: a TV's own clock can be off */}
        {/* until the server has told its time (a TV switched on while Nabız is down), no time rather than the TV's own */}
        <time class="clock" data-known={live.serverTimeKnown() ? 'true' : 'false'}>{live.serverTimeKnown() ? formatClock(live.serverNow(), timeZone()) : '--:--'}</time>
      </header>
      <main class="board-main">
        <Switch
          fallback={
            <div class="message">
              <p>{boards() ? `No board named “${boardName() ?? ''}” yet.` : problem() ? 'Waiting for the server…' : 'Loading…'}</p>
              <p class="muted">{boards() ? 'A supervisor can create it in the console.' : problem() ?? ''}</p>
            </div>
          }
        >
          <Match when={signedOut() && !boards()}>
            <div class="message">
              <p>This screen is not signed in.</p>
              <p class="muted">
                Open the display link from the console on this screen, or <a href="#/console">sign in</a>.
              </p>
            </div>
          </Match>
          <Match when={shown()}>
            {(b) => <BoardView board={b()} live={live} catalog={catalogMap()} thresholds={thresholds()} timeZone={timeZone()} stale={stale()} staleSince={typeof staleness() === 'number' ? (staleness() as number) : null} rows={rows} />}
          </Match>
        </Switch>
      </main>
      <Show when={onScreen().length > 0}>
        {/* flashing reads `arrived` too: a message that starts in the same instant as the banner appears flashes at once */}
        <MessageBanner messages={onScreen()} arrived={arrived()} flashing={(id) => (arrived(), arrivals.flashing(id, live.now()))} timeZone={timeZone()} />
      </Show>
      <Show when={me()?.kind === 'user'}>
        <a class="console-link" href="#/console">console</a>
      </Show>
      {/* a supervisor asked which screen this is (Console → Displays → Identify): its name, large, for a few seconds */}
      <Show when={live.now() < live.identifyUntil()}>
        <div class="identify" role="status">
          <p class="identify-name">{boards()?.display?.name ?? 'this screen'}</p>
          <p class="identify-board">shows {mainBoard()?.title ?? boardName() ?? '—'}</p>
        </div>
      </Show>
    </div>
  );
};
