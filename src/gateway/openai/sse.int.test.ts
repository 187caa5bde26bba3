// SPDX-License-Identifier: Apache-2.0
/** The official `openai` SDK reads what our SSE encoder writes, served by a real local HTTP server. */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatDelta } from '../../providers/types.js';
import { SSE_HEADERS, encodeChatStream, encodeStreamError } from './sse.js';

function delta(choice: ChatDelta['choices'][number], extra: Partial<ChatDelta> = {}): ChatDelta {
  return { id: 'chatcmpl-wire', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-test', choices: [choice], ...extra };
}

const textChunks: ChatDelta[] = [
  delta({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }),
  delta({ index: 0, delta: { content: 'Hello, ' }, finish_reason: null }),
  delta({ index: 0, delta: { content: 'wörld — "ok"\n' }, finish_reason: null }),
  delta({ index: 0, delta: {}, finish_reason: 'stop' }),
  { id: 'chatcmpl-wire', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-test', choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } },
];

const toolChunks: ChatDelta[] = [
  delta({ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '' } }] }, finish_reason: null }),
  delta({ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"code":' } }] }, finish_reason: null }),
  delta({ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"I10"}' } }] }, finish_reason: null }),
  delta({ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'note', arguments: '{}' } }] }, finish_reason: null }),
  delta({ index: 0, delta: {}, finish_reason: 'tool_calls' }),
];

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = '';
  for await (const part of req) raw += String(part);
  const body = JSON.parse(raw) as { model: string };
  res.writeHead(200, SSE_HEADERS);
  if (body.model === 'error-mid-stream') {
    res.write(`data: ${JSON.stringify(textChunks[1])}\n\n`);
    res.end(encodeStreamError({ error: { message: 'The model provider failed or could not be reached', type: 'server_error', param: null, code: 'provider_unavailable' } }));
    return;
  }
  for await (const frame of encodeChatStream(fromArray(body.model === 'tools' ? toolChunks : textChunks))) res.write(frame);
  res.end();
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

describe('openai SDK reading our SSE', () => {
  it('reassembles streamed text, finish reason and usage', async () => {
    const stream = await client.chat.completions.create({ model: 'text', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello, wörld — "ok"\n');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  });

  it('reassembles tool calls through the stream helper', async () => {
    const runner = client.chat.completions.stream({ model: 'tools', messages: [{ role: 'user', content: 'hi' }] });
    const completion = await runner.finalChatCompletion();
    const calls = completion.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((call) => (call.type === 'function' ? [call.id, call.function.name, call.function.arguments] : []))).toEqual([
      ['call_a', 'lookup', '{"code":"I10"}'],
      ['call_b', 'note', '{}'],
    ]);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('raises an error frame sent mid-stream as an APIError', async () => {
    const stream = await client.chat.completions.create({ model: 'error-mid-stream', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const seen: string[] = [];
    const consume = async (): Promise<void> => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(seen).toEqual(['Hello, ']);
  });
});
