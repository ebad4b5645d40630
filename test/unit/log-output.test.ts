// Every log line reaches whoever reads the process's output, in order and whole, even when that reader falls behind
// and the process exits right after its last line (as a shutdown does): server/log.ts writes synchronously.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LINES = 5_000; // ~1.3 MB: far more than a pipe holds (64 kB), so the logger's writes wait for the reader

/** Runs the burst with a reader that starts reading only after `lateMs`; the lines' `i` as read, and the exit code. */
async function burst(lateMs: number): Promise<{ seen: number[]; unreadable: number; code: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/log-burst.ts', String(LINES)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.pause();
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await sleep(lateMs);
  child.stdout.resume();
  const code = await closed;
  const seen: number[] = [];
  let unreadable = 0;
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean)) {
    try {
      seen.push((JSON.parse(line) as { i: number }).i);
    } catch {
      unreadable++;
    }
  }
  return { seen, unreadable, code };
}

describe('the process log', () => {
  it('reaches a reader that comes late: every line, whole and in order, up to the last one before the exit', async () => {
    const { seen, unreadable, code } = await burst(1_500);
    expect(code).toBe(0);
    expect(unreadable).toBe(0);
    expect(seen).toEqual(Array.from({ length: LINES + 1 }, (_, i) => i));
  }, 30_000);
});
