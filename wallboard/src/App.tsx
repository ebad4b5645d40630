import { createResource, type Component } from 'solid-js';

async function health(): Promise<string> {
  const res = await fetch('/healthz');
  return res.ok ? 'server up' : `server answered ${res.status}`;
}

// The shell the server serves at /; the board and console arrive with the wallboard issue.
export const App: Component = () => {
  const [status] = createResource(health);
  return (
    <main class="shell">
      <h1>Nabız</h1>
      <p class="status">{status.loading ? 'connecting…' : status.error ? 'server unreachable' : status()}</p>
    </main>
  );
};
