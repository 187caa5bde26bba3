// SPDX-License-Identifier: Apache-2.0
// A stand-in for bin/phigate.js that keeps the CLI contract the benchmark relies on, so the
// harness's phigate wiring is tested without the real gateway:
//   init --home DIR --yes --json  -> creates DIR/phigate.yaml, prints {"baseUrl","apiKey","caCertPath"}
//   serve --home DIR              -> reads DIR/phigate.yaml, serves GET /healthz and forwards
//                                    authenticated POST /v1/chat/completions to endpoints[0]
// FAKE_PHIGATE_FAIL=init makes init fail the way a crashing CLI does.
import { Buffer } from 'node:buffer';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';

const [command, ...rest] = process.argv.slice(2);
const home = rest[rest.indexOf('--home') + 1];
const API_KEY = 'pk-fake-bench-key';

if (command === 'init') {
  if (process.env.FAKE_PHIGATE_FAIL === 'init') throw new Error('fake init failure');
  mkdirSync(home, { recursive: false });
  writeFileSync(join(home, 'phigate.yaml'), 'server:\n  port: 8443\n  tls:\n    enabled: true\nendpoints:\n  - id: echo\n    kind: echo\n    models: [{ name: echo }]\n');
  console.log('initialised');
  console.log(JSON.stringify({ baseUrl: 'https://127.0.0.1:8443', apiKey: API_KEY, caCertPath: join(home, 'tls', 'cert.pem') }));
} else if (command === 'serve') {
  const config = parse(readFileSync(join(home, 'phigate.yaml'), 'utf8'));
  if (config.server.tls.enabled !== false) throw new Error('the fake serves plain HTTP only');
  const upstream = config.endpoints[0].baseUrl;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') return res.writeHead(200).end('ok');
    if (req.headers.authorization !== `Bearer ${API_KEY}`) return res.writeHead(401).end('{"error":{"code":"unauthenticated"}}');
    const parts = [];
    req.on('data', (part) => parts.push(part));
    req.on('end', async () => {
      const answer = await globalThis.fetch(`${upstream}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(parts) });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  server.listen(config.server.port, config.server.host);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  console.error(`unknown command ${command}`);
  process.exit(2);
}
