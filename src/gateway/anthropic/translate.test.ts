// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../../kernel/errors.js';
import { GatewayError } from '../../kernel/errors.js';
import type { ChatDelta, ChatResult } from '../../providers/types.js';
import { chatCompletionRequestSchema } from '../openai/schemas.js';
import { anthropicMessagesRequestSchema } from './schemas.js';
import { encodeAnthropicEvent } from './sse.js';
import {
  fromAnthropicRequest,
  toAnthropicError,
  toAnthropicErrorResponse,
  toAnthropicMessage,
  toAnthropicMessageId,
  toAnthropicStopReason,
  toAnthropicStream,
  toAnthropicStreamError,
} from './translate.js';
import type { AnthropicStreamEvent } from './translate.js';

function request(body: Record<string, unknown>): ReturnType<typeof fromAnthropicRequest> {
  const translated = fromAnthropicRequest(anthropicMessagesRequestSchema.parse({ model: 'claude-x', max_tokens: 64, ...body }));
  // Whatever we produce must itself be a valid OpenAI request.
  expect(chatCompletionRequestSchema.safeParse(translated).success).toBe(true);
  return translated;
}

function result(message: ChatResult['choices'][number]['message'], finish: ChatResult['choices'][number]['finish_reason'] = 'stop'): ChatResult {
  return {
    id: 'chatcmpl-abc123',
    object: 'chat.completion',
    created: 1,
    model: 'upstream-model',
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  };
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function collect(deltas: readonly ChatDelta[]): Promise<AnthropicStreamEvent[]> {
  const events: AnthropicStreamEvent[] = [];
  for await (const event of toAnthropicStream(fromArray(deltas), 'claude-x')) events.push(event);
  return events;
}

function chunk(delta: ChatDelta['choices'][number]['delta'], finish: ChatDelta['choices'][number]['finish_reason'] = null): ChatDelta {
  return { id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta, finish_reason: finish }] };
}

describe('fromAnthropicRequest', () => {
  it('maps a plain conversation with a system string', () => {
    expect(
      request({
        system: 'Be brief.',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: [{ type: 'text', text: 'More' }] },
        ],
      }),
    ).toEqual({
      model: 'claude-x',
      max_tokens: 64,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: [{ type: 'text', text: 'More' }] },
      ],
    });
  });

  it('maps system text blocks to a system message with text parts, dropping cache_control', () => {
    const out = request({
      system: [{ type: 'text', text: 'A', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'B' }],
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(out.messages[0]).toEqual({ role: 'system', content: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B' }] });
  });

  it('maps tool_use to assistant tool_calls and tool_result to tool messages before user text', () => {
    const out = request({
      messages: [
        { role: 'user', content: 'Look up the code' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { code: 'I10', nested: { a: [1, 2] } } },
            { type: 'tool_use', id: 'toolu_2', name: 'note', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Hypertension' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'saved' }], is_error: false },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: 'Look up the code' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"code":"I10","nested":{"a":[1,2]}}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'note', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Hypertension' },
      { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: 'saved' }] },
      { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
    ]);
  });

  it('gives an assistant turn with only tool_use a null content, and an empty tool_result an empty string', () => {
    const out = request({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { a: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't' }] },
      ],
    });
    expect(out.messages[1]).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] });
    expect(out.messages[2]).toEqual({ role: 'tool', tool_call_id: 't', content: '' });
    expect(out.messages).toHaveLength(3);
  });

  it('keeps several assistant text blocks as text parts', () => {
    const out = request({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      ],
    });
    expect(out.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] });
  });

  it('maps base64 and URL images to image_url parts and documents to text or file parts', () => {
    const out = request({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0K' } },
            { type: 'image', source: { type: 'url', url: 'https://example.org/x.jpg' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Note body' }, title: 'Discharge', context: 'From ward 3' },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0' } },
          ],
        },
      ],
    });
    expect(out.messages[0]).toEqual({
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } },
        { type: 'image_url', image_url: { url: 'https://example.org/x.jpg' } },
        { type: 'text', text: 'Discharge' },
        { type: 'text', text: 'From ward 3' },
        { type: 'text', text: 'Note body' },
        { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0', filename: 'document.pdf' } },
      ],
    });
  });

  it('maps tools, tool_choice, sampling, stop sequences, user and streaming', () => {
    const out = request({
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        { name: 'lookup', description: 'Find a code', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, strict: true },
        { name: 'bare', input_schema: { type: 'object' } },
      ],
      tool_choice: { type: 'tool', name: 'lookup', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: 'u-42' },
      stream: true,
    });
    expect(out).toEqual({
      model: 'claude-x',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        { type: 'function', function: { name: 'lookup', description: 'Find a code', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: true } },
        { type: 'function', function: { name: 'bare', parameters: { type: 'object' } } },
      ],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      parallel_tool_calls: false,
      stop: ['END'],
      temperature: 0.3,
      top_p: 0.9,
      user: 'u-42',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it.each([
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
  ])('maps tool_choice %j to %j', (choice, expected) => {
    expect(request({ messages: [{ role: 'user', content: 'x' }], tool_choice: choice }).tool_choice).toBe(expected);
  });
});

describe('toAnthropicMessage', () => {
  it('maps text, usage, id and the caller model', () => {
    expect(toAnthropicMessage(result({ role: 'assistant', content: 'Hello' }), 'claude-alias')).toEqual({
      id: 'msg_abc123',
      type: 'message',
      role: 'assistant',
      model: 'claude-alias',
      content: [{ type: 'text', text: 'Hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('maps tool calls to tool_use blocks with parsed input', () => {
    const message = toAnthropicMessage(
      result(
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"code":"I10"}' } },
            { id: 'call_2', type: 'function', function: { name: 'noargs', arguments: '' } },
          ],
        },
        'tool_calls',
      ),
      'm',
    );
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'call_1', name: 'lookup', input: { code: 'I10' } },
      { type: 'tool_use', id: 'call_2', name: 'noargs', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('turns a refusal into text with stop_reason refusal', () => {
    const message = toAnthropicMessage(result({ role: 'assistant', content: null, refusal: 'I cannot help with that.' }, 'content_filter'), 'm');
    expect(message.content).toEqual([{ type: 'text', text: 'I cannot help with that.' }]);
    expect(message.stop_reason).toBe('refusal');
  });

  it('omits empty text and reports zero usage when the provider gave none', () => {
    const { usage: _usage, ...noUsage } = result({ role: 'assistant', content: '' }, 'length');
    const message = toAnthropicMessage(noUsage, 'm');
    expect(message.content).toEqual([]);
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.input_tokens).toBe(0);
  });

  it('refuses tool arguments that are not a JSON object, and results without choices', () => {
    for (const args of ['{not json', '[1,2]', '"str"']) {
      const call = { id: 'c', type: 'function' as const, function: { name: 'f', arguments: args } };
      let caught: unknown;
      try {
        toAnthropicMessage(result({ role: 'assistant', content: null, tool_calls: [call] }, 'tool_calls'), 'm');
      } catch (err) {
        caught = err;
      }
      expect(isGatewayError(caught, 'provider_bad_response')).toBe(true);
      // Nothing from the model's output may ride along, not even in the cause chain.
      expect(isGatewayError(caught) && caught.cause).toBe(undefined);
    }
    expect(() => toAnthropicMessage({ ...result({ role: 'assistant', content: 'x' }), choices: [] }, 'm')).toThrow(GatewayError);
  });

  it('maps every finish reason', () => {
    expect(toAnthropicStopReason('stop')).toBe('end_turn');
    expect(toAnthropicStopReason('length')).toBe('max_tokens');
    expect(toAnthropicStopReason('tool_calls')).toBe('tool_use');
    expect(toAnthropicStopReason('function_call')).toBe('tool_use');
    expect(toAnthropicStopReason('content_filter')).toBe('refusal');
    expect(toAnthropicStopReason(null)).toBeNull();
  });

  it('derives message ids', () => {
    expect(toAnthropicMessageId('chatcmpl-XYZ')).toBe('msg_XYZ');
    expect(toAnthropicMessageId('msg_keep')).toBe('msg_keep');
    expect(toAnthropicMessageId('weird id/with:chars')).toBe('msg_weirdidwithchars');
  });
});

describe('toAnthropicStream', () => {
  it('emits the exact event sequence for text', async () => {
    const events = await collect([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      { id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    ]);
    expect(events.map((event) => event.data)).toEqual([
      {
        type: 'message_start',
        message: {
          id: 'msg_s1',
          type: 'message',
          role: 'assistant',
          model: 'claude-x',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 3, output_tokens: 2 } },
      { type: 'message_stop' },
    ]);
    expect(events.every((event) => event.event === event.data.type)).toBe(true);
  });

  it('opens a new block per tool call index with input_json_delta fragments', async () => {
    const events = await collect([
      chunk({ role: 'assistant', content: 'Checking' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'note', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(events.map((event) => event.data).slice(1)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Checking' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'lookup', input: {} } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"q":' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_b', name: 'note', input: {} } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 2 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 0 } },
      { type: 'message_stop' },
    ]);
  });

  it('handles several complete tool calls in one chunk, and a missing tool id', async () => {
    const events = await collect([
      chunk({
        tool_calls: [
          { index: 0, function: { name: 'a', arguments: '{"x":1}' } },
          { index: 1, id: 'call_2', function: { name: 'b', arguments: '{"y":2}' } },
        ],
      }),
      chunk({}, 'tool_calls'),
    ]);
    const starts = events.flatMap((event) => (event.event === 'content_block_start' ? [event.data.content_block] : []));
    expect(starts).toEqual([
      { type: 'tool_use', id: 'toolu_s1_0', name: 'a', input: {} },
      { type: 'tool_use', id: 'call_2', name: 'b', input: {} },
    ]);
  });

  it('maps length, content_filter and refusal deltas', async () => {
    const length = await collect([chunk({ content: 'cut' }), chunk({}, 'length')]);
    expect(length.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'max_tokens' } });
    const refused = await collect([chunk({ refusal: 'No.' }), chunk({}, 'content_filter')]);
    expect(refused.map((event) => event.data)).toContainEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'No.' } });
    expect(refused.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'refusal' } });
  });

  it('still produces a well-formed message for an empty stream', async () => {
    const events = await collect([]);
    expect(events.map((event) => event.event)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('refuses interleaved fragments for a closed tool call and nameless tool calls', async () => {
    await expect(
      collect([
        chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'a', arguments: '{' } }] }),
        chunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'b', arguments: '{}' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }),
      ]),
    ).rejects.toSatisfy((err) => isGatewayError(err, 'provider_bad_response'));
    await expect(collect([chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] })])).rejects.toSatisfy((err) =>
      isGatewayError(err, 'provider_bad_response'),
    );
  });

  it('propagates a source error', async () => {
    async function* failing(): AsyncGenerator<ChatDelta> {
      yield chunk({ content: 'a' });
      throw new GatewayError('provider_unavailable');
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of toAnthropicStream(failing(), 'm')) seen.push(event.event);
      })(),
    ).rejects.toSatisfy((err) => isGatewayError(err, 'provider_unavailable'));
    expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
  });

  it('encodes events as named SSE frames', () => {
    expect(encodeAnthropicEvent({ event: 'message_stop', data: { type: 'message_stop' } })).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
  });
});

describe('toAnthropicError', () => {
  it.each([
    [400, 'invalid_request', 'invalid_request_error'],
    [401, 'unauthenticated', 'authentication_error'],
    [403, 'patient_access_denied', 'permission_error'],
    [404, 'model_not_found', 'not_found_error'],
    [413, 'request_too_large', 'request_too_large'],
    [422, 'no_baa_covered_endpoint', 'invalid_request_error'],
    [429, 'rate_limited', 'rate_limit_error'],
    [429, 'provider_rate_limited', 'rate_limit_error'],
    [500, 'internal_error', 'api_error'],
    [502, 'provider_unavailable', 'api_error'],
    [503, 'audit_unavailable', 'overloaded_error'],
    [503, 'not_ready', 'overloaded_error'],
    [504, 'provider_timeout', 'timeout_error'],
    [529, 'whatever', 'overloaded_error'],
  ])('maps %i / %s to %s', (status, code, type) => {
    expect(toAnthropicError(status, code, 'fixed message')).toEqual({ type: 'error', error: { type, message: 'fixed message', code } });
  });

  it('renders thrown errors, hiding anything that is not a GatewayError', () => {
    expect(toAnthropicErrorResponse(new GatewayError('patient_access_denied'))).toEqual({
      status: 403,
      body: { type: 'error', error: { type: 'permission_error', message: 'The caller has no active care relationship with this patient', code: 'patient_access_denied' } },
    });
    const internal = toAnthropicErrorResponse(new Error('secret detail Jane Doe'));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(internal)).not.toContain('Jane');
    expect(toAnthropicStreamError(new GatewayError('provider_timeout'))).toMatchObject({ event: 'error', data: { error: { type: 'timeout_error' } } });
  });
});
