// SPDX-License-Identifier: Apache-2.0
/**
 * Property tests: every generated valid Messages request parses unchanged and translates into a
 * valid OpenAI request carrying the same content; junk and mutated requests only ever produce
 * a typed `invalid_request` whose detail never echoes what was sent; any well-formed chunk
 * stream becomes a well-formed event stream that reassembles to the same text and tool input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../kernel/errors.js';
import type { ChatDelta, ChatMessage, ChatRequest } from '../../providers/types.js';
import { chatCompletionRequestSchema } from '../openai/schemas.js';
import { anthropicMessagesRequestSchema, parseAnthropicMessagesRequest } from './schemas.js';
import type { AnthropicMessagesRequest } from './schemas.js';
import { fromAnthropicRequest, toAnthropicStream } from './translate.js';

const SENTINEL = 'QXSECRET';

// Keys such as `__proto__` are valid JSON but change meaning on plain objects; tool input is
// caller JSON, so keep the generator to keys a JSON round trip preserves.
const jsonKey = fc.string({ maxLength: 8 }).filter((key) => key !== '__proto__');
const jsonInput = fc.dictionary(jsonKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
const text = fc.string({ unit: 'binary', maxLength: 40 });
const id = fc.stringMatching(/^[A-Za-z0-9_]{1,24}$/);
const toolName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const cache = fc.option(fc.constant({ type: 'ephemeral' as const }), { nil: undefined });

function withOptional<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const textBlock = fc.record({ type: fc.constant('text' as const), text, cache_control: cache }).map(withOptional);
const imageBlock = fc.record({
  type: fc.constant('image' as const),
  source: fc.oneof(
    fc.record({
      type: fc.constant('base64' as const),
      media_type: fc.constantFrom('image/jpeg' as const, 'image/png' as const, 'image/gif' as const, 'image/webp' as const),
      data: fc.base64String({ minLength: 4, maxLength: 24 }),
    }),
    fc.record({ type: fc.constant('url' as const), url: fc.webUrl() }),
  ),
});
const documentBlock = fc
  .record({
    type: fc.constant('document' as const),
    source: fc.oneof(
      fc.record({ type: fc.constant('text' as const), media_type: fc.constant('text/plain' as const), data: text }),
      fc.record({ type: fc.constant('base64' as const), media_type: fc.constant('application/pdf' as const), data: fc.base64String({ minLength: 4, maxLength: 24 }) }),
    ),
    title: fc.option(text, { nil: undefined }),
    context: fc.option(text, { nil: undefined }),
  })
  .map(withOptional);
const toolResultBlock = fc
  .record({
    type: fc.constant('tool_result' as const),
    tool_use_id: id,
    content: fc.option(fc.oneof(text, fc.array(textBlock, { maxLength: 3 })), { nil: undefined }),
    is_error: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(withOptional);
const toolUseBlock = fc.record({ type: fc.constant('tool_use' as const), id, name: toolName, input: jsonInput });

const userMessage = fc.record({
  role: fc.constant('user' as const),
  content: fc.oneof(text, fc.array(fc.oneof(textBlock, imageBlock, documentBlock, toolResultBlock), { minLength: 1, maxLength: 5 })),
});
const assistantMessage = fc.record({
  role: fc.constant('assistant' as const),
  content: fc.oneof(text, fc.array(fc.oneof(textBlock, toolUseBlock), { minLength: 1, maxLength: 4 })),
});
const tool = fc
  .record({
    name: toolName,
    description: fc.option(text, { nil: undefined }),
    input_schema: fc.constant({ type: 'object', properties: { q: { type: 'string' } } }),
    strict: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(withOptional);

const validRequest: fc.Arbitrary<AnthropicMessagesRequest> = fc
  .record({
    model: fc.stringMatching(/^[a-z0-9.-]{1,40}$/),
    max_tokens: fc.integer({ min: 1, max: 200_000 }),
    messages: fc.array(fc.oneof(userMessage, assistantMessage), { minLength: 1, maxLength: 6 }),
    system: fc.option(fc.oneof(text, fc.array(textBlock, { maxLength: 3 })), { nil: undefined }),
    tools: fc.option(fc.array(tool, { maxLength: 3 }), { nil: undefined }),
    tool_choice: fc.option(
      fc.oneof(
        fc.record({ type: fc.constant('auto' as const) }),
        fc.record({ type: fc.constant('any' as const), disable_parallel_tool_use: fc.boolean() }),
        fc.record({ type: fc.constant('tool' as const), name: toolName }),
        fc.record({ type: fc.constant('none' as const) }),
      ),
      { nil: undefined },
    ),
    stop_sequences: fc.option(fc.array(text, { maxLength: 4 }), { nil: undefined }),
    temperature: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    top_p: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    top_k: fc.option(fc.nat(500), { nil: undefined }),
    stream: fc.option(fc.boolean(), { nil: undefined }),
    metadata: fc.option(fc.record({ user_id: fc.option(id, { nil: null }) }), { nil: undefined }),
  })
  .map(withOptional);

// ---- content extraction on both sides, ignoring empty strings (an absent tool result is '')

interface Content {
  texts: string[];
  images: string[];
  files: string[];
  toolUses: { id: string; name: string; input: unknown }[];
  toolResults: string[];
}

function anthropicContent(body: AnthropicMessagesRequest): Content {
  const out: Content = { texts: [], images: [], files: [], toolUses: [], toolResults: [] };
  if (typeof body.system === 'string') out.texts.push(body.system);
  else for (const block of body.system ?? []) out.texts.push(block.text);
  for (const message of body.messages) {
    if (typeof message.content === 'string') {
      out.texts.push(message.content);
      continue;
    }
    for (const block of message.content) {
      switch (block.type) {
        case 'text':
          out.texts.push(block.text);
          break;
        case 'image':
          out.images.push(block.source.type === 'url' ? block.source.url : `data:${block.source.media_type};base64,${block.source.data}`);
          break;
        case 'document':
          if (block.title != null) out.texts.push(block.title);
          if (block.context != null) out.texts.push(block.context);
          if (block.source.type === 'text') out.texts.push(block.source.data);
          else out.files.push(block.source.data);
          break;
        case 'tool_result':
          out.toolResults.push(block.tool_use_id);
          if (typeof block.content === 'string') out.texts.push(block.content);
          else for (const inner of block.content ?? []) out.texts.push(inner.text);
          break;
        case 'tool_use':
          out.toolUses.push({ id: block.id, name: block.name, input: block.input });
          break;
      }
    }
  }
  out.texts = out.texts.filter((t) => t !== '').sort();
  return out;
}

function canonicalContent(request: ChatRequest): Content {
  const out: Content = { texts: [], images: [], files: [], toolUses: [], toolResults: [] };
  const pushText = (content: ChatMessage['content']): void => {
    if (typeof content === 'string') out.texts.push(content);
    else
      for (const part of content ?? []) {
        if (part.type === 'text') out.texts.push(part.text);
        else if (part.type === 'image_url') out.images.push(part.image_url.url);
        else if (part.type === 'file') out.files.push((part.file.file_data ?? '').replace('data:application/pdf;base64,', ''));
      }
  };
  for (const message of request.messages) {
    pushText(message.content);
    if (message.role === 'tool') out.toolResults.push(message.tool_call_id);
    if (message.role === 'assistant') {
      for (const call of message.tool_calls ?? []) out.toolUses.push({ id: call.id, name: call.function.name, input: JSON.parse(call.function.arguments) });
    }
  }
  out.texts = out.texts.filter((t) => t !== '').sort();
  return out;
}

// ---- junk and mutations

function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, index) => paths(item, [...prefix, index], out));
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
  return out;
}

function mutate(value: unknown, path: readonly (string | number)[], replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, index) => (index === head ? mutate(item, rest, replace) : item));
  const copy = { ...(value as Record<string, unknown>) };
  copy[String(head)] = mutate(copy[String(head)], rest, replace);
  return copy;
}

const secretJunk = fc.oneof(
  fc.string().map((s) => `${SENTINEL}${s}`),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string().map((s) => `${SENTINEL}${s}`), { maxLength: 2 }),
  fc.dictionary(fc.string().map((s) => `${SENTINEL}${s}`), fc.string().map((s) => `${SENTINEL}${s}`), { minKeys: 1, maxKeys: 2 }),
);

function expectOnlyTypedRefusal(body: unknown): void {
  let caught: unknown;
  try {
    parseAnthropicMessagesRequest(body);
    return;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GatewayError);
  const error = caught as GatewayError;
  expect(error.code).toBe('invalid_request');
  expect(JSON.stringify(error.detail)).not.toContain(SENTINEL);
  expect(error.param ?? '').not.toContain(SENTINEL);
  expect(error.message).not.toContain(SENTINEL);
}

describe('Messages request properties', () => {
  it('every valid request parses unchanged and translates into a valid OpenAI request with the same content', () => {
    fc.assert(
      fc.property(validRequest, (body) => {
        const parsed = anthropicMessagesRequestSchema.parse(body);
        expect(parsed).toEqual(body);
        const request = fromAnthropicRequest(parsed);
        const check = chatCompletionRequestSchema.safeParse(request);
        expect(check.success).toBe(true);
        expect(canonicalContent(request)).toEqual(anthropicContent(parsed));
        expect(request.model).toBe(body.model);
        expect(request.max_tokens).toBe(body.max_tokens);
        expect(request.stop ?? []).toEqual(body.stop_sequences ?? []);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary values never crash validation and only yield a typed, value-free refusal', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), secretJunk), (junk) => {
        expect(() => anthropicMessagesRequestSchema.safeParse(junk)).not.toThrow();
        expectOnlyTypedRefusal(junk);
      }),
      { numRuns: 500 },
    );
  });

  it('a valid request with one field replaced by junk or an unknown field added is accepted or refused without echoing it', () => {
    const mutated = validRequest.chain((body) => {
      const all = paths(body);
      return fc.tuple(fc.constant(body), fc.constantFrom(...all), secretJunk, fc.boolean(), fc.string().map((s) => `${SENTINEL}${s}`));
    });
    fc.assert(
      fc.property(mutated, ([body, path, junk, addKey, key]) => {
        const changed = mutate(body, path, (old) =>
          addKey && typeof old === 'object' && old !== null && !Array.isArray(old) ? { ...old, [key]: junk } : junk,
        );
        expectOnlyTypedRefusal(changed);
      }),
      { numRuns: 400 },
    );
  });
});

// ---- streams

type Piece = { kind: 'text'; value: string } | { kind: 'tool'; name: string; fragments: string[] };

const piece: fc.Arbitrary<Piece> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), value: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }) }),
  fc.record({
    kind: fc.constant('tool' as const),
    name: toolName,
    fragments: jsonInput.chain((input) => {
      const json = JSON.stringify(input);
      return fc.array(fc.nat(json.length), { maxLength: 4 }).map((cuts) => {
        const sorted = [...new Set([0, ...cuts, json.length])].sort((a, b) => a - b);
        return sorted.slice(1).map((end, i) => json.slice(sorted[i], end));
      });
    }),
  }),
);

function toDeltas(pieces: readonly Piece[], finish: 'stop' | 'length' | 'tool_calls'): ChatDelta[] {
  const base = { id: 'chatcmpl-prop', object: 'chat.completion.chunk' as const, created: 1, model: 'up' };
  const deltas: ChatDelta[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] }];
  let toolIndex = 0;
  for (const p of pieces) {
    if (p.kind === 'text') {
      deltas.push({ ...base, choices: [{ index: 0, delta: { content: p.value }, finish_reason: null }] });
      continue;
    }
    const index = toolIndex++;
    deltas.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: `call_${index}`, type: 'function', function: { name: p.name, arguments: '' } }] }, finish_reason: null }] });
    for (const fragment of p.fragments) {
      deltas.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: fragment } }] }, finish_reason: null }] });
    }
  }
  deltas.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  return deltas;
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe('stream translation properties', () => {
  it('any sequential chunk stream becomes a well-formed event stream that reassembles the same content', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 8 }), fc.constantFrom('stop' as const, 'length' as const, 'tool_calls' as const), async (pieces, finish) => {
        const blocks: { type: string; text: string; name?: string; json: string }[] = [];
        const names: string[] = [];
        let open = -1;
        for await (const { event, data } of toAnthropicStream(fromArray(toDeltas(pieces, finish)), 'claude-x')) {
          expect(event).toBe(data.type);
          names.push(event);
          if (data.type === 'content_block_start') {
            expect(open).toBe(-1);
            expect(data.index).toBe(blocks.length);
            open = data.index;
            const block = data.content_block;
            blocks.push(block.type === 'text' ? { type: 'text', text: block.text, json: '' } : { type: 'tool_use', text: '', name: block.name, json: '' });
          } else if (data.type === 'content_block_delta') {
            expect(data.index).toBe(open);
            const block = blocks[data.index];
            if (block === undefined) throw new Error('delta for a missing block');
            if (data.delta.type === 'text_delta') block.text += data.delta.text;
            else block.json += data.delta.partial_json;
          } else if (data.type === 'content_block_stop') {
            expect(data.index).toBe(open);
            open = -1;
          }
        }
        expect(open).toBe(-1);
        expect(names[0]).toBe('message_start');
        expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);

        // Adjacent text pieces share one block, exactly as the upstream stream concatenates them.
        const expected: { type: string; text: string; name?: string; json: string }[] = [];
        for (const p of pieces) {
          const last = expected.at(-1);
          if (p.kind === 'text') {
            if (last?.type === 'text') last.text += p.value;
            else expected.push({ type: 'text', text: p.value, json: '' });
          } else {
            expected.push({ type: 'tool_use', text: '', name: p.name, json: p.fragments.join('') });
          }
        }
        expect(blocks).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
