// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { sealOutbound } from '../../policy/outbound.js';
import { describeProviderContract } from '../provider.contract.js';
import { startFakeOpenAiServer } from '../testing/fake-openai-server.js';
import { toModelMap } from '../shared/common.js';
import { createOpenAiProvider } from './openai-provider.js';

const http = (timeoutMs = 5_000, maxRetries = 2) => ({ connections: 4, timeoutMs, maxRetries, retryBaseDelayMs: 5 });

describeProviderContract(
  'openai',
  async (options) => {
    const server = await startFakeOpenAiServer({ apiKey: 'sk-test' });
    const provider = createOpenAiProvider({
      id: 'openai-test',
      kind: 'openai',
      baseUrl: `${server.url}/v1`,
      apiKey: 'sk-test',
      models: toModelMap([{ name: 'gpt-test', upstream: 'gpt-4o-2024-08-06' }]),
      http: http(options.timeoutMs, options.maxRetries),
    });
    return { provider, server, model: 'gpt-test', upstreamModel: 'gpt-4o-2024-08-06' };
  },
  { embeddings: true, responseFormat: 'native' },
);

describeProviderContract(
  'azure-openai',
  async (options) => {
    const server = await startFakeOpenAiServer({ flavor: 'azure', apiKey: 'azure-key' });
    const provider = createOpenAiProvider({
      id: 'azure-test',
      kind: 'azure-openai',
      baseUrl: server.url,
      azure: { apiVersion: '2024-10-21', apiKey: 'azure-key' },
      models: toModelMap([{ name: 'gpt-4o', upstream: 'prod-gpt4o' }]),
      http: http(options.timeoutMs, options.maxRetries),
    });
    return { provider, server, model: 'gpt-4o', upstreamModel: 'prod-gpt4o' };
  },
  { embeddings: true, responseFormat: 'native' },
);

describe('openai-compatible specifics', () => {
  const call = () => ({ signal: new AbortController().signal, requestId: 'req-1', deadlineMs: Date.now() + 10_000 });

  it('uses Azure deployment routes with api-version and the api-key header', async () => {
    const server = await startFakeOpenAiServer({ flavor: 'azure', apiKey: 'azure-key' });
    const provider = createOpenAiProvider({
      id: 'azure', kind: 'azure-openai', baseUrl: server.url, azure: { apiVersion: '2024-10-21', apiKey: 'azure-key' },
      models: toModelMap([{ name: 'gpt-4o', upstream: 'my deployment' }]), http: http(),
    });
    try {
      await provider.chat(sealOutbound({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'azure', 'phi_free'), call());
      const request = server.requests[0];
      expect(request?.path).toBe('/openai/deployments/my%20deployment/chat/completions?api-version=2024-10-21');
      expect(request?.headers['api-key']).toBe('azure-key');
      expect(request?.headers.authorization).toBeUndefined();
      expect((request?.body as Record<string, unknown>).model).toBeUndefined();
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('authenticates to Azure with an Entra bearer token when no key is configured', async () => {
    const server = await startFakeOpenAiServer({ flavor: 'azure', apiKey: 'entra-token' });
    const provider = createOpenAiProvider({
      id: 'azure', kind: 'azure-openai', baseUrl: server.url, azure: { apiVersion: '2024-10-21', bearerToken: 'entra-token' },
      models: toModelMap([{ name: 'gpt-4o' }]), http: http(),
    });
    try {
      const result = await provider.chat(sealOutbound({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'azure', 'phi_free'), call());
      expect(result.choices[0]?.message.content).toBe('Hello from the fake vendor.');
      expect(server.requests[0]?.headers.authorization).toBe('Bearer entra-token');
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('maps a wrong key (401) to provider_unavailable without retrying', async () => {
    const server = await startFakeOpenAiServer({ apiKey: 'right' });
    const provider = createOpenAiProvider({ id: 'o', kind: 'openai', baseUrl: `${server.url}/v1`, apiKey: 'wrong', models: toModelMap([{ name: 'm' }]), http: http() });
    try {
      await expect(provider.chat(sealOutbound({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, 'o', 'phi_free'), call())).rejects.toMatchObject({
        code: 'provider_unavailable',
        detail: { upstreamStatus: 401 },
      });
      expect(server.requests).toHaveLength(1);
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('sends only known fields and no API key for keyless vLLM or Ollama servers', async () => {
    const server = await startFakeOpenAiServer({ apiKey: 'unused' });
    const provider = createOpenAiProvider({ id: 'vllm', kind: 'openai-compatible', baseUrl: `${server.url}/v1`, models: toModelMap([{ name: 'llama' }]), http: http() });
    try {
      const request = { model: 'llama', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0.2, internal: 'must not leak' };
      await provider.chat(sealOutbound(request, 'vllm', 'phi_free'), call()).catch(() => undefined);
      const received = server.requests[0];
      expect(received?.headers.authorization).toBeUndefined();
      expect(received?.body).toEqual({ model: 'llama', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, stream: false });
    } finally {
      await provider.close();
      await server.close();
    }
  });
});
