// SPDX-License-Identifier: Apache-2.0
/**
 * Mock OpenAI-compatible upstream for the gateway benchmark, run as its own process.
 * `POST …/chat/completions` answers a fixed completion at once; with `"stream": true` it
 * answers a fixed SSE stream (role chunk, 8 content chunks, stop chunk, `[DONE]`) written
 * in two writes so a gateway sees a real stream. `GET /health` → 200. Binds 127.0.0.1.
 *
 * Usage: `node --import tsx bench/gateway/mock-upstream.ts [port]`; prints `LISTENING <port>`.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/** The text of the fixed completion; sanity checks look for it in every target's answer. */
export const MOCK_COMPLETION_TEXT = 'Hello! This is a fixed mock completion used for gateway benchmarks.';
/** Number of content chunks in the fixed stream. */
export const MOCK_STREAM_CHUNKS = 8;

const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-mock-0001',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: MOCK_COMPLETION_TEXT }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 14, total_tokens: 26 },
  }),
);

function chunk(delta: Record<string, string>, finish: string | null): string {
  const payload = { id: 'chatcmpl-mock-0001', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] };
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** The exact SSE bytes the mock streams. */
export function mockStream(): Buffer {
  const words = 'Hello! This is a fixed mock streamed completion for gateway benchmarks .'.split(' ');
  let sse = chunk({ role: 'assistant', content: '' }, null);
  for (let i = 0; i < MOCK_STREAM_CHUNKS; i++) sse += chunk({ content: (i > 0 ? ' ' : '') + (words[i % words.length] ?? '') }, null);
  sse += chunk({}, 'stop');
  sse += 'data: [DONE]\n\n';
  return Buffer.from(sse);
}

/** Starts the mock on 127.0.0.1; port 0 picks a free one. */
export function startMockUpstream(port: number): Promise<{ server: Server; port: number }> {
  const sse = mockStream();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      // A regex instead of JSON.parse keeps the mock's own cost out of the measurement.
      const stream = /"stream"\s*:\s*true/.test(Buffer.concat(parts).toString('utf8'));
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(sse.subarray(0, sse.length >> 1));
        res.end(sse.subarray(sse.length >> 1));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length }).end(completion);
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { server, port } = await startMockUpstream(Number(process.argv[2] ?? 0));
  console.log(`LISTENING ${port}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  }
}
