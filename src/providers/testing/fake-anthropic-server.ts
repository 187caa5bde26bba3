// SPDX-License-Identifier: Apache-2.0
/**
 * A local server speaking Anthropic's Messages API (`POST /v1/messages`): it checks the key
 * (`x-api-key`, or a bearer token as newer SDKs send it) and `anthropic-version`, answers in
 * Anthropic's JSON, and streams the real SSE event sequence (message_start, content_block_start, ping, content_block_delta with
 * text_delta / input_json_delta, content_block_stop, message_delta, message_stop).
 */
import { emptySummary, fragments, replyFinish, replyUsage, startFakeServer } from './fake-server.js';
import type { FakeReply, FakeVendorServer, RequestSummary } from './fake-server.js';

export interface FakeAnthropicOptions {
  /** The key clients must present in `x-api-key`. Default `test-anthropic-key`. */
  readonly apiKey?: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const stopReasons = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'refusal' } as const;

function blocksText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((block) => (isRecord(block) && block.type === 'text' ? String(block.text) : '')).join('');
}

/** Reads a Messages API body the way Anthropic would. */
export function summarizeAnthropicBody(_path: string, body: unknown): RequestSummary {
  if (!isRecord(body)) return emptySummary;
  const texts: string[] = [];
  const images: { mediaType?: string; data?: string; url?: string }[] = [];
  const toolUses: { id: string; name: string; arguments: unknown }[] = [];
  const toolResults: { id: string; content: string }[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isRecord) : []) {
    const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : Array.isArray(message.content) ? message.content.filter(isRecord) : [];
    const text = blocks.map((block) => (block.type === 'text' ? String(block.text) : '')).join('');
    if (text !== '') texts.push(text);
    for (const block of blocks) {
      if (block.type === 'image' && isRecord(block.source)) {
        images.push(block.source.type === 'base64' ? { mediaType: String(block.source.media_type), data: String(block.source.data) } : { url: String(block.source.url) });
      } else if (block.type === 'tool_use') toolUses.push({ id: String(block.id), name: String(block.name), arguments: block.input });
      else if (block.type === 'tool_result') toolResults.push({ id: String(block.tool_use_id), content: blocksText(block.content) });
    }
  }
  const format = isRecord(body.output_format) ? body.output_format : undefined;
  return {
    kind: 'chat',
    model: String(body.model ?? ''),
    stream: body.stream === true,
    system: blocksText(body.system),
    texts,
    images,
    toolNames: Array.isArray(body.tools) ? body.tools.map((tool) => (isRecord(tool) ? String(tool.name) : '')) : [],
    toolUses,
    toolResults,
    responseSchema: format?.schema,
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  };
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** Starts a fake Anthropic server. */
export function startFakeAnthropicServer(options: FakeAnthropicOptions = {}): Promise<FakeVendorServer> {
  const key = options.apiKey ?? 'test-anthropic-key';
  const id = 'msg_fake01';
  const sse = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  return startFakeServer({
    // Newer official SDKs send the key as a bearer token; the API accepts either header.
    authorize: (request) =>
      (request.headers['x-api-key'] === key || request.headers.authorization === `Bearer ${key}`) && typeof request.headers['anthropic-version'] === 'string',
    summarize: summarizeAnthropicBody,
    errorBody: (status) => JSON.stringify({ type: 'error', error: { type: errorTypes[status] ?? 'api_error', message: `vendor-error-text for Jane Roe (${status})` } }),
    completion: (reply, summary) => {
      const usage = replyUsage(reply, summary);
      const content: unknown[] = [];
      if (reply.text !== undefined) content.push({ type: 'text', text: reply.text });
      reply.toolCalls?.forEach((call, index) => content.push({ type: 'tool_use', id: call.id ?? `toolu_fake${index}`, name: call.name, input: JSON.parse(call.arguments) as unknown }));
      return JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model: summary.model,
        content,
        stop_reason: stopReasons[replyFinish(reply)],
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: usage.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    },
    embedding: () => JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'no embeddings' } }),
    streamContentType: 'text/event-stream; charset=utf-8',
    streamFrames: (reply: FakeReply, summary) => {
      const usage = replyUsage(reply, summary);
      const frames = [
        sse('message_start', { message: { id, type: 'message', role: 'assistant', model: summary.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: 1 } } }),
      ];
      let index = 0;
      if (reply.text !== undefined) {
        frames.push(sse('content_block_start', { index, content_block: { type: 'text', text: '' } }), sse('ping', {}));
        for (const piece of fragments(reply.text, reply.chunkChars)) frames.push(sse('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
        frames.push(sse('content_block_stop', { index }));
        index++;
      }
      reply.toolCalls?.forEach((call, n) => {
        frames.push(sse('content_block_start', { index, content_block: { type: 'tool_use', id: call.id ?? `toolu_fake${n}`, name: call.name, input: {} } }));
        frames.push(sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }));
        for (const piece of fragments(call.arguments, 5)) frames.push(sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
        frames.push(sse('content_block_stop', { index }));
        index++;
      });
      frames.push(sse('message_delta', { delta: { stop_reason: stopReasons[replyFinish(reply)], stop_sequence: null }, usage: { output_tokens: usage.output } }));
      frames.push(sse('message_stop', {}));
      return frames;
    },
    streamError: () => sse('error', { error: { type: 'overloaded_error', message: 'vendor-error-text Overloaded' } }),
  });
}
