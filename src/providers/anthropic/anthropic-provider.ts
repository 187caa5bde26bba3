// SPDX-License-Identifier: Apache-2.0
/**
 * Anthropic Messages API adapter: `x-api-key` and `anthropic-version` headers, request and
 * response translation, and the SSE event sequence (message_start, content_block_start/delta/
 * stop, message_delta, message_stop, ping, error) turned into canonical chunks.
 */
import { z } from 'zod';
import type { Outbound } from '../../policy/outbound.js';
import type { CallOptions, Provider } from '../provider.js';
import { createDeltaFactory, epochSeconds, isRecord, openOutbound, upstreamModel, usageOf } from '../shared/common.js';
import type { ModelMap } from '../shared/common.js';
import { badResponse, providerError } from '../shared/errors.js';
import { readSse } from '../shared/sse.js';
import { CallScope, createUpstream } from '../shared/upstream.js';
import type { UpstreamOptions, UpstreamRequest } from '../shared/upstream.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedResult, FinishReason } from '../types.js';
import { anthropicUsageSchema, fromAnthropicMessage, inputTokens, toAnthropicBody, toFinishReason } from './anthropic-translate.js';

export interface AnthropicProviderOptions {
  readonly id: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly anthropicVersion: string;
  readonly defaultMaxTokens: number;
  readonly models: ModelMap;
  readonly http: Omit<UpstreamOptions, 'baseUrl'>;
}

const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message_start'), message: z.object({ id: z.string(), usage: anthropicUsageSchema.optional() }) }),
  z.object({
    type: z.literal('content_block_start'),
    index: z.number(),
    content_block: z.object({ type: z.string(), id: z.string().optional(), name: z.string().optional(), text: z.string().optional() }),
  }),
  z.object({
    type: z.literal('content_block_delta'),
    index: z.number(),
    delta: z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }),
  }),
  z.object({ type: z.literal('content_block_stop'), index: z.number() }),
  z.object({ type: z.literal('message_delta'), delta: z.object({ stop_reason: z.string().nullish() }), usage: anthropicUsageSchema.optional() }),
  z.object({ type: z.literal('message_stop') }),
  z.object({ type: z.literal('ping') }),
  z.object({ type: z.literal('error'), error: z.object({ type: z.string() }).optional() }),
]);

const knownEvents = new Set(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error']);

/** Maps an in-stream `error` event's type to a provider error (never its message). */
function streamError(type: string | undefined) {
  if (type === 'rate_limit_error') return providerError('provider_rate_limited', { reason: 'stream_error', retryable: true });
  if (type === 'invalid_request_error') return providerError('provider_rejected', { reason: 'stream_error' });
  return providerError('provider_unavailable', { reason: 'stream_error', retryable: true });
}

/** Creates the Anthropic adapter. */
export function createAnthropicProvider(options: AnthropicProviderOptions): Provider {
  const upstream = createUpstream({ ...options.http, baseUrl: options.baseUrl });

  function prepare(request: ChatRequest, call: CallOptions, stream: boolean): UpstreamRequest {
    const { body, beta } = toAnthropicBody(request, upstreamModel(options.models, request.model), options.defaultMaxTokens, stream);
    return {
      method: 'POST',
      path: '/v1/messages',
      headers: {
        'content-type': 'application/json',
        'x-api-key': options.apiKey,
        'anthropic-version': options.anthropicVersion,
        'x-client-request-id': call.requestId,
        ...(beta ? { 'anthropic-beta': beta } : {}),
        ...(stream ? { accept: 'text/event-stream' } : {}),
      },
      body: JSON.stringify(body),
    };
  }

  async function* streamAttempt(scope: CallScope, request: ChatRequest, call: CallOptions): AsyncGenerator<ChatDelta> {
    // Translation errors (e.g. unsupported parts) surface before any I/O.
    const prepared = prepare(request, call, true);
    let deltas = createDeltaFactory(request.model);
    const toolIndexByBlock = new Map<number, number>();
    let promptTokens = 0;
    let completionTokens = 0;
    let finish: FinishReason = 'stop';
    for await (const event of readSse(upstream.stream(scope, () => prepared))) {
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        throw badResponse('invalid_stream_json');
      }
      // New event types are additive under Anthropic's versioning policy; skip unknown ones.
      if (isRecord(json) && typeof json.type === 'string' && !knownEvents.has(json.type)) continue;
      const parsed = eventSchema.safeParse(json);
      if (!parsed.success) throw badResponse('unexpected_stream_shape', parsed.error);
      const data = parsed.data;
      switch (data.type) {
        case 'message_start':
          deltas = createDeltaFactory(request.model, data.message.id);
          if (data.message.usage) {
            promptTokens = inputTokens(data.message.usage);
            completionTokens = data.message.usage.output_tokens ?? 0;
          }
          yield deltas.role();
          break;
        case 'content_block_start':
          if (data.content_block.type === 'tool_use') {
            const index = toolIndexByBlock.size;
            toolIndexByBlock.set(data.index, index);
            yield deltas.toolCall({ index, id: data.content_block.id, type: 'function', function: { name: data.content_block.name ?? '', arguments: '' } });
          } else if (data.content_block.type === 'text' && data.content_block.text) {
            yield deltas.content(data.content_block.text);
          }
          break;
        case 'content_block_delta':
          if (data.delta.type === 'text_delta' && data.delta.text !== undefined) yield deltas.content(data.delta.text);
          else if (data.delta.type === 'input_json_delta' && data.delta.partial_json !== undefined) {
            const index = toolIndexByBlock.get(data.index);
            if (index === undefined) throw badResponse('unexpected_stream_shape');
            if (data.delta.partial_json !== '') yield deltas.toolCall({ index, function: { arguments: data.delta.partial_json } });
          }
          break;
        case 'message_delta':
          if (data.delta.stop_reason) finish = toFinishReason(data.delta.stop_reason);
          if (data.usage?.output_tokens != null) completionTokens = data.usage.output_tokens;
          if (data.usage?.input_tokens != null) promptTokens = inputTokens(data.usage);
          break;
        case 'message_stop':
          yield deltas.finish(finish);
          if (request.stream_options?.include_usage) yield deltas.usage(usageOf(promptTokens, completionTokens));
          return;
        case 'error':
          throw streamError(data.error?.type);
        case 'content_block_stop':
        case 'ping':
          break;
      }
    }
    throw providerError('provider_unavailable', { reason: 'stream_truncated', retryable: true });
  }

  return {
    id: options.id,
    kind: 'anthropic',
    async chat(outbound: Outbound<ChatRequest>, call: CallOptions): Promise<ChatResult> {
      const request = openOutbound(options.id, outbound);
      const prepared = prepare(request, call, false);
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        const json = await upstream.json(scope, () => prepared);
        return fromAnthropicMessage(json, request.model, epochSeconds());
      } finally {
        scope.dispose();
      }
    },
    async *chatStream(outbound: Outbound<ChatRequest>, call: CallOptions): AsyncGenerator<ChatDelta> {
      const request = openOutbound(options.id, outbound);
      const scope = new CallScope(call);
      try {
        yield* upstream.retryingStream(scope, () => streamAttempt(scope, request, call));
      } finally {
        scope.dispose();
      }
    },
    embed(): Promise<EmbedResult> {
      // Anthropic offers no embeddings API; configure an embeddings model on another endpoint.
      return Promise.reject(providerError('provider_rejected', { reason: 'embeddings_not_supported' }));
    },
    close: () => upstream.close(),
  };
}
