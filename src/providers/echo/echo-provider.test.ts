// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { sealOutbound } from '../../policy/outbound.js';
import { collectStream } from '../testing/collect-stream.js';
import type { ChatRequest } from '../types.js';
import { createEchoProvider, hashEmbedding } from './echo-provider.js';

const call = (overrides: { signal?: AbortSignal; deadlineMs?: number } = {}) => ({
  signal: overrides.signal ?? new AbortController().signal,
  requestId: 'req-echo',
  deadlineMs: overrides.deadlineMs ?? Date.now() + 10_000,
});

const request: ChatRequest = {
  model: 'echo',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Patient [NAME_1] seen on [DATE_1].' },
  ],
  tools: [{ type: 'function', function: { name: 'lookup' } }],
};

describe('echo provider', () => {
  const provider = createEchoProvider({ id: 'echo', chunkChars: 16 });

  it('answers with exactly the outbound payload, as JSON text, with usage', async () => {
    const result = await provider.chat(sealOutbound(request, 'echo', 'deidentified'), call());
    const content = result.choices[0]?.message.content ?? '';
    expect(JSON.parse(content)).toEqual(request);
    expect(result.choices[0]?.finish_reason).toBe('stop');
    expect(result.model).toBe('echo');
    expect(result.usage?.completion_tokens).toBe(Math.ceil(content.length / 4));
    expect(result.usage?.total_tokens).toBe((result.usage?.prompt_tokens ?? 0) + (result.usage?.completion_tokens ?? 0));
  });

  it('streams the same content in several chunks, then finish, then usage when asked', async () => {
    const streamed = { ...request, stream: true, stream_options: { include_usage: true } };
    const collected = await collectStream(provider.chatStream(sealOutbound(streamed, 'echo', 'deidentified'), call()));
    expect(JSON.parse(collected.content)).toEqual(streamed);
    expect(collected.chunks.length).toBeGreaterThan(4);
    expect(collected.chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(collected.finishReason).toBe('stop');
    const last = collected.chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(Math.ceil(collected.content.length / 4));
    expect(new Set(collected.chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('sends no usage chunk unless include_usage is set', async () => {
    const collected = await collectStream(provider.chatStream(sealOutbound({ ...request, stream: true }, 'echo', 'deidentified'), call()));
    expect(collected.usage).toBeNull();
    expect(collected.chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('embeds deterministically into unit vectors of the requested size', async () => {
    const result = await provider.embed(sealOutbound({ model: 'echo', input: ['alpha', 'beta', 'alpha'] }, 'echo', 'phi_free'), call());
    const [a, b, c] = result.data.map((item) => item.embedding);
    expect(a).toHaveLength(256);
    expect(a).toEqual(c);
    expect(a).not.toEqual(b);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 10);
    expect(hashEmbedding('alpha', 32)).toHaveLength(32);
    const sized = await provider.embed(sealOutbound({ model: 'echo', input: 'x', dimensions: 64 }, 'echo', 'phi_free'), call());
    expect(sized.data[0]?.embedding).toHaveLength(64);
    expect(sized.usage.prompt_tokens).toBe(1);
  });

  it('refuses a payload sealed for another endpoint, an aborted call and a passed deadline', async () => {
    await expect(provider.chat(sealOutbound(request, 'other', 'raw'), call())).rejects.toMatchObject({ code: 'phi_egress_denied' });
    const controller = new AbortController();
    controller.abort();
    await expect(provider.chat(sealOutbound(request, 'echo', 'raw'), call({ signal: controller.signal }))).rejects.toMatchObject({ code: 'provider_unavailable' });
    await expect(provider.embed(sealOutbound({ model: 'echo', input: 'x' }, 'echo', 'raw'), call({ deadlineMs: Date.now() - 1 }))).rejects.toMatchObject({ code: 'provider_timeout' });
  });
});
