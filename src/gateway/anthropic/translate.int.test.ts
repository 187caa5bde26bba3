// SPDX-License-Identifier: Apache-2.0
/**
 * Wire test: the official `@anthropic-ai/sdk` client talks to a real local HTTP server that
 * answers with our translation (JSON for plain calls, `toAnthropicStream` encoded as SSE for
 * streaming ones), and must reassemble the same text and tool input the canonical side produced.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../kernel/errors.js';
import type { ChatDelta, ChatRequest, ChatResult } from '../../providers/types.js';
import { parseAnthropicMessagesRequest } from './schemas.js';
import { ANTHROPIC_PING, ANTHROPIC_SSE_HEADERS, encodeAnthropicEvent } from './sse.js';
import { fromAnthropicRequest, toAnthropicErrorResponse, toAnthropicMessage, toAnthropicStream, toAnthropicStreamError } from './translate.js';

const TEXT = 'Blood pressure is 128/82 — “normal”.\nNext line with emoji 🩺 and "quotes".';
const TOOL_INPUT = { code: 'I10', system: 'ICD-10', tags: ['a', 'b'], nested: { n: 1.5, ok: true, nothing: null } };

/** Scripted upstream answers, chosen by the model name the client sends. */
function scriptedResult(model: string): ChatResult {
  const base = { id: 'chatcmpl-wire1', object: 'chat.completion' as const, created: 1_700_000_000, model: 'upstream', usage: { prompt_tokens: 21, completion_tokens: 13, total_tokens: 34 } };
  if (model === 'tools') {
    return {
      ...base,
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          logprobs: null,
          message: {
            role: 'assistant',
            content: 'Looking it up.',
            tool_calls: [
              { id: 'toolu_01', type: 'function', function: { name: 'lookup_code', arguments: JSON.stringify(TOOL_INPUT) } },
              { id: 'toolu_02', type: 'function', function: { name: 'noop', arguments: '{}' } },
            ],
          },
        },
      ],
    };
  }
  return { ...base, choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: TEXT } }] };
}

function scriptedDeltas(model: string): ChatDelta[] {
  const base = { id: 'chatcmpl-wire2', object: 'chat.completion.chunk' as const, created: 1_700_000_000, model: 'upstream' };
  const c = (delta: ChatDelta['choices'][number]['delta'], finish: ChatDelta['choices'][number]['finish_reason'] = null): ChatDelta => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const usage: ChatDelta = { ...base, choices: [], usage: { prompt_tokens: 21, completion_tokens: 13, total_tokens: 34 } };
  if (model === 'tools') {
    const json = JSON.stringify(TOOL_INPUT);
    return [
      c({ role: 'assistant', content: 'Looking ' }),
      c({ content: 'it up.' }),
      c({ tool_calls: [{ index: 0, id: 'toolu_01', type: 'function', function: { name: 'lookup_code', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: json.slice(0, 7) } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: json.slice(7, 30) } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: json.slice(30) } }] }),
      c({ tool_calls: [{ index: 1, id: 'toolu_02', type: 'function', function: { name: 'noop', arguments: '{}' } }] }),
      c({}, 'tool_calls'),
      usage,
    ];
  }
  const pieces = TEXT.match(/.{1,5}/gsu) ?? [];
  return [c({ role: 'assistant', content: '' }), ...pieces.map((piece) => c({ content: piece })), c({}, 'stop'), usage];
}

/** Deltas the next `model: "generated"` call streams, set by the property test. */
let generated: ChatDelta[] = [];

async function* upstream(model: string): AsyncGenerator<ChatDelta> {
  const deltas = model === 'generated' ? generated : scriptedDeltas(model);
  for (const [index, delta] of deltas.entries()) {
    if (model === 'fail-mid-stream' && index === 3) throw new GatewayError('provider_unavailable');
    yield delta;
  }
}

let lastRequest: ChatRequest | undefined;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = '';
  for await (const part of req) raw += String(part);
  let body;
  try {
    body = parseAnthropicMessagesRequest(JSON.parse(raw));
  } catch (err) {
    const { status, body: errorBody } = toAnthropicErrorResponse(err);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody));
    return;
  }
  lastRequest = fromAnthropicRequest(body);
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toAnthropicMessage(scriptedResult(body.model), body.model)));
    return;
  }
  res.writeHead(200, ANTHROPIC_SSE_HEADERS);
  try {
    for await (const event of toAnthropicStream(upstream(body.model), body.model)) {
      res.write(encodeAnthropicEvent(event));
      // Anthropic sends a ping after message_start; the SDK must skip it.
      if (event.event === 'message_start') res.write(ANTHROPIC_PING);
    }
  } catch (err) {
    res.write(encodeAnthropicEvent(toAnthropicStreamError(err)));
  }
  res.end();
}

let server: Server;
let client: Anthropic;

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'test-key', maxRetries: 0 });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  lastRequest = undefined;
});

const tools: Anthropic.Messages.Tool[] = [
  { name: 'lookup_code', description: 'Find a diagnosis code', input_schema: { type: 'object', properties: { code: { type: 'string' } } } },
  { name: 'noop', input_schema: { type: 'object' } },
];

describe('@anthropic-ai/sdk against our translation', () => {
  it('messages.create without streaming returns the translated text message', async () => {
    const message = await client.messages.create({ model: 'text', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'How is the BP?' }] });
    expect(message.id).toBe('msg_wire1');
    expect(message.model).toBe('text');
    expect(message.content).toEqual([{ type: 'text', text: TEXT }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 21, output_tokens: 13 });
    expect(lastRequest?.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'How is the BP?' },
    ]);
  });

  it('messages.create without streaming returns tool_use blocks with parsed input', async () => {
    const message = await client.messages.create({ model: 'tools', max_tokens: 256, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Code it' }] });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'text', text: 'Looking it up.' },
      { type: 'tool_use', id: 'toolu_01', name: 'lookup_code', input: TOOL_INPUT },
      { type: 'tool_use', id: 'toolu_02', name: 'noop', input: {} },
    ]);
    expect(lastRequest?.tool_choice).toBe('required');
    expect(lastRequest?.tools?.map((tool) => tool.function.name)).toEqual(['lookup_code', 'noop']);
  });

  it('messages.create with stream: true yields the event sequence and the text', async () => {
    const stream = await client.messages.create({ model: 'text', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const types: string[] = [];
    let text = '';
    let stopReason: string | null = null;
    let outputTokens = -1;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') {
        stopReason = event.delta.stop_reason;
        outputTokens = event.usage.output_tokens;
      }
    }
    expect(text).toBe(TEXT);
    expect(stopReason).toBe('end_turn');
    expect(outputTokens).toBe(13);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(lastRequest?.stream).toBe(true);
    expect(lastRequest?.stream_options).toEqual({ include_usage: true });
  });

  it('messages.stream().finalMessage() reassembles text and tool_use input', async () => {
    const stream = client.messages.stream({ model: 'tools', max_tokens: 256, tools, messages: [{ role: 'user', content: 'Code it' }] });
    const texts: string[] = [];
    const jsonFragments: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    stream.on('inputJson', (fragment) => jsonFragments.push(fragment));
    const message = await stream.finalMessage();
    expect(message.id).toBe('msg_wire2');
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 21, output_tokens: 13 });
    expect(message.content).toEqual([
      { type: 'text', text: 'Looking it up.' },
      { type: 'tool_use', id: 'toolu_01', name: 'lookup_code', input: TOOL_INPUT },
      { type: 'tool_use', id: 'toolu_02', name: 'noop', input: {} },
    ]);
    expect(texts.join('')).toBe('Looking it up.');
    expect(jsonFragments.join('')).toBe(JSON.stringify(TOOL_INPUT) + '{}');
  });

  it('messages.stream().finalText() gives the text of a plain answer', async () => {
    const stream = client.messages.stream({ model: 'text', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
    expect(await stream.finalText()).toBe(TEXT);
  });

  it('sends a full tool round trip that translates to tool_calls and tool messages', async () => {
    await client.messages.create({
      model: 'text',
      max_tokens: 256,
      tools,
      messages: [
        { role: 'user', content: 'Code it' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'lookup_code', input: TOOL_INPUT }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01', content: 'Essential hypertension' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(lastRequest?.messages).toEqual([
      { role: 'user', content: 'Code it' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'lookup_code', arguments: JSON.stringify(TOOL_INPUT) } }] },
      { role: 'tool', tool_call_id: 'toolu_01', content: 'Essential hypertension' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
    ]);
  });

  it('a refused request surfaces as the SDK error class for its status, with Anthropic error type', async () => {
    const call = client.messages.create({
      model: 'text',
      max_tokens: 256,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Hi' }],
    });
    await expect(call).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    const error = (await call.catch((err: unknown) => err)) as InstanceType<typeof Anthropic.BadRequestError>;
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_request' } });
  });

  it('an upstream failure after the stream started arrives as an error event the SDK raises', async () => {
    const stream = client.messages.stream({ model: 'fail-mid-stream', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
    const failure = await stream.finalMessage().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect((failure as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error', code: 'provider_unavailable' } });
  });
});

describe('@anthropic-ai/sdk reassembles any generated stream', () => {
  const toolName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
  const input = fc
    .dictionary(
      fc.string({ maxLength: 8 }).filter((key) => key !== '__proto__'),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 4 },
    )
    .map((value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
  type Piece = { kind: 'text'; text: string } | { kind: 'tool'; name: string; input: Record<string, unknown>; cuts: number[] };
  const piece: fc.Arbitrary<Piece> = fc.oneof(
    fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) }),
    fc.record({ kind: fc.constant('tool' as const), name: toolName, input, cuts: fc.array(fc.nat(200), { maxLength: 4 }) }),
  );

  it('text and tool_use input come out of finalMessage() as they went in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 6 }), async (pieces) => {
        const base = { id: 'chatcmpl-gen', object: 'chat.completion.chunk' as const, created: 1, model: 'upstream' };
        const deltas: ChatDelta[] = [];
        const expected: Anthropic.Messages.ContentBlock[] = [];
        let toolIndex = 0;
        for (const p of pieces) {
          if (p.kind === 'text') {
            deltas.push({ ...base, choices: [{ index: 0, delta: { content: p.text }, finish_reason: null }] });
            const last = expected.at(-1);
            if (last?.type === 'text') last.text += p.text;
            else expected.push({ type: 'text', text: p.text, citations: null });
            continue;
          }
          const index = toolIndex++;
          const json = JSON.stringify(p.input);
          const cuts = [...new Set([0, ...p.cuts.map((cut) => Math.min(cut, json.length)), json.length])].sort((a, b) => a - b);
          deltas.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: `toolu_${index}`, type: 'function', function: { name: p.name, arguments: '' } }] }, finish_reason: null }] });
          for (let i = 1; i < cuts.length; i += 1) {
            deltas.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: json.slice(cuts[i - 1], cuts[i]) } }] }, finish_reason: null }] });
          }
          expected.push({ type: 'tool_use', id: `toolu_${index}`, name: p.name, input: p.input } as Anthropic.Messages.ToolUseBlock);
        }
        deltas.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: toolIndex > 0 ? 'tool_calls' : 'stop' }] });
        generated = deltas;
        const message = await client.messages.stream({ model: 'generated', max_tokens: 256, messages: [{ role: 'user', content: 'go' }] }).finalMessage();
        // The SDK snapshot keeps whatever fields our content_block_start carried; compare content only.
        const got = message.content.map((block) => (block.type === 'text' ? { type: 'text', text: block.text } : block.type === 'tool_use' ? { type: 'tool_use', id: block.id, name: block.name, input: block.input } : block));
        const want = expected.map((block) => (block.type === 'text' ? { type: 'text', text: block.text } : block));
        expect(got).toEqual(want);
        expect(message.stop_reason).toBe(toolIndex > 0 ? 'tool_use' : 'end_turn');
      }),
      { numRuns: 40 },
    );
  });
});
