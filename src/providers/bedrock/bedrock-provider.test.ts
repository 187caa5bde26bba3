// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { sealOutbound } from '../../policy/outbound.js';
import { describeProviderContract } from '../provider.contract.js';
import { toModelMap } from '../shared/common.js';
import { collectStream } from '../testing/collect-stream.js';
import { fakeAwsCredentials, startFakeBedrockServer } from '../testing/fake-bedrock-server.js';
import { createBedrockProvider } from './bedrock-provider.js';

const modelId = 'anthropic.claude-3-5-haiku-20241022-v1:0';

async function target(options: { timeoutMs?: number | undefined; maxRetries?: number | undefined; secret?: string; sessionToken?: string } = {}) {
  const server = await startFakeBedrockServer({ region: 'eu-west-1' });
  const provider = createBedrockProvider({
    id: 'bedrock-test',
    region: 'eu-west-1',
    baseUrl: server.url,
    credentials: { accessKeyId: fakeAwsCredentials.accessKeyId, secretAccessKey: options.secret ?? fakeAwsCredentials.secretAccessKey, sessionToken: options.sessionToken },
    models: toModelMap([{ name: 'claude-haiku', upstream: modelId }, { name: 'titan', upstream: 'amazon.titan-embed-text-v2:0' }]),
    http: { connections: 4, timeoutMs: options.timeoutMs ?? 5_000, maxRetries: options.maxRetries ?? 2, retryBaseDelayMs: 5 },
  });
  return { provider, server, model: 'claude-haiku', upstreamModel: modelId };
}

describeProviderContract('bedrock', target, { embeddings: true, responseFormat: 'instruction' });

describe('bedrock specifics', () => {
  const call = () => ({ signal: new AbortController().signal, requestId: 'req-1', deadlineMs: Date.now() + 10_000 });
  const request = sealOutbound({ model: 'claude-haiku', messages: [{ role: 'user' as const, content: 'hi' }] }, 'bedrock-test', 'phi_free');

  it('encodes the model id in the path and signs it (with a session token)', async () => {
    const { provider, server } = await target({ sessionToken: 'session-token' });
    try {
      const collected = await collectStream(provider.chatStream(request, call()));
      expect(collected.content).toBe('Hello from the fake vendor.');
      expect(server.requests[0]?.path).toBe('/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream');
      expect(server.requests[0]?.headers['x-amz-security-token']).toBe('session-token');
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('is refused when signed with the wrong secret', async () => {
    const { provider, server } = await target({ secret: 'not-the-secret' });
    try {
      await expect(provider.chat(request, call())).rejects.toMatchObject({ code: 'provider_unavailable', detail: { upstreamStatus: 403 } });
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('refuses remote image URLs, which Converse cannot fetch', async () => {
    const { provider, server } = await target();
    try {
      const withUrl = sealOutbound({ model: 'claude-haiku', messages: [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: 'https://example.org/a.png' } }] }] }, 'bedrock-test', 'phi_free');
      await expect(provider.chat(withUrl, call())).rejects.toMatchObject({ code: 'provider_rejected', detail: { reason: 'image_url_not_supported' } });
      expect(server.requests).toHaveLength(0);
    } finally {
      await provider.close();
      await server.close();
    }
  });
});
