// Heartbeats, both ways:
// - server → client: a websocket ping every STREAM_HEARTBEAT_MS; a socket that has not answered the previous ping
//   (pong) nor sent anything since is terminated, so a dead socket is gone within 2 × STREAM_HEARTBEAT_MS (20 s).
// - client → server: `{"type":"ping"}` answered by `{"type":"pong"}` (browsers cannot see websocket pings); a client
//   that hears nothing for a while reconnects.
import type { LiveHub } from './hub.ts';

export function startHeartbeat(hub: Pick<LiveHub, 'heartbeat'>, intervalMs: number): { stop(): void } {
  const timer = setInterval(() => hub.heartbeat(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
