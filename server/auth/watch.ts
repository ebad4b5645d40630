// The revocation watcher: every few seconds each API process asks ClickHouse for users changed and keys/displays
// revoked since it last looked, and enforces them (tombstones the cache, ends older sessions, tells its listeners).
// It is the safety net under pub/sub: it covers notices lost while a subscriber reconnected and changes made by the
// CLI where it cannot reach Redis (beside a running all-in-one). Everything it does is idempotent.
import type { Log } from '../log.ts';
import type { CredentialCache } from './cache.ts';
import type { RevocationBus } from './revocation.ts';
import type { Sessions } from './sessions.ts';
import { chMs } from '../clickhouse/time.ts';
import type { AccessStore } from './store.ts';

/** Rows are versioned by their writer's clock: look back this far to tolerate skew between hosts. */
const OVERLAP_MS = 30_000;

export interface WatcherDeps {
  store: AccessStore;
  sessions: Sessions;
  cache: CredentialCache;
  bus: RevocationBus;
  log?: Log;
  intervalMs: number;
}

export function startRevocationWatcher(deps: WatcherDeps): { stop(): Promise<void>; poll(): Promise<void> } {
  let watermark = Date.now() - OVERLAP_MS;
  const seen = new Map<string, number>(); // change key → its version time
  let stopped = false;
  let running: Promise<void> | undefined;

  async function poll(): Promise<void> {
    const changes = await deps.store.changesSince(watermark - OVERLAP_MS);
    for (const c of changes) {
      const key = `${c.kind}:${c.id}:${c.updatedAt}`;
      const at = chMs(c.updatedAt);
      if (seen.has(key)) continue;
      if (c.kind === 'user') {
        const ended = await deps.sessions.revokeUser(c.id, c.ended ? Number.POSITIVE_INFINITY : at);
        for (const id of ended) deps.bus.emit({ kind: 'session', id });
        if (c.ended) deps.bus.emit({ kind: 'user', id: c.id });
      } else {
        await deps.cache.tombstone(c.tokenSha256);
        deps.bus.emit({ kind: c.kind, id: c.id });
      }
      seen.set(key, at);
      watermark = Math.max(watermark, at);
    }
    for (const [k, at] of seen) if (at < watermark - 2 * OVERLAP_MS) seen.delete(k);
  }

  const timer = setInterval(() => {
    if (running || stopped) return;
    running = poll()
      .catch((err: Error) => deps.log?.warn({ err: err.message }, 'revocation watcher: poll failed'))
      .finally(() => (running = undefined));
  }, deps.intervalMs);
  timer.unref();

  return {
    poll,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
