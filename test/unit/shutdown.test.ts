import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log.ts';
import { REPEAT_MS, Shutdown } from '../../server/shutdown.ts';

/** A shutdown whose only step waits until released, driven by a fake signal source and clock. */
function setUp() {
  const exits: number[] = [];
  const order: string[] = [];
  let release!: () => void;
  const shutdown = new Shutdown(createLogger({ LOG_LEVEL: 'fatal' }), 60_000, (code) => void exits.push(code));
  shutdown.add('embedded services', async () => {
    await new Promise<void>((r) => (release = r));
    order.push('embedded services');
  });
  shutdown.add('http server', async () => void order.push('http server'));
  const signals = new EventEmitter();
  let clock = 1_000_000;
  shutdown.onSignals(signals, () => clock);
  return { exits, order, signals, release: () => release(), tick: (ms: number) => (clock += ms) };
}

describe('shutdown on signals', () => {
  it('takes one Ctrl-C delivered twice (terminal, then npm or tsx passing it on) as one: every step runs, in order', async () => {
    const s = setUp();
    s.signals.emit('SIGINT');
    s.tick(30);
    s.signals.emit('SIGINT'); // the relayed copy, 30 ms later
    await new Promise((r) => setImmediate(r));
    expect(s.exits).toEqual([]); // not cut short
    s.release();
    await new Promise((r) => setImmediate(r));
    expect(s.order).toEqual(['http server', 'embedded services']);
    expect(s.exits).toEqual([0]);
  });

  it('exits at once on a second signal sent later (someone insisting)', async () => {
    const s = setUp();
    s.signals.emit('SIGTERM');
    s.tick(REPEAT_MS);
    s.signals.emit('SIGINT');
    expect(s.exits).toEqual([130]);
    expect(s.order).toEqual(['http server']); // the waiting step never finished
  });
});

describe('shutdown past its deadline', () => {
  it('still stops the embedded servers (a `last` step) when an earlier step hangs, then exits 1', async () => {
    const exits: number[] = [];
    const order: string[] = [];
    const shutdown = new Shutdown(createLogger({ LOG_LEVEL: 'fatal' }), 100, (code) => void exits.push(code));
    shutdown.add('embedded services', async () => void order.push('embedded services'), { last: true });
    shutdown.add('workers', () => new Promise<void>(() => {})); // waits for a Redis that died: never ends
    shutdown.add('http server', async () => void order.push('http server'));
    void shutdown.run('redis exited', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['http server', 'embedded services']);
    expect(exits).toEqual([1]);
  });

  it('does not run a `last` step twice, nor exit twice, when the deadline comes while it runs', async () => {
    const exits: number[] = [];
    let runs = 0;
    const shutdown = new Shutdown(createLogger({ LOG_LEVEL: 'fatal' }), 50, (code) => void exits.push(code));
    shutdown.add('embedded services', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 150)); // still stopping at the deadline
    }, { last: true });
    await shutdown.run('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(1);
    expect(exits).toEqual([1]);
  });
});
