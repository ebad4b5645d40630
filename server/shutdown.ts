// Ordered graceful shutdown: steps run in the reverse order of registration (last started, first stopped), under
// one deadline after which the process exits anyway, once the steps marked `last` (the embedded servers) have run: a
// step hung on a server that died (the workers' close when Redis is gone) must not leave the others unstopped. The
// deadline timer is unref'd so it never keeps a process up.
import type { Log } from './log.ts';
import { within } from './within.ts';

/** How long a `last` step may take when it runs past the deadline. */
const LAST_STEP_MS = 5_000;

/** A signal repeated within this long is the first one delivered again, not a second request. */
export const REPEAT_MS = 1_000;

export class Shutdown {
  private readonly steps: Array<{ name: string; run: () => Promise<void>; last: boolean; started: boolean }> = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly log: Log,
    private readonly deadlineMs: number,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  /** Registers a step; steps are run last-registered first. A `last` step also runs when the deadline passes first. */
  add(name: string, run: () => Promise<void>, opts: { last?: boolean } = {}): void {
    this.steps.push({ name, run, last: opts.last === true, started: false });
  }

  /** Runs every step once, in reverse order, logging failures and carrying on; then exits with `code`. */
  run(reason: string, code = 0): Promise<void> {
    this.running ??= (async () => {
      this.log.info({ reason }, 'shutting down');
      let pastDeadline = false;
      const timer = setTimeout(() => {
        pastDeadline = true;
        const pending = this.steps.filter((s) => s.last && !s.started).reverse();
        this.log.error({ deadlineMs: this.deadlineMs, stillToStop: pending.map((s) => s.name) }, 'shutdown deadline passed; exiting now');
        void (async () => {
          for (const step of pending) {
            step.started = true;
            await within(LAST_STEP_MS, step.run()).then(
              () => this.log.info({ step: step.name }, 'stopped'),
              (err: unknown) => this.log.error({ step: step.name, err }, 'shutdown step failed'),
            );
          }
          this.exit(1);
        })();
      }, this.deadlineMs);
      timer.unref();
      let failed = false;
      for (const step of [...this.steps].reverse()) {
        if (step.started) continue;
        step.started = true;
        try {
          await step.run();
          this.log.info({ step: step.name }, 'stopped');
        } catch (err) {
          failed = true;
          this.log.error({ step: step.name, err }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      if (pastDeadline) return; // the deadline's own stop exits
      this.exit(failed && code === 0 ? 1 : code);
    })();
    return this.running;
  }

  /**
   * Shuts down on SIGINT/SIGTERM; a second signal exits at once. One Ctrl-C often arrives twice within milliseconds
   * (the terminal signals the whole process group, and npm and tsx also pass it on to their child): a repeat within
   * REPEAT_MS is that same signal, and must not cut the shutdown short (it would leave redis-server running).
   */
  onSignals(target: Pick<NodeJS.EventEmitter, 'on'> = process, now: () => number = Date.now): void {
    let firstAt: number | undefined;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      target.on(signal, () => {
        if (firstAt === undefined) {
          firstAt = now();
          void this.run(signal);
        } else if (now() - firstAt >= REPEAT_MS) {
          this.log.warn({ signal }, 'second signal: exiting without finishing the shutdown');
          this.exit(130);
        }
      });
    }
  }
}
