// SPDX-License-Identifier: Apache-2.0
/**
 * The floor for a Node gateway hop, run as its own process: read the whole body,
 * `JSON.parse`/`stringify` it (where a PHI gateway would inspect it), forward with an undici
 * `Pool`, pipe the answer back. No auth, no audit, no logging. Binds 127.0.0.1 and refuses
 * a non-loopback upstream.
 *
 * Usage: `node --import tsx bench/gateway/min-undici.ts <port> <upstreamOrigin>`; prints
 * `LISTENING <port>`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = new URL(process.argv[3] ?? 'http://127.0.0.1:18080');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(upstream.hostname)) {
  console.error('refusing a non-loopback upstream');
  process.exit(2);
}
const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1 });

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  const body = raw ? JSON.stringify(JSON.parse(raw) as unknown) : raw;
  const answer = await pool.request({
    path: req.url ?? '/',
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
  });
  const headers: Record<string, string> = { 'content-type': String(answer.headers['content-type'] ?? 'application/json') };
  const length = answer.headers['content-length'];
  if (length !== undefined) headers['content-length'] = String(length);
  res.writeHead(answer.statusCode, headers);
  answer.body.pipe(res);
}

const server = createServer((req, res) => {
  forward(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"upstream failed"}}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`LISTENING ${(server.address() as AddressInfo).port}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    void pool.close();
  });
}
