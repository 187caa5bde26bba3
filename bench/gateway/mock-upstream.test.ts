// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { MOCK_STREAM_CHUNKS, mockStream } from './mock-upstream.js';

describe('mockStream', () => {
  it('is a role chunk, the content chunks, a stop chunk and [DONE]', () => {
    const events = mockStream()
      .toString('utf8')
      .split('\n\n')
      .filter((event) => event !== '');
    expect(events).toHaveLength(MOCK_STREAM_CHUNKS + 3);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.replace(/^data: /, '')) as { choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[] });
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.slice(1, -1).every((chunk) => typeof chunk.choices[0]?.delta.content === 'string')).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });
});
