// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { sealOutbound } from '../../policy/outbound.js';
import { describeProviderContract } from '../provider.contract.js';
import { toModelMap } from '../shared/common.js';
import { collectStream } from '../testing/collect-stream.js';
import { startFakeVertexServer } from '../testing/fake-vertex-server.js';
import { createVertexProvider } from './vertex-provider.js';
import { toGeminiBody } from './vertex-translate.js';

async function target(options: { timeoutMs?: number | undefined; maxRetries?: number | undefined } = {}) {
  const server = await startFakeVertexServer();
  const provider = createVertexProvider({
    id: 'vertex-test',
    project: 'fake-project',
    location: 'us-central1',
    baseUrl: server.url,
    serviceAccountKey: server.serviceAccountKey,
    tokenUrl: server.tokenUrl,
    models: toModelMap([{ name: 'gemini', upstream: 'gemini-2.5-flash' }, { name: 'embed', upstream: 'text-embedding-005' }]),
    http: { connections: 4, timeoutMs: options.timeoutMs ?? 5_000, maxRetries: options.maxRetries ?? 2, retryBaseDelayMs: 5 },
  });
  return { provider, server, model: 'gemini', upstreamModel: 'gemini-2.5-flash' };
}

describeProviderContract('vertex', target, { embeddings: true, responseFormat: 'native' });

describe('vertex specifics', () => {
  const call = () => ({ signal: new AbortController().signal, requestId: 'req-1', deadlineMs: Date.now() + 10_000 });
  const request = sealOutbound({ model: 'gemini', messages: [{ role: 'user' as const, content: 'hi' }] }, 'vertex-test', 'phi_free');

  it('exchanges a signed JWT once and reuses the token; routes per project and location', async () => {
    const { provider, server } = await target();
    try {
      await provider.chat(request, call());
      await collectStream(provider.chatStream(request, call()));
      expect(server.tokenRequests).toHaveLength(1);
      expect(server.requests[0]?.path).toBe('/v1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent');
      expect(server.requests[1]?.path).toBe('/v1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
      expect(server.requests[0]?.headers.authorization).toMatch(/^Bearer ya29\.fake-/);
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('fails with provider_unavailable when the token endpoint refuses the key', async () => {
    const { server } = await target();
    const other = await startFakeVertexServer({ uniqueKey: true });
    // A key the server did not issue: the assertion signature does not verify.
    const provider = createVertexProvider({
      id: 'vertex-test', project: 'p', location: 'us-central1', baseUrl: server.url, serviceAccountKey: other.serviceAccountKey, tokenUrl: server.tokenUrl,
      models: toModelMap([{ name: 'gemini' }]), http: { connections: 1, timeoutMs: 5_000, maxRetries: 2, retryBaseDelayMs: 5 },
    });
    try {
      await expect(provider.chat(request, call())).rejects.toMatchObject({ code: 'provider_unavailable', detail: { reason: 'token_exchange_refused' } });
      expect(server.requests).toHaveLength(0);
      expect(server.tokenRequests).toHaveLength(1);
    } finally {
      await provider.close();
      await server.close();
      await other.close();
    }
  });

  it('names function responses after the call they answer and maps tool_choice', () => {
    const body = toGeminiBody({
      model: 'g',
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 'call_9', content: 'result' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'q' }] },
      { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { x: 1 } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { content: 'result' } } }] },
    ]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } });
  });
});
