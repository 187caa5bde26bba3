// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../../kernel/errors.js';
import { anthropicMessagesRequestSchema, formatAnthropicZodIssues, parseAnthropicMessagesRequest } from './schemas.js';

const base = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'Hello' }] };

function issuesOf(body: unknown): string {
  const parsed = anthropicMessagesRequestSchema.safeParse(body);
  if (parsed.success) throw new Error('expected a validation failure');
  return formatAnthropicZodIssues(parsed.error, { maxIssues: 20 }).issues.join('\n');
}

describe('Anthropic Messages schema', () => {
  it('accepts a full request', () => {
    const body = {
      ...base,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'See image' },
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
            { type: 'image', source: { type: 'url', url: 'https://example.org/a.png' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc' }, title: 'T', context: null },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'ok' }], is_error: true }] },
      ],
      tools: [{ name: 'lookup', description: 'd', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['STOP'],
      temperature: 1,
      top_p: 0.5,
      top_k: 5,
      stream: false,
      metadata: { user_id: 'abc' },
      thinking: { type: 'disabled' },
    };
    expect(anthropicMessagesRequestSchema.parse(body)).toEqual(body);
  });

  it.each([
    ['a missing max_tokens', { model: 'm', messages: base.messages }, 'max_tokens: expected number'],
    ['extended thinking', { ...base, thinking: { type: 'enabled', budget_tokens: 1024 } }, 'thinking: extended thinking is not supported'],
    ['a system role inside messages', { ...base, messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role: expected "user" | "assistant"'],
    ['tool_use in a user turn', { ...base, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, 'messages[0].content[0].type: expected "text" | "image" | "document" | "tool_result"'],
    ['an image in an assistant turn', { ...base, messages: [{ role: 'assistant', content: [{ type: 'image', source: { type: 'url', url: 'u' } }] }] }, 'messages[0].content[0].type: expected "text" | "tool_use"'],
    ['an image inside a tool result', { ...base, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'url', url: 'u' } }] }] }] }, 'messages[0].content[0].content[0].type: expected "text"'],
    ['citations on a text block', { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'x', citations: [] }] }] }, 'unsupported field "citations"'],
    ['a server tool', { ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0]'],
    ['an unknown top-level field', { ...base, container: 'c' }, 'unsupported field "container"'],
    ['a non-object input schema', { ...base, tools: [{ name: 't', input_schema: { type: 'string' } }] }, 'expected a JSON schema with "type": "object"'],
    ['temperature above 1', { ...base, temperature: 1.5 }, 'temperature: expected a number <= 1'],
    ['an unsupported image type', { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'x' } }] }] }, 'media_type'],
    ['a PDF by URL', { ...base, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'u' } }] }] }, 'source.type: expected "text" | "base64"'],
    ['an empty block list', { ...base, messages: [{ role: 'assistant', content: [] }] }, 'messages[0].content'],
    ['an unknown tool_choice', { ...base, tool_choice: { type: 'function', name: 'x' } }, 'tool_choice.type'],
  ])('refuses %s', (_name, body, expected) => {
    expect(issuesOf(body)).toContain(expected);
  });

  it('parseAnthropicMessagesRequest throws a PHI-free invalid_request', () => {
    const secret = 'MRN 00123456 Jane';
    let caught: unknown;
    try {
      parseAnthropicMessagesRequest({ ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 5, [secret]: secret }] }], metadata: { user_id: 9 } });
    } catch (err) {
      caught = err;
    }
    expect(isGatewayError(caught, 'invalid_request')).toBe(true);
    if (!isGatewayError(caught)) return;
    expect(JSON.stringify(caught.detail)).not.toContain('Jane');
    expect(JSON.stringify(caught.detail)).not.toContain('00123456');
    expect(caught.param).toBe('messages[0].content[0].text');
    expect(parseAnthropicMessagesRequest(base)).toEqual(base);
  });
});
