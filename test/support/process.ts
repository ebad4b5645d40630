// Runs `server/main.ts` as a child process, as `npm start` does, and waits for it to be ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A time zone where it is now between noon and 1 p.m. (`Etc/GMT-3` is UTC+3), so a test that posts events "a minute
 * ago" and reads today's figures never straddles the center's midnight, whenever the suite runs.
 */
export function middayZone(now = Date.now()): string {
  const hours = 12 - new Date(now).getUTCHours(); // the offset from UTC that makes it 12:xx, from −11 to +12
  return hours === 0 ? 'Etc/GMT' : `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`; // POSIX sign: GMT-3 is UTC+3
}

export interface RunningNabiz {
  child: ChildProcess;
  baseUrl: string;
  output: string[];
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `server/main.ts` with `args` (and CENTER_TZ = middayZone() unless `env` sets it) and waits until it is ready: its /readyz answers 200, or with `--only=worker`
 * (no HTTP server) until it logs that the KPI worker started (at LOG_LEVEL info). With `processGroup`, it leads a
 * process group of its own, as a shell's foreground job does: `process.kill(-child.pid, 'SIGINT')` is then a
 * terminal's Ctrl-C.
 */
export async function startNabiz(env: Record<string, string>, args: string[] = [], opts: { processGroup?: boolean } = {}): Promise<RunningNabiz> {
  const workerOnly = args.includes('--only=worker');
  if (workerOnly) env = { ...env, LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], {
    cwd: ROOT,
    // the center's day in the middle of its day unless the test chooses (middayZone)
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', CENTER_TZ: middayZone(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.processGroup ?? false,
  });
  // Whole lines (a chunk of a pipe may end mid-line), and the exit once the output is all read ('close', not 'exit').
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => line && output.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ok = workerOnly
      ? output.some((l) => l.includes('kpi worker started'))
      : await fetch(`${baseUrl}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nabiz did not become ready:\n${output.slice(-30).join('\n')}`);
    }
    await sleep(200);
  }
  return {
    child,
    baseUrl,
    output,
    exited,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
