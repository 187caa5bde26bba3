// SPDX-License-Identifier: Apache-2.0
/**
 * A local server speaking the OpenAI Chat Completions and Embeddings wire format, as OpenAI,
 * vLLM and Ollama do (`/v1/chat/completions`), or Azure OpenAI's deployment routes
 * (`/openai/deployments/{deployment}/chat/completions?api-version=…`). Streams are SSE
 * `data:` frames ending in `data: [DONE]`, with a comment line and CRLF endings mixed in so
 * clients are exercised on the whole grammar.
 */
import type { IncomingMessage } from 'node:http';
import {
  emptySummary,
  fakeVector,
  fragments,
  replyFinish,
  replyUsage,
  startFakeServer,
} from './fake-server.js';
import type { FakeReply, FakeVendorServer, RequestSummary } from './fake-server.js';

export interface FakeOpenAiOptions {
  /** `azure` serves deployment routes and accepts the `api-key` header. Default `openai`. */
  readonly flavor?: 'openai' | 'azure' | undefined;
  /** The key clients must present. Default `test-openai-key`. */
  readonly apiKey?: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
}

/** Reads an OpenAI chat or embeddings body the way the vendor would. */
export function summarizeOpenAiBody(path: string, body: unknown): RequestSummary {
  const deployment = /\/openai\/deployments\/([^/]+)\//.exec(path)?.[1];
  if (!isRecord(body)) return emptySummary;
  const model = deployment ? decodeURIComponent(deployment) : String(body.model ?? '');
  if (path.includes('/embeddings')) {
    const input = body.input;
    return { ...emptySummary, kind: 'embed', model, embedInputs: typeof input === 'string' ? [input] : Array.isArray(input) ? input.map(String) : [] };
  }
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const system: string[] = [];
  const texts: string[] = [];
  const images: { mediaType?: string; data?: string; url?: string }[] = [];
  const toolUses: { id: string; name: string; arguments: unknown }[] = [];
  const toolResults: { id: string; content: string }[] = [];
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'developer') system.push(partsText(message.content));
    else if (message.role === 'tool') toolResults.push({ id: String(message.tool_call_id), content: partsText(message.content) });
    else {
      const text = partsText(message.content);
      if (text !== '') texts.push(text);
      if (Array.isArray(message.content)) {
        for (const part of message.content) {
          if (isRecord(part) && part.type === 'image_url' && isRecord(part.image_url)) {
            const url = String(part.image_url.url);
            const data = /^data:([^;]+);base64,(.*)$/.exec(url);
            images.push(data ? { mediaType: data[1], data: data[2] } : { url });
          }
        }
      }
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) {
          if (isRecord(call) && isRecord(call.function)) {
            toolUses.push({ id: String(call.id), name: String(call.function.name), arguments: JSON.parse(String(call.function.arguments)) as unknown });
          }
        }
      }
    }
  }
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const format = isRecord(body.response_format) ? body.response_format : undefined;
  return {
    kind: 'chat',
    model,
    stream: body.stream === true,
    system: system.join('\n'),
    texts,
    images,
    toolNames: tools.map((tool) => (isRecord(tool) && isRecord(tool.function) ? String(tool.function.name) : '')),
    toolUses,
    toolResults,
    responseSchema: format?.type === 'json_schema' && isRecord(format.json_schema) ? format.json_schema.schema : format?.type === 'json_object' ? {} : undefined,
    streamUsage: isRecord(body.stream_options) && body.stream_options.include_usage === true,
    maxTokens: typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  };
}

function authorized(request: IncomingMessage, flavor: 'openai' | 'azure', key: string): boolean {
  if (flavor === 'azure' && request.headers['api-key'] === key) return new URL(request.url ?? '/', 'http://x').searchParams.has('api-version');
  return request.headers.authorization === `Bearer ${key}` && (flavor === 'openai' || new URL(request.url ?? '/', 'http://x').searchParams.has('api-version'));
}

/** Starts a fake OpenAI-compatible (or Azure OpenAI) server. */
export function startFakeOpenAiServer(options: FakeOpenAiOptions = {}): Promise<FakeVendorServer> {
  const flavor = options.flavor ?? 'openai';
  const key = options.apiKey ?? 'test-openai-key';
  const id = 'chatcmpl-fake0001';
  const created = 1_700_000_000;
  const chunk = (summary: RequestSummary, delta: unknown, finish: string | null = null): string =>
    JSON.stringify({ id, object: 'chat.completion.chunk', created, model: summary.model, system_fingerprint: 'fp_fake', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

  return startFakeServer({
    authorize: (request) => authorized(request, flavor, key),
    summarize: summarizeOpenAiBody,
    // The message deliberately carries request-like text: adapters must never surface it.
    errorBody: (status) =>
      JSON.stringify({ error: { message: `vendor-error-text status ${status} for patient Jane Roe`, type: status === 429 ? 'rate_limit_error' : 'invalid_request_error', param: null, code: null } }),
    completion: (reply, summary) => {
      const usage = replyUsage(reply, summary);
      const toolCalls = reply.toolCalls?.map((call, index) => ({ id: call.id ?? `call_fake${index}`, type: 'function', function: { name: call.name, arguments: call.arguments } }));
      return JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model: summary.model,
        system_fingerprint: 'fp_fake',
        choices: [{ index: 0, message: { role: 'assistant', content: reply.text ?? null, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: replyFinish(reply) }],
        usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
      });
    },
    embedding: (reply, summary) => {
      const inputs = summary.embedInputs ?? [];
      const tokens = inputs.join(' ').length;
      return JSON.stringify({
        object: 'list',
        data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: reply.embeddings?.[index] ?? fakeVector(input, index) })),
        model: summary.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    },
    streamContentType: 'text/event-stream; charset=utf-8',
    streamFrames: (reply: FakeReply, summary) => {
      const frames: string[] = [': keep-alive\n\n', `data: ${chunk(summary, { role: 'assistant', content: '', refusal: null })}\r\n\r\n`];
      if (reply.text !== undefined) {
        for (const piece of fragments(reply.text, reply.chunkChars)) frames.push(`data: ${chunk(summary, { content: piece })}\n\n`);
      }
      reply.toolCalls?.forEach((call, index) => {
        frames.push(`data: ${chunk(summary, { tool_calls: [{ index, id: call.id ?? `call_fake${index}`, type: 'function', function: { name: call.name, arguments: '' } }] })}\n\n`);
        for (const piece of fragments(call.arguments, 5)) frames.push(`data: ${chunk(summary, { tool_calls: [{ index, function: { arguments: piece } }] })}\n\n`);
      });
      frames.push(`data: ${chunk(summary, {}, replyFinish(reply))}\n\n`);
      const usage = replyUsage(reply, summary);
      if (summary.streamUsage) frames.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: summary.model, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } })}\n\n`);
      frames.push('data: [DONE]\n\n');
      return frames;
    },
    streamError: () => `data: ${JSON.stringify({ error: { message: 'vendor-error-text mid-stream', type: 'server_error', code: null } })}\n\n`,
  });
}
