// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { sealOutbound } from '../../policy/outbound.js';
import { describeProviderContract } from '../provider.contract.js';
import { toModelMap } from '../shared/common.js';
import { collectStream } from '../testing/collect-stream.js';
import { startFakeAnthropicServer } from '../testing/fake-anthropic-server.js';
import type { ChatRequest } from '../types.js';
import { createAnthropicProvider } from './anthropic-provider.js';
import { toAnthropicBody } from './anthropic-translate.js';

async function target(options: { timeoutMs?: number | undefined; maxRetries?: number | undefined } = {}) {
  const server = await startFakeAnthropicServer({ apiKey: 'sk-ant-test' });
  const provider = createAnthropicProvider({
    id: 'anthropic-test',
    baseUrl: server.url,
    apiKey: 'sk-ant-test',
    anthropicVersion: '2023-06-01',
    defaultMaxTokens: 1024,
    models: toModelMap([{ name: 'claude', upstream: 'claude-sonnet-4-5' }]),
    http: { connections: 4, timeoutMs: options.timeoutMs ?? 5_000, maxRetries: options.maxRetries ?? 2, retryBaseDelayMs: 5 },
  });
  return { provider, server, model: 'claude', upstreamModel: 'claude-sonnet-4-5' };
}

describeProviderContract('anthropic', target, { embeddings: false, responseFormat: 'native' });

describe('anthropic translation', () => {
  const call = () => ({ signal: new AbortController().signal, requestId: 'req-1', deadlineMs: Date.now() + 10_000 });

  it('merges system and developer text, tool results into one user turn, and maps tool_choice', () => {
    const request: ChatRequest = {
      model: 'claude',
      messages: [
        { role: 'system', content: 'Rule one.' },
        { role: 'developer', content: [{ type: 'text', text: 'Rule two.' }] },
        { role: 'user', content: 'Check both labs.' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'lab', arguments: '{"t":1}' } },
            { id: 'b', type: 'function', function: { name: 'lab', arguments: '{"t":2}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'a', content: 'one' },
        { role: 'tool', tool_call_id: 'b', content: 'two' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.org/x.png' } }] },
      ],
      tools: [{ type: 'function', function: { name: 'lab' } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      stop: 'END',
      temperature: 1.6,
    };
    const { body } = toAnthropicBody(request, 'claude-x', 512, false);
    expect(body.system).toBe('Rule one.\n\nRule two.');
    expect(body.max_tokens).toBe(512);
    expect(body.temperature).toBe(1);
    expect(body.stop_sequences).toEqual(['END']);
    expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(body.tools).toEqual([{ name: 'lab', input_schema: { type: 'object', properties: {} } }]);
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Check both labs.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'a', name: 'lab', input: { t: 1 } },
          { type: 'tool_use', id: 'b', name: 'lab', input: { t: 2 } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'a', content: 'one' },
          { type: 'tool_result', tool_use_id: 'b', content: 'two' },
          { type: 'image', source: { type: 'url', url: 'https://example.org/x.png' } },
        ],
      },
    ]);
  });

  it('refuses audio parts as provider_rejected', () => {
    const request: ChatRequest = { model: 'c', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] };
    expect(() => toAnthropicBody(request, 'c', 10, false)).toThrow(expect.objectContaining({ code: 'provider_rejected' }) as Error);
  });

  it('sends the API key, version and the structured-outputs beta header', async () => {
    const { provider, server } = await target();
    try {
      await provider.chat(
        sealOutbound({ model: 'claude', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } } }, 'anthropic-test', 'phi_free'),
        call(),
      );
      const headers = server.requests[0]?.headers;
      expect(headers?.['x-api-key']).toBe('sk-ant-test');
      expect(headers?.['anthropic-version']).toBe('2023-06-01');
      expect(headers?.['anthropic-beta']).toBe('structured-outputs-2025-11-13');
      expect(server.requests[0]?.path).toBe('/v1/messages');
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('maps max_tokens to length and streams text plus a tool call in order', async () => {
    const { provider, server } = await target();
    try {
      server.script({ text: 'Let me look.', toolCalls: [{ id: 'toolu_1', name: 'lab', arguments: '{"a":[1,2,3]}' }] }, { text: 'cut', finishReason: 'length' });
      const collected = await collectStream(provider.chatStream(sealOutbound({ model: 'claude', messages: [{ role: 'user', content: 'x' }] }, 'anthropic-test', 'phi_free'), call()));
      expect(collected.content).toBe('Let me look.');
      expect(collected.toolCalls).toEqual([{ id: 'toolu_1', name: 'lab', arguments: '{"a":[1,2,3]}' }]);
      expect(collected.finishReason).toBe('tool_calls');
      const result = await provider.chat(sealOutbound({ model: 'claude', messages: [{ role: 'user', content: 'x' }] }, 'anthropic-test', 'phi_free'), call());
      expect(result.choices[0]?.finish_reason).toBe('length');
    } finally {
      await provider.close();
      await server.close();
    }
  });
});
