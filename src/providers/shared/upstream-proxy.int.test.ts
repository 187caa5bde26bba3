// SPDX-License-Identifier: Apache-2.0
// Provider connections through an egress proxy: plain HTTP in absolute form (the proxy sees the
// request), HTTPS as a CONNECT tunnel (the proxy sees only host:port), streaming and pooled
// connections to the proxy, and an unreachable proxy failing the call as provider_unavailable.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEgressProxy, type EgressProxy } from '../../../test/support/egress-proxy.js';
import { createSelfSignedCertificate, loadTlsMaterial } from '../../http/tls.js';
import { sealOutbound } from '../../policy/outbound.js';
import { createOpenAiProvider } from '../openai-compatible/openai-provider.js';
import { collectStream } from '../testing/collect-stream.js';
import { startFakeOpenAiServer } from '../testing/fake-openai-server.js';
import type { FakeVendorServer } from '../testing/fake-server.js';
import { toModelMap } from './common.js';

let proxy: EgressProxy;
let vendor: FakeVendorServer;

beforeAll(async () => {
  proxy = await startEgressProxy();
  vendor = await startFakeOpenAiServer({ apiKey: 'k' });
});

afterAll(async () => {
  await proxy.close();
  await vendor.close();
});

const call = () => ({ signal: new AbortController().signal, requestId: 'r', deadlineMs: Date.now() + 5_000 });
const provider = (baseUrl: string, proxyUrl: string, maxRetries = 0) =>
  createOpenAiProvider({ id: 'o', kind: 'openai', baseUrl, apiKey: 'k', models: toModelMap([{ name: 'm' }]), http: { connections: 2, timeoutMs: 3_000, maxRetries, retryBaseDelayMs: 5, proxyUrl } });
const payload = (stream = false) => sealOutbound({ model: 'm', stream, messages: [{ role: 'user' as const, content: 'hello through the proxy' }] }, 'o', 'phi_free');

describe('egress proxy', () => {
  it('sends plain-HTTP vendor requests to the proxy in absolute form, plain and streamed', async () => {
    const p = provider(`${vendor.url}/v1`, proxy.url);
    try {
      const from = proxy.records.length;
      vendor.script({ text: 'ok' });
      expect((await p.chat(payload(), call())).choices[0]?.message.content).toBe('ok');
      vendor.script({ text: 'streamed through', chunkChars: 3 });
      const streamed = await collectStream(p.chatStream(payload(true), call()));
      expect(streamed.content).toBe('streamed through');
      const records = proxy.records.slice(from);
      expect(records.map((r) => [r.method, r.destination, r.path, r.tunnel])).toEqual([
        ['POST', new URL(vendor.url).host, '/v1/chat/completions', false],
        ['POST', new URL(vendor.url).host, '/v1/chat/completions', false],
      ]);
      expect(records[0]?.body).toContain('hello through the proxy');
      expect(vendor.requests.at(-1)?.headers.host).toBe(new URL(vendor.url).host);
    } finally {
      await p.close();
    }
  });

  it('tunnels HTTPS vendors with CONNECT: the proxy sees host and port, never the payload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phigate-proxy-tls-'));
    await createSelfSignedCertificate(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    const tls = loadTlsMaterial(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    let connections = 0;
    const server = createTlsServer({ cert: tls.cert, key: tls.key }, (socket) => socket.end());
    server.on('connection', () => (connections += 1));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const p = provider(`https://127.0.0.1:${port}/v1`, proxy.url);
    try {
      const from = proxy.records.length;
      // The self-signed certificate is not trusted, so the call fails after the tunnel reached the server.
      await expect(p.chat(payload(), call())).rejects.toMatchObject({ code: 'provider_unavailable' });
      expect(proxy.records.slice(from).map((r) => [r.method, r.destination, r.tunnel, r.body])).toEqual([['CONNECT', `127.0.0.1:${port}`, true, '']]);
      // The tunnel reached the vendor's TLS server.
      expect(connections).toBeGreaterThan(0);
    } finally {
      await p.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the call as provider_unavailable when the proxy cannot be reached, and never goes around it', async () => {
    const closed = await startEgressProxy();
    const url = closed.url;
    await closed.close();
    const p = provider(`${vendor.url}/v1`, url);
    const before = vendor.requests.length;
    try {
      await expect(p.chat(payload(), call())).rejects.toMatchObject({ code: 'provider_unavailable' });
      expect(vendor.requests.length).toBe(before);
    } finally {
      await p.close();
    }
  });
});
