import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../server/live/protocol.ts';
import { isLive, LiveClient, staleSince, subscribeMessages, type LiveOptions, type LiveStatus, type LiveTimers, type SocketLike } from '../../wallboard/src/lib/live.ts';
import { backoffDelay } from '../../server/backoff.ts';
import { Reconnector } from '../../wallboard/src/lib/reconnect.ts';

/** Fake timers: a list of pending callbacks run by advancing a fake clock. */
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void; every?: number }>();
  const timers: LiveTimers = {
    setTimeout: (fn, ms) => (pending.set(++seq, { at: now + ms, fn }), seq),
    clearTimeout: (h) => void pending.delete(h as number),
    setInterval: (fn, ms) => (pending.set(++seq, { at: now + ms, fn, every: ms }), seq),
    clearInterval: (h) => void pending.delete(h as number),
  };
  return {
    timers,
    now: () => now,
    pending: () => pending.size,
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        now = next[1].at;
        if (next[1].every) next[1].at += next[1].every;
        else pending.delete(next[0]);
        next[1].fn();
      }
      now = end;
    },
  };
}

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(m: ServerMessage) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  drop(code?: number) {
    this.readyState = 3;
    this.onclose?.(code === undefined ? {} : { code });
  }
}

describe('backoff with jitter', () => {
  it('grows exponentially from the base to the cap, each delay between half and all of it', () => {
    const lo = [0, 1, 2, 3, 10, 50].map((a) => backoffDelay(a, () => 0));
    const hi = [0, 1, 2, 3, 10, 50].map((a) => backoffDelay(a, () => 0.999999));
    expect(lo).toEqual([250, 500, 1000, 2000, 15_000, 15_000]);
    expect(hi).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
  });

  it('never waits zero and never longer than the cap', () => {
    for (let a = 0; a < 100; a++) {
      const d = backoffDelay(a, Math.random, { baseMs: 100, maxMs: 5_000 });
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThanOrEqual(5_000);
    }
  });

  it('keeps one attempt pending at a time, restarts from the base after a success, and stops for good', () => {
    const t = fakeTimers();
    let connects = 0;
    const r = new Reconnector(() => connects++, { timers: t.timers, random: () => 0, baseMs: 100 });
    expect(r.failed()).toBe(50);
    expect(r.failed()).toBeNull(); // already pending
    t.advance(50);
    expect(connects).toBe(1);
    expect(r.failed()).toBe(100);
    t.advance(100);
    r.succeeded();
    expect(r.failed()).toBe(50);
    r.stop();
    t.advance(1_000);
    expect(connects).toBe(2);
    expect(t.pending()).toBe(0);
  });

  it('makes a pending attempt at once when asked to hurry, once, and not after a stop', () => {
    const t = fakeTimers();
    let connects = 0;
    const r = new Reconnector(() => connects++, { timers: t.timers, random: () => 0 });
    expect(r.hurry()).toBe(false); // nothing pending: nothing to do
    expect(connects).toBe(0);
    r.failed(60_000);
    expect(r.hurry()).toBe(true);
    expect(connects).toBe(1);
    expect(t.pending()).toBe(0); // the waiting attempt is gone, not made a second time later
    t.advance(60_000);
    expect(connects).toBe(1);
    r.failed();
    r.stop();
    expect(r.hurry()).toBe(false);
    expect(connects).toBe(1);
  });
});

describe('live client', () => {
  function setup(extra: Partial<LiveOptions> = {}) {
    const t = fakeTimers();
    const sockets: FakeSocket[] = [];
    const messages: ServerMessage[] = [];
    const client = new LiveClient({
      url: 'ws://x/v1/stream',
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      onMessage: (m) => messages.push(m),
      timers: t.timers,
      now: t.now,
      random: () => 0,
      pingMs: 1_000,
      silenceMs: 3_000,
      ...extra,
    });
    return { t, sockets, messages, client };
  }
  const snapshot: ServerMessage = { type: 'snapshot', window: 'today', scope: 'center', asOf: '2025-01-01T00:00:00Z', values: {} };

  it('subscribes on open and resubscribes on every reconnect, after a backoff', () => {
    const { t, sockets, client } = setup();
    client.subscribe([{ window: 'today', scopes: ['center', 'queue:a'], series: true }, { window: '1h', scopes: ['center'] }]);
    client.start();
    sockets[0]!.open();
    const subs = [
      { type: 'subscribe', window: 'today', scopes: ['center', 'queue:a'], series: true },
      { type: 'subscribe', window: '1h', scopes: ['center'] },
    ];
    expect(sockets[0]!.sent).toEqual(subs);
    sockets[0]!.receive(snapshot);
    expect(client.status.connected).toBe(true);
    sockets[0]!.drop();
    expect(client.status.connected).toBe(false);
    expect(sockets).toHaveLength(1);
    t.advance(250); // first backoff with random 0: 500/2
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(sockets[1]!.sent).toEqual(subs);
  });

  it('sends a subscription the server could not answer (unavailable) again, backing off, until it is answered', () => {
    const { t, sockets, client } = setup();
    client.subscribe([{ window: 'today', scopes: ['center'] }]);
    client.start();
    const s = sockets[0]!;
    s.open();
    const sub = { type: 'subscribe', window: 'today', scopes: ['center'] };
    expect(s.sent).toEqual([sub]);
    const unavailable: ServerMessage = { type: 'error', code: 'unavailable', message: 'the latest figures cannot be read right now' };
    const resent = () => s.sent.filter((m) => (m as { type: string }).type === 'subscribe').length - 1;
    // refused once: sent again after 500 ms (1 s with equal jitter, random 0), replacing what the socket holds
    s.receive(unavailable);
    t.advance(499);
    expect(resent()).toBe(0);
    t.advance(1);
    expect(s.sent.slice(1)).toEqual([{ type: 'unsubscribe' }, sub]);
    // refused again (and twice while waiting: one retry pending at a time): 1 s, then 2 s
    s.receive(unavailable);
    s.receive(unavailable);
    t.advance(999);
    expect(resent()).toBe(1);
    t.advance(1);
    expect(resent()).toBe(2);
    s.receive(unavailable);
    t.advance(2_000);
    expect(resent()).toBe(3);
    // answered (the alerts that end every answer): the next refusal starts again from 500 ms
    s.receive({ type: 'alerts', alerts: [] });
    s.receive(unavailable);
    t.advance(500);
    expect(resent()).toBe(4);
    // a retry pending when the socket drops is cancelled: the new socket subscribes on open
    s.receive(unavailable);
    s.drop();
    t.advance(250); // the reconnect
    expect(sockets).toHaveLength(2);
    t.advance(5_000);
    expect(resent()).toBe(4);
  });

  it('after a reconnect, says the values are updating until every subscription is answered, and when they were last current', () => {
    const { t, sockets, client } = setup();
    client.subscribe([{ window: 'today', scopes: ['center'], series: true }, { window: '1h', scopes: ['center'] }]);
    client.start();
    t.advance(1_000);
    sockets[0]!.open();
    // two subscribe messages: updating until both are answered (each answer ends with `alerts`)
    expect(client.status).toMatchObject({ updating: true, currentAt: null });
    sockets[0]!.receive(snapshot);
    sockets[0]!.receive({ type: 'alerts', alerts: [] });
    expect(client.status).toMatchObject({ updating: true, currentAt: null });
    sockets[0]!.receive({ type: 'alerts', alerts: [] });
    expect(client.status).toMatchObject({ updating: false, currentAt: 1_000 });
    t.advance(2_000);
    sockets[0]!.receive(snapshot); // heard at 3,000 while current
    expect(client.status.currentAt).toBe(3_000);
    // the socket drops; the next one opens at 3,250 and hears from the server, but its answers are still to come: the
    // values are as of 3,000
    sockets[0]!.drop();
    t.advance(250);
    sockets[1]!.open();
    sockets[1]!.receive({ type: 'welcome', serverTime: '2025-01-01T00:00:00Z', principal: { kind: 'user', name: 'v' } });
    expect(client.status).toMatchObject({ connected: true, updating: true, currentAt: 3_000 });
    // one answer, and one refusal that answers its message (a scope no longer allowed): current again
    sockets[1]!.receive({ type: 'alerts', alerts: [] });
    sockets[1]!.receive({ type: 'error', code: 'forbidden_scope', message: 'not on its boards' });
    expect(client.status).toMatchObject({ updating: false });
    // a board edited while connected awaits nothing: what stays subscribed is still current
    client.subscribe([{ window: 'today', scopes: ['center', 'queue:b'] }]);
    expect(client.status.updating).toBe(false);
  });

  it('sends the subscriptions again when their answers do not come, rather than say "updating" for ever', () => {
    const { t, sockets, client } = setup({ silenceMs: 60_000 });
    client.subscribe([{ window: 'today', scopes: ['center'] }]);
    client.start();
    const s = sockets[0]!;
    s.open();
    const subscribes = () => s.sent.filter((m) => (m as { type: string }).type === 'subscribe').length;
    expect(subscribes()).toBe(1);
    s.receive({ type: 'pong', id: '1', serverTime: '2025-01-01T00:00:00Z' }); // the socket lives; no answer comes
    t.advance(14_999);
    expect(subscribes()).toBe(1);
    // 15 s unanswered, then the resubscribe's first pause (500 ms with random 0)
    t.advance(501);
    expect(subscribes()).toBe(2);
    s.receive({ type: 'alerts', alerts: [] });
    expect(client.status.updating).toBe(false);
    t.advance(60_000);
    expect(subscribes()).toBe(2); // answered: nothing more
  });

  it('backs off a subscription that keeps failing even while the others are answered', () => {
    const { t, sockets, client } = setup({ silenceMs: 60_000 });
    client.subscribe([{ window: 'today', scopes: ['center'] }, { window: '1h', scopes: ['center'] }]);
    client.start();
    const s = sockets[0]!;
    s.open();
    const unavailable: ServerMessage = { type: 'error', code: 'unavailable', message: 'cannot be read right now' };
    const sendings = () => s.sent.filter((m) => (m as { type: string }).type === 'unsubscribe').length;
    // every sending: the 'today' one is answered, the '1h' one refused; the retries wait 0.5, 1, 2, 4, 8 s (random 0)
    const waits: number[] = [];
    let last = t.now();
    s.receive({ type: 'alerts', alerts: [] });
    s.receive(unavailable);
    for (let i = 0; i < 5; i++) {
      const n = sendings();
      while (sendings() === n && t.now() - last < 60_000) t.advance(10);
      waits.push(t.now() - last);
      last = t.now();
      s.receive({ type: 'alerts', alerts: [] });
      s.receive(unavailable);
    }
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
    expect(client.status.updating).toBe(true);
  });

  it('backs off further while the server stays away and starts over once it answers', () => {
    const { t, sockets, client } = setup();
    client.start();
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = t.now();
      const n = sockets.length;
      sockets[n - 1]!.drop();
      while (sockets.length === n) t.advance(10);
      gaps.push(t.now() - before);
    }
    expect(gaps).toEqual([250, 500, 1000, 2000, 4000]);
    sockets.at(-1)!.open();
    sockets.at(-1)!.receive(snapshot);
    sockets.at(-1)!.drop();
    const before = t.now();
    const n = sockets.length;
    while (sockets.length === n) t.advance(10);
    expect(t.now() - before).toBe(250);
  });

  it('starts the backoff over only once the subscriptions are answered, not at a refusal sent before a close', () => {
    // The server refuses a socket over STREAM_MAX_SOCKETS_PER_CREDENTIAL with an error, then closes it (1008). Reset at
    // that first message, the backoff stayed at its first step: 2.6 attempts a second for ever.
    const { t, sockets, client } = setup();
    client.subscribe([{ window: 'today', scopes: ['center'] }]);
    client.start();
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = sockets.at(-1)!;
      s.open();
      s.receive({ type: 'welcome', serverTime: '2025-01-01T00:00:00Z' } as ServerMessage);
      s.receive({ type: 'error', code: 'internal', message: 'something failed' } as ServerMessage);
      const before = t.now();
      const n = sockets.length;
      s.drop();
      while (sockets.length === n) t.advance(10);
      gaps.push(t.now() - before);
    }
    expect(gaps).toEqual([250, 500, 1000, 2000]); // growing, as for a server away
    // answered (alerts ends an answer): healthy, the next drop starts over
    sockets.at(-1)!.open();
    sockets.at(-1)!.receive({ type: 'alerts', alerts: [] } as unknown as ServerMessage);
    const before = t.now();
    const n = sockets.length;
    sockets.at(-1)!.drop();
    while (sockets.length === n) t.advance(10);
    expect(t.now() - before).toBe(250);
  });

  it('waits a minute after a close that would be refused again at once: too many sockets (1008), revoked (4401)', () => {
    for (const code of [1008, 4401]) {
      const { t, sockets, client } = setup();
      client.start();
      sockets[0]!.open();
      sockets[0]!.drop(code);
      t.advance(59_990);
      expect(sockets, `${code}`).toHaveLength(1);
      t.advance(10);
      expect(sockets, `${code}`).toHaveLength(2);
      // any other close: the usual backoff
      sockets[1]!.open();
      sockets[1]!.drop(1006);
      t.advance(500);
      expect(sockets, `${code}`).toHaveLength(3);
    }
  });

  it('connects at once when asked after a refusal (signed in again), and only when no socket is there', () => {
    const { t, sockets, client } = setup();
    client.subscribe([{ window: 'today', scopes: ['center'] }]);
    client.start();
    sockets[0]!.open();
    client.reconnectNow(); // connected: nothing to do
    expect(sockets).toHaveLength(1);
    sockets[0]!.drop(4401);
    t.advance(1_000);
    expect(sockets).toHaveLength(1); // waiting out the minute
    client.reconnectNow();
    expect(sockets).toHaveLength(2);
    client.reconnectNow(); // connecting already: not a second socket
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(sockets[1]!.sent).toContainEqual(expect.objectContaining({ type: 'subscribe' }));
    for (let i = 0; i < 60; i++) {
      t.advance(1_000);
      sockets[1]!.receive(snapshot); // a live socket: only a left-over attempt would open another
    }
    expect(sockets).toHaveLength(2); // the minute's attempt was not made as well
    client.stop();
  });

  it('pings, and replaces a socket that went silent (a half-open connection)', () => {
    const { t, sockets, client } = setup();
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot);
    t.advance(1_000);
    expect(sockets[0]!.sent).toContainEqual({ type: 'ping', id: '1' });
    t.advance(3_000); // nothing heard for > silenceMs
    expect(client.status.connected).toBe(false);
    t.advance(250);
    expect(sockets).toHaveLength(2);
  });

  it('gives up on a socket stuck connecting and reconnects through the backoff', () => {
    const { t, sockets, client } = setup({ connectMs: 5_000 });
    client.start();
    t.advance(4_999);
    expect(sockets[0]!.readyState).toBe(0); // still connecting: not given up early
    t.advance(1);
    expect(sockets[0]!.readyState).toBe(3); // closed by the client, not by the browser
    expect(client.status.connected).toBe(false);
    expect(sockets).toHaveLength(1);
    t.advance(250); // first backoff with random 0
    expect(sockets).toHaveLength(2);
    // the next one is stuck too: given up again, and the backoff grows
    t.advance(5_000);
    expect(sockets[1]!.readyState).toBe(3);
    t.advance(499);
    expect(sockets).toHaveLength(2);
    t.advance(1);
    expect(sockets).toHaveLength(3);
    // a late handshake on a socket given up is ignored: it neither subscribes nor passes for a connection
    sockets[0]!.open();
    sockets[0]!.receive(snapshot);
    expect(sockets[0]!.sent).toEqual([]);
    expect(client.status.connected).toBe(false);
  });

  it('leaves a socket that opened in time to the silence watchdog', () => {
    const { t, sockets, client } = setup({ connectMs: 5_000 });
    client.start();
    t.advance(4_000);
    sockets[0]!.open();
    for (let i = 0; i < 10; i++) {
      t.advance(1_000);
      sockets[0]!.receive(snapshot);
    }
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.readyState).toBe(1);
    expect(client.status.connected).toBe(true);
  });

  it('stops cleanly while a socket is still connecting: no connect timer left behind', () => {
    const { t, sockets, client } = setup({ connectMs: 5_000 });
    client.start();
    client.stop();
    expect(t.pending()).toBe(0);
    t.advance(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('says values are live only while connected and recently heard from', () => {
    expect(isLive({ connected: true, lastMessageAt: 1_000 }, 5_000, 8_000)).toBe(true);
    expect(isLive({ connected: true, lastMessageAt: 1_000 }, 10_000, 8_000)).toBe(false);
    expect(isLive({ connected: false, lastMessageAt: 9_000 }, 10_000, 8_000)).toBe(false);
    expect(isLive({ connected: true, lastMessageAt: null }, 10_000, 8_000)).toBe(false);
  });

  it('says since when the values on screen were last current: the earlier of the connection and the figures', () => {
    const status = (over: Partial<LiveStatus>): LiveStatus => ({ connected: true, lastMessageAt: 100_000, attempts: 0, revoked: null, updating: false, currentAt: 100_000, ...over });
    // the server's clock is 5 s ahead of the TV's
    const clock = { now: 101_000, skew: 5_000, staleMs: 8_000 };
    expect(staleSince(status({}), undefined, clock)).toBeNull(); // live
    // the worker stopped at 60,000 (server clock): its last tick, though the socket is current
    expect(staleSince(status({}), 60_000, clock)).toBe(60_000);
    expect(staleSince(status({}), null, clock)).toBe('unknown');
    // then the socket dropped too, at 100,000 (TV clock): still 60,000, the earlier
    expect(staleSince(status({ connected: false }), 60_000, clock)).toBe(60_000);
    // only the socket dropped: when it was last current, on the server's clock
    expect(staleSince(status({ connected: false }), undefined, clock)).toBe(105_000);
    // reconnected, answers not in yet: as of before the drop
    expect(staleSince(status({ updating: true, currentAt: 90_000, lastMessageAt: 100_500 }), undefined, clock)).toBe(95_000);
    // nothing ever current
    expect(staleSince(status({ updating: true, currentAt: null }), undefined, clock)).toBe('connecting');
    expect(staleSince(status({ connected: false, currentAt: null }), 60_000, clock)).toBe('connecting');
  });

  it('stops cleanly: no timer left behind', () => {
    const { t, sockets, client } = setup();
    client.start();
    sockets[0]!.open();
    client.stop();
    expect(t.pending()).toBe(0);
    sockets[0]!.drop();
    t.advance(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('splits subscriptions at the protocol limit of 200 scopes per message', () => {
    const scopes = Array.from({ length: 450 }, (_, i) => `queue:q${i}`);
    const msgs = subscribeMessages([{ window: '15m', scopes }]);
    expect(msgs.map((m) => (m.type === 'subscribe' ? m.scopes.length : 0))).toEqual([200, 200, 50]);
  });
});
