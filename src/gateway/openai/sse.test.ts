// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { ChatDelta } from '../../providers/types.js';
import { SSE_DONE, encodeChatChunk, encodeChatStream, encodeStreamError } from './sse.js';

const chunk: ChatDelta = {
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content: 'line one\nline two "quoted"' }, finish_reason: null }],
};

async function collect(source: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('OpenAI SSE encoder', () => {
  it('frames a chunk as one data line and a blank line, escaping newlines inside JSON', () => {
    const frame = encodeChatChunk(chunk);
    expect(frame.startsWith('data: {')).toBe(true);
    expect(frame.endsWith('}\n\n')).toBe(true);
    expect(frame.split('\n')).toHaveLength(3);
    expect(JSON.parse(frame.slice('data: '.length))).toEqual(chunk);
  });

  it('ends a stream with [DONE]', async () => {
    async function* source(): AsyncGenerator<ChatDelta> {
      yield chunk;
      yield { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
    }
    const frames = await collect(encodeChatStream(source()));
    expect(frames).toHaveLength(3);
    expect(frames[2]).toBe('data: [DONE]\n\n');
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
  });

  it('lets a source error through without writing [DONE]', async () => {
    async function* source(): AsyncGenerator<ChatDelta> {
      yield chunk;
      throw new Error('upstream failed');
    }
    const frames: string[] = [];
    await expect(
      (async () => {
        for await (const frame of encodeChatStream(source())) frames.push(frame);
      })(),
    ).rejects.toThrow('upstream failed');
    expect(frames).toEqual([encodeChatChunk(chunk)]);
  });

  it('frames an error body as a data event', () => {
    const frame = encodeStreamError({ error: { message: 'm', type: 'server_error', param: null, code: 'provider_unavailable' } });
    expect(frame).toBe('data: {"error":{"message":"m","type":"server_error","param":null,"code":"provider_unavailable"}}\n\n');
  });
});
