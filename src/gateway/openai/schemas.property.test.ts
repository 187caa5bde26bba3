// SPDX-License-Identifier: Apache-2.0
/**
 * Property tests: generated valid chat and embeddings requests parse unchanged (no content is
 * lost or rewritten), and arbitrary or mutated bodies only ever produce a typed
 * `invalid_request` whose detail never echoes what was sent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../kernel/errors.js';
import { chatCompletionRequestSchema, embeddingRequestSchema, parseChatCompletionRequest, parseEmbeddingRequest, toChatRequest } from './schemas.js';

const SENTINEL = 'QXSECRET';

function withOptional<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

const text = fc.string({ unit: 'binary', maxLength: 40 });
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);
const fnName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const jsonObject = fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }).map(
  (value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>,
);

const textPart = fc.record({ type: fc.constant('text' as const), text });
const part = fc.oneof(
  textPart,
  fc.record({ type: fc.constant('image_url' as const), image_url: fc.record({ url: fc.webUrl(), detail: opt(fc.constantFrom('auto' as const, 'low' as const, 'high' as const)) }).map(withOptional) }),
  fc.record({ type: fc.constant('input_audio' as const), input_audio: fc.record({ data: fc.base64String({ minLength: 4, maxLength: 16 }), format: fc.constantFrom('wav' as const, 'mp3' as const) }) }),
  fc.record({ type: fc.constant('file' as const), file: fc.record({ file_data: fc.base64String({ minLength: 4, maxLength: 16 }), filename: opt(text) }).map(withOptional) }),
);
const textContent = fc.oneof(text, fc.array(textPart, { maxLength: 3 }));
const toolCall = fc.record({ id, type: fc.constant('function' as const), function: fc.record({ name: fnName, arguments: jsonObject.map((o) => JSON.stringify(o)) }) });

const message = fc.oneof(
  fc.record({ role: fc.constantFrom('system' as const, 'developer' as const), content: textContent, name: opt(id) }).map(withOptional),
  fc.record({ role: fc.constant('user' as const), content: fc.oneof(text, fc.array(part, { maxLength: 4 })), name: opt(id) }).map(withOptional),
  fc
    .record({
      role: fc.constant('assistant' as const),
      content: fc.option(textContent, { nil: null }),
      tool_calls: opt(fc.array(toolCall, { minLength: 1, maxLength: 3 })),
      refusal: opt(fc.option(text, { nil: null })),
    })
    .map(withOptional),
  fc.record({ role: fc.constant('tool' as const), content: textContent, tool_call_id: id }),
);

const validChat = fc
  .record({
    model: fc.stringMatching(/^[a-z0-9.-]{1,40}$/),
    messages: fc.array(message, { minLength: 1, maxLength: 6 }),
    tools: opt(fc.array(fc.record({ type: fc.constant('function' as const), function: fc.record({ name: fnName, description: opt(text), parameters: opt(jsonObject), strict: opt(fc.boolean()) }).map(withOptional) }), { maxLength: 3 })),
    tool_choice: opt(fc.oneof(fc.constantFrom('none' as const, 'auto' as const, 'required' as const), fc.record({ type: fc.constant('function' as const), function: fc.record({ name: fnName }) }))),
    parallel_tool_calls: opt(fc.boolean()),
    response_format: opt(
      fc.oneof(
        fc.record({ type: fc.constantFrom('text' as const, 'json_object' as const) }),
        fc.record({ type: fc.constant('json_schema' as const), json_schema: fc.record({ name: fnName, schema: opt(jsonObject), strict: opt(fc.boolean()) }).map(withOptional) }),
      ),
    ),
    max_tokens: opt(fc.integer({ min: 1, max: 1_000_000 })),
    temperature: opt(fc.double({ min: 0, max: 2, noNaN: true })),
    top_p: opt(fc.double({ min: 0, max: 1, noNaN: true })),
    n: opt(fc.integer({ min: 1, max: 128 })),
    stop: opt(fc.oneof(text, fc.array(text, { maxLength: 4 }))),
    seed: opt(fc.integer()),
    presence_penalty: opt(fc.double({ min: -2, max: 2, noNaN: true })),
    user: opt(id),
    stream: opt(fc.boolean()),
    stream_options: opt(fc.record({ include_usage: fc.boolean() })),
    metadata: opt(fc.dictionary(fc.string({ maxLength: 64 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 512 }), { maxKeys: 16 })),
  })
  .map(withOptional);

const secretString = fc.string().map((s) => `${SENTINEL}${s}`);
const secretJunk = fc.oneof(
  secretString,
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.array(secretString, { maxLength: 2 }),
  fc.dictionary(secretString, secretString, { minKeys: 1, maxKeys: 2 }),
);

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

function expectOnlyTypedRefusal(parse: () => unknown): void {
  let caught: unknown;
  try {
    parse();
    return;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GatewayError);
  const error = caught as GatewayError;
  expect(error.code).toBe('invalid_request');
  expect(JSON.stringify(error.detail)).not.toContain(SENTINEL);
  expect(error.param ?? '').not.toContain(SENTINEL);
}

describe('OpenAI request properties', () => {
  it('every valid chat request parses unchanged, and the canonical copy keeps all content', () => {
    fc.assert(
      fc.property(validChat, (body) => {
        const parsed = chatCompletionRequestSchema.parse(body);
        expect(parsed).toEqual(body);
        const { metadata: _metadata, ...rest } = body;
        expect(toChatRequest(parsed)).toEqual(rest);
      }),
      { numRuns: 300 },
    );
  });

  it('every valid embeddings request parses unchanged', () => {
    const validEmbed = fc
      .record({
        model: fc.stringMatching(/^[a-z0-9.-]{1,40}$/),
        input: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 5 })),
        encoding_format: opt(fc.constantFrom('float' as const, 'base64' as const)),
        dimensions: opt(fc.integer({ min: 1, max: 4096 })),
        user: opt(id),
      })
      .map(withOptional);
    fc.assert(
      fc.property(validEmbed, (body) => {
        expect(embeddingRequestSchema.parse(body)).toEqual(body);
      }),
    );
  });

  it('arbitrary values never crash validation and only yield a typed, value-free refusal', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), secretJunk), (junk) => {
        expect(() => chatCompletionRequestSchema.safeParse(junk)).not.toThrow();
        expectOnlyTypedRefusal(() => parseChatCompletionRequest(junk));
        expectOnlyTypedRefusal(() => parseEmbeddingRequest(junk));
      }),
      { numRuns: 500 },
    );
  });

  it('a valid request with one field replaced by junk or an unknown field added is accepted or refused without echoing it', () => {
    const mutated = validChat.chain((body) => fc.tuple(fc.constant(body), fc.constantFrom(...paths(body)), secretJunk, fc.boolean(), secretString));
    fc.assert(
      fc.property(mutated, ([body, path, junk, addKey, key]) => {
        const changed = mutate(body, path, (old) => (addKey && typeof old === 'object' && old !== null && !Array.isArray(old) ? { ...old, [key]: junk } : junk));
        expectOnlyTypedRefusal(() => parseChatCompletionRequest(changed));
      }),
      { numRuns: 400 },
    );
  });
});
