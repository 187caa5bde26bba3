// SPDX-License-Identifier: Apache-2.0
/**
 * Wire test: bodies the official `openai` SDK actually sends are accepted by our schemas, and
 * our embeddings response (float and base64) is what the SDK decodes. A real local HTTP server
 * stands in for the gateway route.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toErrorBody } from '../../kernel/errors.js';
import type { ChatRequest, EmbedRequest, EmbedResult } from '../../providers/types.js';
import { toEmbeddingResponse } from './embeddings.js';
import { parseChatCompletionRequest, parseEmbeddingRequest } from './schemas.js';
import { SSE_HEADERS, encodeChatChunk, SSE_DONE } from './sse.js';

// Values exactly representable as float32, so base64 round trips compare equal.
const VECTORS = [
  [0.5, -0.25, 0.125, 1],
  [-1, 0, 0.75, 2.5],
];

let lastChat: ChatRequest | undefined;
let lastEmbed: EmbedRequest | undefined;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = '';
  for await (const part of req) raw += String(part);
  try {
    if (req.url === '/v1/embeddings') {
      lastEmbed = parseEmbeddingRequest(JSON.parse(raw));
      const count = typeof lastEmbed.input === 'string' ? 1 : lastEmbed.input.length;
      const result: EmbedResult = {
        object: 'list',
        data: VECTORS.slice(0, count).map((embedding, index) => ({ object: 'embedding', index, embedding })),
        model: 'upstream',
        usage: { prompt_tokens: 3, total_tokens: 3 },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toEmbeddingResponse(result, lastEmbed.encoding_format, lastEmbed.model)));
      return;
    }
    const { request } = parseChatCompletionRequest(JSON.parse(raw));
    lastChat = request;
    const message = { role: 'assistant' as const, content: '{"ok":true}', refusal: null };
    if (request.stream === true) {
      res.writeHead(200, SSE_HEADERS);
      res.write(encodeChatChunk({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta: { role: 'assistant', content: message.content }, finish_reason: null }] }));
      res.write(encodeChatChunk({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
      res.end(SSE_DONE);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: request.model, choices: [{ index: 0, message, finish_reason: 'stop', logprobs: null }] }),
    );
  } catch (err) {
    const { status, body } = toErrorBody(err);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

let server: Server;
let client: OpenAI;

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'test-key', maxRetries: 0 });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  lastChat = undefined;
  lastEmbed = undefined;
});

describe('openai SDK bodies against our schemas', () => {
  it('accepts a chat call with tools, multimodal content and a JSON schema response format', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'developer', content: 'Answer in JSON.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'auto',
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { ok: { type: 'boolean' } } }, strict: true } },
      max_completion_tokens: 50,
      metadata: { team: 'cardiology' },
      store: false,
    });
    expect(completion.choices[0]?.message.content).toBe('{"ok":true}');
    expect(lastChat?.response_format?.type).toBe('json_schema');
    expect(lastChat && 'metadata' in lastChat).toBe(false);
  });

  it('accepts what the streaming helper sends', async () => {
    const runner = client.chat.completions.stream({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
    const completion = await runner.finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe('{"ok":true}');
    expect(lastChat?.stream).toBe(true);
  });

  it('refuses an unsupported parameter with a 400 the SDK raises as BadRequestError', async () => {
    const call = client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], logit_bias: { '50256': -100 } });
    await expect(call).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const error = (await call.catch((err: unknown) => err)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.code).toBe('invalid_request');
    expect(error.param).toBe('logit_bias');
  });

  it('embeddings: the SDK default (base64) decodes to the same vectors', async () => {
    const response = await client.embeddings.create({ model: 'embed-test', input: ['a', 'b'] });
    expect(lastEmbed?.encoding_format).toBe('base64');
    expect(response.data.map((item) => Array.from(item.embedding))).toEqual(VECTORS);
    expect(response.model).toBe('embed-test');
  });

  it('embeddings: an explicit float format is passed through as numbers', async () => {
    const response = await client.embeddings.create({ model: 'embed-test', input: 'a', encoding_format: 'float', dimensions: 4 });
    expect(lastEmbed).toEqual({ model: 'embed-test', input: 'a', encoding_format: 'float', dimensions: 4 });
    expect(response.data[0]?.embedding).toEqual(VECTORS[0]);
  });
});
