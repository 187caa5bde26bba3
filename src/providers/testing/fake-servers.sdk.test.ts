// SPDX-License-Identifier: Apache-2.0
/**
 * The fakes are only useful if they speak the real wire format, so the vendors' own SDKs are
 * pointed at them here: if the official client parses a fake's answers and streams, so can
 * phigate's adapters be trusted against the real service.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { AzureOpenAI } from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeAnthropicServer } from './fake-anthropic-server.js';
import { startFakeOpenAiServer } from './fake-openai-server.js';

describe('fake servers against the official SDKs', () => {
  it('openai SDK: chat, streamed tool call with usage, embeddings and a typed error', async () => {
    const server = await startFakeOpenAiServer({ apiKey: 'sk-sdk' });
    const client = new OpenAI({ apiKey: 'sk-sdk', baseURL: `${server.url}/v1`, maxRetries: 0 });
    try {
      server.script({ text: 'Plain answer.', usage: { input: 5, output: 2 } });
      const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]?.message.content).toBe('Plain answer.');
      expect(completion.usage?.total_tokens).toBe(7);

      server.script({ toolCalls: [{ id: 'call_a', name: 'lookup', arguments: '{"q":"a1c"}' }], usage: { input: 4, output: 3 } });
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      let args = '';
      let name = '';
      let usage = 0;
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
          name += call.function?.name ?? '';
          args += call.function?.arguments ?? '';
        }
        usage = chunk.usage?.total_tokens ?? usage;
      }
      expect([name, JSON.parse(args), usage]).toEqual(['lookup', { q: 'a1c' }, 7]);

      const embeddings = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'float' });
      expect(embeddings.data).toHaveLength(2);

      server.script({ status: 429 });
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    } finally {
      await server.close();
    }
  });

  it('AzureOpenAI SDK: deployment route with api-version and api-key', async () => {
    const server = await startFakeOpenAiServer({ flavor: 'azure', apiKey: 'az-sdk' });
    const client = new AzureOpenAI({ endpoint: server.url, apiKey: 'az-sdk', apiVersion: '2024-10-21', deployment: 'prod-4o', maxRetries: 0 });
    try {
      const completion = await client.chat.completions.create({ model: 'ignored', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]?.message.content).toBe('Hello from the fake vendor.');
      expect(server.requests[0]?.path).toBe('/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21');
    } finally {
      await server.close();
    }
  });

  it('Anthropic SDK: message, streamed text and tool use, and a typed error', async () => {
    const server = await startFakeAnthropicServer({ apiKey: 'sk-ant-sdk' });
    const client = new Anthropic({ apiKey: 'sk-ant-sdk', baseURL: server.url, maxRetries: 0 });
    try {
      server.script({ text: 'Claude-shaped.', usage: { input: 6, output: 2 } });
      const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
      expect(message.content).toEqual([{ type: 'text', text: 'Claude-shaped.' }]);
      expect(message.usage.output_tokens).toBe(2);

      server.script({ text: 'Checking.', toolCalls: [{ id: 'toolu_x', name: 'lookup', arguments: '{"q":[1,2]}' }] });
      const final = await client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
      expect(final.stop_reason).toBe('tool_use');
      expect(final.content).toEqual([
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_x', name: 'lookup', input: { q: [1, 2] } },
      ]);

      server.script({ status: 400 });
      await expect(client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    } finally {
      await server.close();
    }
  });
});
