// The shell: the board (the TV) by default, the console (loaded lazily, so a TV never downloads it) at #/console.
import { createSignal, ErrorBoundary, lazy, Match, onCleanup, Suspense, Switch, type Component } from 'solid-js';
import { BoardApp } from './board/BoardApp.tsx';
import { reloadWhenServerAnswers, serverAnswers } from './lib/reload.ts';
import { parseRoute } from './lib/route.ts';

const Console = lazy(() => import('./console/Console.tsx'));

/** Whatever goes wrong in rendering, the page shows something and reloads itself once the server answers. */
const Fallback: Component<{ err: unknown }> = (props) => {
  const [waiting, setWaiting] = createSignal(false);
  const cancel = reloadWhenServerAnswers({
    reload: () => location.reload(),
    check: () => serverAnswers(),
    delayMs: 30_000,
    onWaiting: () => setWaiting(true),
  });
  onCleanup(cancel);
  return (
    <div class="message">
      <p>{waiting() ? 'Something went wrong, and the server does not answer; reloading once it does.' : 'Something went wrong; reloading in 30 s.'}</p>
      <p class="muted">{String((props.err as Error)?.message ?? props.err)}</p>
    </div>
  );
};

export const App: Component = () => {
  const [route, setRoute] = createSignal(parseRoute(location.hash));
  const onHash = () => setRoute(parseRoute(location.hash));
  window.addEventListener('hashchange', onHash);
  onCleanup(() => window.removeEventListener('hashchange', onHash));
  return (
    <ErrorBoundary fallback={(err) => <Fallback err={err} />}>
      <Switch>
        <Match when={route().page === 'console'}>
          <Suspense fallback={<div class="message">Loading the console…</div>}>
            <Console tab={(route() as { tab?: string }).tab} />
          </Suspense>
        </Match>
        <Match when={route().page === 'board'}>
          <BoardApp requested={(route() as { board?: string }).board} />
        </Match>
      </Switch>
    </ErrorBoundary>
  );
};
