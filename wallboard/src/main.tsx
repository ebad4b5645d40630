import { render } from 'solid-js/web';
import { App } from './App.tsx';
import { signInDisplay } from './lib/display-token.ts';
import './theme.css';

// The service worker keeps the shell, so a TV that boots while the server is away still starts (src/sw.ts).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err: unknown) => console.warn('wallboard: no service worker', err));
}

// A TV opened with /?display=<token> trades the token for an HttpOnly cookie first, then forgets it.
void signInDisplay().then(() => render(() => <App />, document.getElementById('root')!));
