// The display-token flow: /?display=<token> → POST /v1/auth/display (sets an HttpOnly cookie for 400 days) → the
// token is removed from the address bar (history.replaceState), so no script, bookmark or Referer keeps it. While the
// server cannot be reached the token stays in the URL and the exchange is retried; a token Nabız refuses is dropped.
// Only Nabız's own refusals are final (400, 401): a proxy's 404 or 429 while Nabız restarts is waited out, or a TV
// that boots during an upgrade would drop its link and stay on the message for good.
import { api, ApiFailure } from './api.ts';
import { backoffDelay } from '../../../server/backoff.ts';

export async function signInDisplay(): Promise<void> {
  const url = new URL(location.href);
  const token = url.searchParams.get('display');
  if (!token) return;
  const root = document.getElementById('root');
  for (let attempt = 0; ; attempt++) {
    try {
      await api('POST', '/v1/auth/display', { token });
      break;
    } catch (err) {
      if (err instanceof ApiFailure && (err.status === 400 || err.status === 401)) {
        if (root) root.textContent = 'This display link is invalid or was revoked. Ask a supervisor for a new one.';
        url.searchParams.delete('display');
        history.replaceState(null, '', url.pathname + url.search + url.hash);
        await new Promise(() => {}); // stay on the message
      }
      if (root) root.textContent = 'Signing this screen in… (waiting for the server)';
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, Math.random, { maxMs: 15_000 })));
    }
  }
  url.searchParams.delete('display');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
  if (root) root.textContent = '';
  // A TV shows the board full screen; browsers allow it only after a gesture (kiosk mode needs none).
  const full = () => document.documentElement.requestFullscreen?.().catch(() => {});
  window.addEventListener('click', full, { once: true });
  window.addEventListener('keydown', full, { once: true });
}
