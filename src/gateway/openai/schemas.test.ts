// SPDX-License-Identifier: Apache-2.0
import { describe, expect, expectTypeOf, it } from 'vitest';
import { isGatewayError } from '../../kernel/errors.js';
import type { ChatRequest, EmbedRequest } from '../../providers/types.js';
import {
  chatCompletionRequestSchema,
  embeddingRequestSchema,
  formatZodIssues,
  parseChatCompletionRequest,
  parseEmbeddingRequest,
  toChatRequest,
} from './schemas.js';
import type { ChatCompletionRequest, EmbeddingRequest } from './schemas.js';

const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] };

function issuesOf(body: unknown): readonly string[] {
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (parsed.success) throw new Error('expected a validation failure');
  return formatZodIssues(parsed.error).issues;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('chat completion schema', () => {
  it('parsed types are assignable to the canonical types', () => {
    expectTypeOf<ChatCompletionRequest>().toExtend<ChatRequest>();
    expectTypeOf<EmbeddingRequest>().toExtend<EmbedRequest>();
  });

  it('accepts a full request with every supported field', () => {
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.', name: 'sys' },
        { role: 'developer', content: [{ type: 'text', text: 'Use JSON.' }] },
        {
          role: 'user',
          name: 'clinician',
          content: [
            { type: 'text', text: 'Summarise' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'note.pdf' } },
            { type: 'file', file: { file_id: 'file-123' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
        { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Look up', parameters: { type: 'object' }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      max_tokens: 100,
      max_completion_tokens: 100,
      temperature: 0.2,
      top_p: 1,
      n: 1,
      stop: ['\n\n'],
      seed: 7,
      presence_penalty: 0,
      frequency_penalty: -1,
      user: 'user-1',
      stream: true,
      stream_options: { include_usage: true },
      metadata: { team: 'cardiology' },
      logprobs: false,
      store: false,
      service_tier: 'auto',
    };
    const parsed = chatCompletionRequestSchema.parse(body);
    expect(parsed).toEqual(body);
  });

  it('accepts nulls where OpenAI allows them', () => {
    const body = { ...base, max_tokens: null, temperature: null, stop: null, stream: null, stream_options: null, seed: null, n: null };
    expect(chatCompletionRequestSchema.safeParse(body).success).toBe(true);
  });

  it.each([
    ['an unknown top-level field', { ...base, logit_bias: { '1': 2 } }, 'unsupported field "logit_bias"'],
    ['an unknown field in a message', { ...base, messages: [{ role: 'user', content: 'x', audio: 'y' }] }, 'messages[0]: unsupported field "audio"'],
    ['an unknown field in a content part', { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'a', extra: 1 }] }] }, 'messages[0].content[0]'],
    ['the deprecated function role', { ...base, messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role: expected'],
    ['an image part in a system message', { ...base, messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'u' } }] }] }, 'messages[0].content'],
    ['a tool message without tool_call_id', { ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id: expected string'],
    ['empty messages', { ...base, messages: [] }, 'messages: expected >= 1 items'],
    ['temperature above 2', { ...base, temperature: 2.5 }, 'temperature: expected a number <= 2'],
    ['n of 0', { ...base, n: 0 }, 'n: expected a number >= 1'],
    ['store: true', { ...base, store: true }, 'store: store: true is not supported; phigate never asks a vendor to retain completions'],
    ['logprobs: true', { ...base, logprobs: true }, 'logprobs: logprobs are not supported'],
    ['top_logprobs', { ...base, top_logprobs: 2 }, 'unsupported field "top_logprobs"'],
    ['more than four stop sequences', { ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['a file part with neither data nor id', { ...base, messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a' } }] }] }, 'expected file_data or file_id'],
    ['an unknown response format', { ...base, response_format: { type: 'yaml' } }, 'response_format.type: expected "text" | "json_object" | "json_schema"'],
    ['a bad tool name', { ...base, tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
    ['an unknown stream option', { ...base, stream_options: { include_usage: true, chunk_size: 4 } }, 'stream_options'],
    ['a missing model', { messages: base.messages }, 'model: expected string'],
    ['a body that is not an object', 'hello', '(body): expected object'],
  ])('refuses %s', (_name, body, expected) => {
    const issues = issuesOf(body);
    expect(issues.join('\n')).toContain(expected);
  });

  it('rejects metadata with more than 16 pairs or long values', () => {
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(chatCompletionRequestSchema.safeParse({ ...base, metadata: many }).success).toBe(false);
    expect(chatCompletionRequestSchema.safeParse({ ...base, metadata: { k: 'v'.repeat(513) } }).success).toBe(false);
  });

  it('toChatRequest drops fields that must never reach a provider', () => {
    const wire = chatCompletionRequestSchema.parse({
      ...base,
      metadata: { patient: 'x' },
      store: false,
      service_tier: 'auto',
      logprobs: false,
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: false },
    });
    const request = toChatRequest(wire);
    expect(request).toEqual({ ...base, stream: true, stream_options: { include_usage: true } });
    expect(Object.keys(request)).not.toContain('metadata');
  });
});

describe('formatZodIssues', () => {
  it('never echoes received values, unknown key names or record keys', () => {
    const secret = 'Jane Q Patient 555-12-3456';
    const parsed = chatCompletionRequestSchema.safeParse({
      model: 42,
      messages: [{ role: 'user', content: 7, [secret]: secret }],
      metadata: { [secret]: 12 },
      [secret]: secret,
      temperature: secret,
    });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    const summary = formatZodIssues(parsed.error, { maxIssues: 50 });
    const text = JSON.stringify(summary);
    expect(text).not.toContain('Jane');
    expect(text).not.toContain('555');
    expect(summary.issues).toContain('metadata.*: expected string');
    expect(summary.issues.some((line) => line.includes('1 other key'))).toBe(true);
    expect(summary.issue_count).toBeGreaterThanOrEqual(summary.issues.length);
  });

  it('reports at most maxIssues lines but counts all', () => {
    const parsed = chatCompletionRequestSchema.safeParse({ model: 1, messages: 2, temperature: 'x', top_p: 'y', seed: 'z', n: 'q', user: 3 });
    if (parsed.success) throw new Error('expected failure');
    const summary = formatZodIssues(parsed.error, { maxIssues: 2 });
    expect(summary.issues).toHaveLength(2);
    expect(summary.issue_count).toBe(7);
  });

  it('describes a union mismatch by the kinds it accepts', () => {
    expect(issuesOf({ ...base, messages: [{ role: 'user', content: 5 }] })).toEqual(['messages[0].content: expected string or array']);
  });

  it('reports a limit on the union branch whose type matched', () => {
    expect(issuesOf({ ...base, stop: ['a', 'b', 'c', 'd', 'e'] })).toEqual(['stop: expected <= 4 items']);
  });

  it('names a known unsupported field as the param, and masks unknown ones', () => {
    const known = thrown(() => parseChatCompletionRequest({ ...base, logit_bias: {} }));
    expect(isGatewayError(known) ? known.param : 'x').toBe('logit_bias');
    const nested = thrown(() => parseChatCompletionRequest({ ...base, messages: [{ role: 'user', content: 'x', audio: 1 }] }));
    expect(isGatewayError(nested) ? nested.param : 'x').toBe('messages[0].audio');
    const unknown = thrown(() => parseChatCompletionRequest({ ...base, 'Jane Doe': 1 }));
    expect(isGatewayError(unknown) ? unknown.param : 'x').toBeUndefined();
  });

  it('follows a union into the branch that matched the shape', () => {
    const issues = issuesOf({ ...base, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'u', detail: 'ultra' } }] }] });
    expect(issues).toEqual(['messages[0].content[0].image_url.detail: expected "auto" | "low" | "high"']);
  });
});

describe('parseChatCompletionRequest', () => {
  it('returns the wire body and the canonical request', () => {
    const { wire, request } = parseChatCompletionRequest({ ...base, metadata: { a: 'b' } });
    expect(wire.metadata).toEqual({ a: 'b' });
    expect(request).toEqual(base);
  });

  it('throws invalid_request with a PHI-free detail and the first param', () => {
    const err = thrown(() => parseChatCompletionRequest({ ...base, temperature: 'hot' }));
    expect(isGatewayError(err, 'invalid_request')).toBe(true);
    if (!isGatewayError(err)) return;
    expect(err.param).toBe('temperature');
    expect(err.detail).toEqual({ issues: ['temperature: expected number'], issue_count: 1 });
  });
});

describe('embeddings schema', () => {
  it('accepts a string or an array of strings with the optional fields', () => {
    expect(embeddingRequestSchema.parse({ model: 'e', input: 'a' })).toEqual({ model: 'e', input: 'a' });
    const full = { model: 'e', input: ['a', 'b'], encoding_format: 'base64', dimensions: 256, user: 'u' };
    expect(embeddingRequestSchema.parse(full)).toEqual(full);
  });

  it('refuses token arrays with a clear message', () => {
    for (const input of [[1, 2, 3], [[1, 2], [3]]]) {
      const err = thrown(() => parseEmbeddingRequest({ model: 'e', input }));
      expect(isGatewayError(err, 'invalid_request')).toBe(true);
      if (!isGatewayError(err)) return;
      expect(err.detail?.['issues']).toEqual(['input: token arrays are not supported; send text so it can be de-identified']);
    }
  });

  it('refuses unknown fields, empty arrays and bad dimensions', () => {
    expect(embeddingRequestSchema.safeParse({ model: 'e', input: 'a', extra: 1 }).success).toBe(false);
    expect(embeddingRequestSchema.safeParse({ model: 'e', input: [] }).success).toBe(false);
    expect(embeddingRequestSchema.safeParse({ model: 'e', input: 'a', dimensions: 0 }).success).toBe(false);
    expect(embeddingRequestSchema.safeParse({ model: 'e', input: 'a', encoding_format: 'int8' }).success).toBe(false);
  });
});
