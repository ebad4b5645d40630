// Revocation notices: every revocation is published on `<prefix>:auth:revoked` so that every API process can end
// what the revoked credential still holds open (live-stream websockets). Listeners run in-process; a notice may
// arrive more than once (pub/sub and the watcher both deliver), so listeners must be idempotent.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Log } from '../log.ts';
import type { Revocation } from './principal.ts';

export type RevocationListener = (r: Revocation) => void;

const KINDS = new Set<Revocation['kind']>(['display', 'session', 'ingest-key', 'user']);

export class RevocationBus {
  private readonly listeners = new Set<RevocationListener>();
  private readonly origin = randomBytes(8).toString('hex');
  private subscriber: Redis | undefined;
  readonly channel: string;

  constructor(
    private readonly publisher: Redis | undefined,
    prefix: string,
    private readonly log?: Log,
  ) {
    this.channel = `${prefix}:auth:revoked`;
  }

  /** Subscribes on a connection dedicated to it (a subscribed connection can do nothing else). */
  async listen(subscriber: Redis): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const m = JSON.parse(message) as Revocation & { origin?: string };
        if (m.origin === this.origin || !KINDS.has(m.kind) || typeof m.id !== 'string') return;
        this.emit({ kind: m.kind, id: m.id });
      } catch {
        this.log?.warn({ channel }, 'ignored a malformed revocation notice');
      }
    });
    await subscriber.subscribe(this.channel);
  }

  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Tells this process's listeners at once and every other process through Redis. */
  async publish(r: Revocation): Promise<void> {
    this.emit(r);
    if (!this.publisher) return;
    try {
      await this.publisher.publish(this.channel, JSON.stringify({ ...r, origin: this.origin }));
    } catch (err) {
      // The other processes still refuse the credential on its next request (the records are shared); their
      // watchers deliver the notice within a few seconds.
      this.log?.warn({ err: (err as Error).message, kind: r.kind }, 'could not publish a revocation notice');
    }
  }

  emit(r: Revocation): void {
    for (const l of this.listeners) {
      try {
        l(r);
      } catch (err) {
        this.log?.error({ err }, 'revocation listener failed');
      }
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.subscriber) {
      this.subscriber.disconnect();
      this.subscriber = undefined;
    }
  }
}
