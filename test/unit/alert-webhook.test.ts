// ALERT_WEBHOOK_URL may hold credentials (https://user:password@host/…): they are sent as a Basic Authorization header,
// never put in the request's URL (fetch refuses such a URL, and its error quotes it) nor in a log line.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertWebhook, type WebhookPayload } from '../../server/alerts/webhook.ts';
import { capturedLog } from '../support/context.ts';

const QUIET: WebhookPayload = { type: 'source', transition: 'quiet', at: '2026-11-25T04:15:00.000Z', source: 'acd', lastEventAt: '2026-11-25T04:00:00.000Z', quietAfterMinutes: 15 };

let server: Server | undefined;
afterEach(() => server?.close());

/** A receiver answering `status`, keeping each request's path and Authorization header. */
async function receiver(status: number): Promise<{ port: number; seen: Array<{ path: string; authorization: string | undefined }> }> {
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  server = createServer((req: IncomingMessage, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    req.resume().on('end', () => res.writeHead(status).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, seen };
}

describe('alert webhook with credentials in its URL', () => {
  it('sends them as a Basic Authorization header and delivers', async () => {
    const { port, seen } = await receiver(200);
    const { log, lines } = capturedLog('debug');
    const hook = new AlertWebhook({ url: `http://hook-user:s3cr%40t@127.0.0.1:${port}/hook?x=1`, log });
    hook.send(QUIET);
    await hook.idle();
    expect(hook.delivered).toBe(1);
    // base64("hook-user:s3cr@t"): the password decoded from the URL's %40
    expect(seen).toEqual([{ path: '/hook?x=1', authorization: `Basic ${Buffer.from('hook-user:s3cr@t').toString('base64')}` }]);
    expect(lines.join('\n')).not.toContain('s3cr');
  });

  it('never logs them when a delivery fails', async () => {
    const { port } = await receiver(503);
    const { log, lines } = capturedLog('debug');
    // the receiver answers 503 to both attempts: each is logged, neither with the secrets
    const hook = new AlertWebhook({ url: `http://hook-user:s3cr%40t@127.0.0.1:${port}/hook?token=t0k3n`, log, maxAttempts: 2, baseDelayMs: 10 });
    hook.send(QUIET);
    await hook.idle();
    expect(hook.failed).toBe(1);
    expect(lines.filter((l) => l.includes('alert webhook'))).toHaveLength(2);
    expect(lines.join('\n')).not.toMatch(/s3cr|t0k3n/);
  });
});

describe('alert webhook refusals', () => {
  it("takes a receiver's 4xx as final, but retries 408, 429 and 5xx", async () => {
    for (const [status, attempts] of [[400, 1], [404, 1], [408, 3], [429, 3], [500, 3]] as const) {
      const { port, seen } = await receiver(status);
      const hook = new AlertWebhook({ url: `http://127.0.0.1:${port}/hook`, log: capturedLog('fatal').log, maxAttempts: 3, baseDelayMs: 5 });
      hook.send(QUIET);
      await hook.idle();
      expect([status, seen.length, hook.failed]).toEqual([status, attempts, 1]);
      server?.close();
    }
  });
});

describe('alert webhook at shutdown', () => {
  it('sends what is queued, once each (no retry), within its grace; what is left after it is dropped, logged', async () => {
    const ok = await receiver(200);
    const { log, lines } = capturedLog('warn');
    const hook = new AlertWebhook({ url: `http://127.0.0.1:${ok.port}/hook`, log, baseDelayMs: 60_000 });
    for (let i = 0; i < 3; i++) hook.send({ ...QUIET, at: `2026-11-25T04:1${i}:00.000Z` });
    await hook.close();
    // queued just before the stop: sent, not dropped
    expect([ok.seen.length, hook.delivered]).toEqual([3, 3]);
    expect(lines.filter((l) => l.includes('not sent at shutdown'))).toEqual([]);
    server?.close();

    // a receiver failing, its retry due in an hour: the stop makes it now, once, and close() does not wait the hour
    const down = await receiver(503);
    const failing = new AlertWebhook({ url: `http://127.0.0.1:${down.port}/hook`, log, baseDelayMs: 3_600_000 });
    failing.send(QUIET);
    await new Promise((r) => setTimeout(r, 200)); // its first attempt failed; it waits to retry
    expect(down.seen).toHaveLength(1);
    await failing.close(1_000);
    expect([down.seen.length, failing.failed]).toEqual([2, 1]);
  });
});
