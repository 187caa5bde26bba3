// SPDX-License-Identifier: Apache-2.0
/**
 * Bad input and failing vendors: every case gets its typed error, the right status and an audit
 * record; none crashes the process, hangs, or leaks a stack trace.
 */
import { connect as tlsConnect } from 'node:tls';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: FakeVendorServer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startFakeOpenAiServer({ apiKey: 'k' });
  gw = await startTestGateway({
    env: { UPSTREAM_KEY: 'k' },
    config: {
      server: { host: '127.0.0.1', port: 0, maxBodyBytes: 4096, tls: { enabled: true, certFile: 'tls/cert.pem', keyFile: 'tls/key.pem' } },
      endpoints: [
        { id: 'echo', kind: 'echo', models: [{ name: 'echo' }] },
        { id: 'vllm', kind: 'openai-compatible', baseUrl: `${upstream.url}/v1`, apiKey: 'env:UPSTREAM_KEY', selfHosted: true, maxRetries: 0, timeoutMs: 300, models: [{ name: 'slow' }] },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

interface Answer {
  readonly status: number;
  readonly requestId: string;
  readonly text: string;
  readonly json: { error?: { code?: string; type?: string; message?: string; param?: string | null } };
}

async function call(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await request(`${gw.baseUrl}${path}`, {
    method: (init.method ?? 'POST') as 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.body.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // streams are not JSON
  }
  return { status: response.statusCode, requestId: String(response.headers['x-request-id'] ?? ''), text, json };
}

async function auditOf(requestId: string): Promise<{ stage: string; outcome: string; body: string }[]> {
  return gw.gateway.store.db.selectFrom('audit_events').select(['stage', 'outcome', 'body']).where('request_id', '=', requestId).orderBy('seq').execute();
}

const chat = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra });

describe('bad input', () => {
  const cases: [string, () => Promise<Answer>, number, string][] = [
    ['malformed JSON', () => call('/chat/completions', { body: '{"model": "echo", "messages": [' }), 400, 'invalid_json'],
    ['a wrong type', () => call('/chat/completions', { body: JSON.stringify({ model: 'echo', messages: 'hello' }) }), 400, 'invalid_request'],
    ['an unknown field', () => call('/chat/completions', { body: chat('echo', { patient_name: 'x' }) }), 400, 'invalid_request'],
    ['an oversized body', () => call('/chat/completions', { body: chat('echo', { user: 'x'.repeat(8192) }) }), 413, 'request_too_large'],
    ['a non-JSON content type', () => call('/chat/completions', { body: 'model=echo', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type'],
    ['an unknown model', () => call('/chat/completions', { body: chat('gpt-17') }), 404, 'model_not_found'],
    ['no key', () => call('/chat/completions', { body: chat('echo'), headers: { authorization: '' } }), 401, 'unauthenticated'],
    ['a malformed key', () => call('/chat/completions', { body: chat('echo'), headers: { authorization: 'Bearer sk-not-ours' } }), 401, 'unauthenticated'],
    ['a malformed patient header', () => call('/chat/completions', { body: chat('echo'), headers: { 'x-phigate-patient': 'Jane Doe' } }), 400, 'invalid_header'],
    ['a patient without a purpose', () => call('/chat/completions', { body: chat('echo'), headers: { 'x-phigate-patient': 'Patient/123' } }), 400, 'purpose_required'],
  ];

  for (const [name, send, status, code] of cases) {
    it(`answers ${name} with ${status} ${code} and an audit record`, async () => {
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(answer.json.error?.code).toBe(code);
      expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
      expect(await auditOf(answer.requestId)).toEqual([expect.objectContaining({ stage: 'refused', outcome: 'denied' })]);
    });
  }

  it('answers an unknown route and a wrong method in the same error shape', async () => {
    const missing = await call('/nothing-here', { method: 'GET' });
    expect(missing.status).toBe(404);
    expect(missing.json.error?.code).toBe('route_not_found');
  });

  it('keeps serving after all of it', async () => {
    expect((await call('/chat/completions', { body: chat('echo') })).status).toBe(200);
  });
});

describe('failing vendors', () => {
  it('times out a vendor that never answers: 504 provider_timeout, audited as a failed disclosure', async () => {
    upstream.script({ hang: true });
    const answer = await call('/chat/completions', { body: chat('slow') });
    expect(answer.status).toBe(504);
    expect(answer.json.error?.code).toBe('provider_timeout');
    const rows = await auditOf(answer.requestId);
    expect(rows.map((r) => [r.stage, r.outcome])).toEqual([
      ['disclosure', 'pending'],
      ['completed', 'failure'],
    ]);
  });

  it('ends a stream broken mid-way with an error event and no [DONE]', async () => {
    upstream.script({ text: 'a long enough answer to stream', streamErrorAfterFrames: 2 });
    const answer = await call('/chat/completions', { body: chat('slow', { stream: true }) });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"error"');
    expect(answer.text).not.toContain('[DONE]');
    const rows = await auditOf(answer.requestId);
    expect(rows.at(-1)).toMatchObject({ stage: 'completed', outcome: 'failure' });
  });

  it('cancels the vendor call when the client disconnects mid-stream', async () => {
    upstream.script({ text: 'a stream that stalls after two frames', stallAfterFrames: 2 });
    const controller = new AbortController();
    const response = await request(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      dispatcher: gw.dispatcher,
      signal: controller.signal,
      headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
      body: chat('slow', { stream: true }),
    });
    const reader = response.body[Symbol.asyncIterator]();
    await reader.next();
    controller.abort();
    await upstream.waitForClientClose(1);
    expect(upstream.clientCloses).toBeGreaterThanOrEqual(1);
  });
});

describe('transport', () => {
  it('refuses TLS below 1.2 and negotiates TLS 1.3 by default', async () => {
    const { port } = gw.gateway;
    const handshake = (options: { maxVersion?: 'TLSv1.1' }) =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, ca: gw.ca, servername: 'localhost', ...options }, () => {
          resolve(socket.getProtocol() ?? '');
          socket.end();
        });
        socket.on('error', () => resolve('refused'));
      });
    expect(await handshake({ maxVersion: 'TLSv1.1' })).toBe('refused');
    expect(await handshake({})).toBe('TLSv1.3');
  });

  it('exposes Prometheus metrics without request content', async () => {
    await call('/chat/completions', { body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'CANARY-METRICS-7781' }] }) });
    const metrics = await request(`${gw.baseUrl.replace(/\/v1$/, '')}/metrics`, { dispatcher: gw.dispatcher });
    const text = await metrics.body.text();
    expect(text).toContain('phigate_http_requests_total{route="/v1/chat/completions",status="200"}');
    expect(text).not.toContain('CANARY-METRICS-7781');
  });

  it('answers health and readiness probes', async () => {
    const base = gw.baseUrl.replace(/\/v1$/, '');
    expect((await request(`${base}/healthz`, { dispatcher: gw.dispatcher })).statusCode).toBe(200);
    expect((await request(`${base}/readyz`, { dispatcher: gw.dispatcher })).statusCode).toBe(200);
  });
});
