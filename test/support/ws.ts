// A small websocket client for tests and benchmarks, on the `ws` package @fastify/websocket already depends on.
import { createRequire } from 'node:module';
import type { ServerMessage } from '../../server/live/protocol.ts';

/** The parts of a `ws` client we use. */
export interface WsClient {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'open', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'unexpected-response', listener: (req: { destroy(): void }, res: { statusCode: number }) => void): this;
  /** The TCP socket (pause it to play a client that stops reading). */
  _socket: { pause(): void; resume(): void };
}
type WsCtor = new (url: string, opts?: { headers?: Record<string, string>; perMessageDeflate?: boolean }) => WsClient;

const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: WsCtor };

export interface LiveTestClient {
  ws: WsClient;
  messages: ServerMessage[];
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** Resolves with the first message (already received or to come) matching `pred`, after index `from`. */
  next<T extends ServerMessage['type']>(type: T, pred?: (m: Extract<ServerMessage, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
}

export function openSocket(url: string, headers: Record<string, string> = {}): Promise<LiveTestClient> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  const messages: ServerMessage[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as ServerMessage);
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => {
    resolve({ code, reason: reason.toString() });
    for (const w of [...waiters]) w();
  }));
  const client: LiveTestClient = {
    ws,
    messages,
    closed,
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    next(type, pred = () => true, timeoutMs = 10_000) {
      type M = Extract<ServerMessage, { type: typeof type }>;
      return new Promise<M>((resolve, reject) => {
        const check = () => {
          const found = messages.find((m) => m.type === type && pred(m as M)) as M | undefined;
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${type} message within ${timeoutMs} ms; got: ${messages.map((m) => m.type).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve(client));
    ws.on('error', reject);
    ws.on('unexpected-response', (req, res) => {
      req.destroy();
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode }));
    });
  });
}
