// A crowd of wallboard screens for the live benchmark, in a process of its own (so the API process does not also pay
// for the clients): opens N websockets, subscribes each to today's center figures, then reports on stdout, as JSON
// lines, when sampled sockets receive a new `offered` count (epoch ms, high resolution).
//   node --import tsx scripts/bench/live-clients.ts <ws url> <token> <sockets>
//   → {"ready":true,"baseline":123}   then   {"s":<socket index>,"v":<offered>,"t":<epoch ms>} …
import { createRequire } from 'node:module';

interface Ws {
  on(event: 'message', l: (data: Buffer) => void): void;
  on(event: 'open', l: () => void): void;
  on(event: 'error' | 'close', l: (e?: unknown) => void): void;
  send(data: string): void;
}
const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string, opts: object) => Ws };

const [url, token, countText] = process.argv.slice(2);
const count = Number(countText);
const now = () => performance.timeOrigin + performance.now();
const sampleEvery = Math.max(1, Math.ceil(count / 20));
const sampled = (i: number) => i % sampleEvery === 0 || i === count - 1;

let closed = 0;
async function open(i: number): Promise<number> {
  const ws = new WebSocket(url!, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    let last = -1;
    ws.on('error', reject);
    ws.on('close', () => {
      closed++;
      process.stderr.write(`  socket ${i} closed (${closed} so far)\n`);
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', window: 'today', scopes: ['center'] })));
    ws.on('message', (data) => {
      // Every socket decodes the frame (ws does); only sampled ones parse and report.
      if (last >= 0 && !sampled(i)) return;
      const m = JSON.parse(data.toString()) as { type: string; values?: { offered?: { value: number } } };
      if (m.type !== 'snapshot') return;
      const v = m.values?.offered?.value ?? 0;
      if (last < 0) {
        last = v;
        resolve(v);
        return;
      }
      if (v !== last) {
        last = v;
        process.stdout.write(`${JSON.stringify({ s: i, v, t: now() })}\n`);
      }
    });
  });
}

// Connect in waves of 100, as screens coming back after a network blip would.
let baseline = 0;
for (let i = 0; i < count; i += 100) {
  const values = await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => open(i + j)));
  baseline = Math.max(baseline, ...values);
}
process.stdout.write(`${JSON.stringify({ ready: true, baseline })}\n`);
