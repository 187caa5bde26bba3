// SPDX-License-Identifier: Apache-2.0
/**
 * AWS Bedrock adapter: Converse and ConverseStream signed with SigV4, the binary event-stream
 * framing decoded with CRC checks, and Titan text embeddings through InvokeModel.
 */
import { z } from 'zod';
import type { Outbound } from '../../policy/outbound.js';
import type { CallOptions, Provider } from '../provider.js';
import { createDeltaFactory, epochSeconds, newCompletionId, openOutbound, upstreamModel, usageOf } from '../shared/common.js';
import type { ModelMap } from '../shared/common.js';
import { badResponse, providerError } from '../shared/errors.js';
import { CallScope, createUpstream } from '../shared/upstream.js';
import type { UpstreamOptions, UpstreamRequest } from '../shared/upstream.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedRequest, EmbedResult, FinishReason } from '../types.js';
import { bedrockUsageSchema, fromConverse, toConverseBody, toFinishReason } from './bedrock-translate.js';
import { decodeEventStream } from './event-stream.js';
import type { EventStreamMessage } from './event-stream.js';
import { signRequest } from './sigv4.js';
import type { AwsCredentials } from './sigv4.js';

export interface BedrockProviderOptions {
  readonly id: string;
  readonly region: string;
  /** e.g. https://bedrock-runtime.us-east-1.amazonaws.com, or a VPC endpoint. */
  readonly baseUrl: string;
  readonly credentials: AwsCredentials;
  readonly models: ModelMap;
  readonly http: Omit<UpstreamOptions, 'baseUrl'>;
}

const eventSchemas = {
  messageStart: z.object({ role: z.string().optional() }),
  contentBlockStart: z.object({ contentBlockIndex: z.number(), start: z.object({ toolUse: z.object({ toolUseId: z.string(), name: z.string() }).optional() }) }),
  contentBlockDelta: z.object({
    contentBlockIndex: z.number(),
    delta: z.object({ text: z.string().optional(), toolUse: z.object({ input: z.string() }).optional() }),
  }),
  messageStop: z.object({ stopReason: z.string() }),
  metadata: z.object({ usage: bedrockUsageSchema.optional() }),
};

const titanSchema = z.object({ embedding: z.array(z.number()), inputTextTokenCount: z.number().optional() });

function exceptionError(type: string): ReturnType<typeof providerError> {
  if (type === 'throttlingException') return providerError('provider_rate_limited', { reason: 'stream_error', retryable: true });
  if (type === 'validationException') return providerError('provider_rejected', { reason: 'stream_error' });
  if (type === 'modelTimeoutException') return providerError('provider_timeout', { reason: 'stream_error' });
  return providerError('provider_unavailable', { reason: 'stream_error', retryable: true });
}

function payloadJson(message: EventStreamMessage): unknown {
  try {
    return JSON.parse(message.payload.toString('utf8'));
  } catch {
    throw badResponse('invalid_stream_json');
  }
}

/** Creates the Bedrock adapter. */
export function createBedrockProvider(options: BedrockProviderOptions): Provider {
  const upstream = createUpstream({ ...options.http, baseUrl: options.baseUrl });
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');

  /** Signs at send time: a retried attempt gets a fresh x-amz-date. */
  const signed = (path: string, body: string, accept: string) => (): UpstreamRequest => ({
    method: 'POST',
    path,
    body,
    headers: signRequest({
      method: 'POST',
      host: base.host,
      path: basePath + path,
      query: '',
      headers: { 'content-type': 'application/json', accept },
      body,
      region: options.region,
      service: 'bedrock',
      credentials: options.credentials,
    }),
  });

  const modelPath = (model: string, operation: 'converse' | 'converse-stream' | 'invoke'): string =>
    `/model/${encodeURIComponent(upstreamModel(options.models, model))}/${operation}`;

  async function* streamAttempt(scope: CallScope, request: ChatRequest, prepare: () => UpstreamRequest): AsyncGenerator<ChatDelta> {
    const deltas = createDeltaFactory(request.model);
    const toolIndexByBlock = new Map<number, number>();
    let finish: FinishReason | undefined;
    for await (const message of decodeEventStream(upstream.stream(scope, prepare))) {
      const messageType = message.headers[':message-type'];
      if (messageType === 'exception') throw exceptionError(String(message.headers[':exception-type'] ?? ''));
      if (messageType === 'error') throw providerError('provider_unavailable', { reason: 'stream_error', retryable: true });
      const eventType = String(message.headers[':event-type'] ?? '');
      switch (eventType) {
        case 'messageStart':
          yield deltas.role();
          break;
        case 'contentBlockStart': {
          const data = eventSchemas.contentBlockStart.safeParse(payloadJson(message));
          if (!data.success) throw badResponse('unexpected_stream_shape', data.error);
          const tool = data.data.start.toolUse;
          if (tool) {
            const index = toolIndexByBlock.size;
            toolIndexByBlock.set(data.data.contentBlockIndex, index);
            yield deltas.toolCall({ index, id: tool.toolUseId, type: 'function', function: { name: tool.name, arguments: '' } });
          }
          break;
        }
        case 'contentBlockDelta': {
          const data = eventSchemas.contentBlockDelta.safeParse(payloadJson(message));
          if (!data.success) throw badResponse('unexpected_stream_shape', data.error);
          const delta = data.data.delta;
          if (delta.text !== undefined) yield deltas.content(delta.text);
          if (delta.toolUse) {
            const index = toolIndexByBlock.get(data.data.contentBlockIndex);
            if (index === undefined) throw badResponse('unexpected_stream_shape');
            if (delta.toolUse.input !== '') yield deltas.toolCall({ index, function: { arguments: delta.toolUse.input } });
          }
          break;
        }
        case 'messageStop': {
          const data = eventSchemas.messageStop.safeParse(payloadJson(message));
          if (!data.success) throw badResponse('unexpected_stream_shape', data.error);
          finish = toFinishReason(data.data.stopReason);
          yield deltas.finish(finish);
          break;
        }
        case 'metadata': {
          const data = eventSchemas.metadata.safeParse(payloadJson(message));
          if (!data.success) throw badResponse('unexpected_stream_shape', data.error);
          if (data.data.usage && request.stream_options?.include_usage) yield deltas.usage(usageOf(data.data.usage.inputTokens, data.data.usage.outputTokens));
          break;
        }
        default:
          // contentBlockStop and event types added later carry nothing we translate.
          break;
      }
    }
    if (finish === undefined) throw providerError('provider_unavailable', { reason: 'stream_truncated', retryable: true });
  }

  return {
    id: options.id,
    kind: 'bedrock',
    async chat(outbound: Outbound<ChatRequest>, call: CallOptions): Promise<ChatResult> {
      const request = openOutbound(options.id, outbound);
      const prepare = signed(modelPath(request.model, 'converse'), JSON.stringify(toConverseBody(request)), 'application/json');
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        return fromConverse(await upstream.json(scope, prepare), request.model, newCompletionId(), epochSeconds());
      } finally {
        scope.dispose();
      }
    },
    async *chatStream(outbound: Outbound<ChatRequest>, call: CallOptions): AsyncGenerator<ChatDelta> {
      const request = openOutbound(options.id, outbound);
      const prepare = signed(modelPath(request.model, 'converse-stream'), JSON.stringify(toConverseBody(request)), 'application/vnd.amazon.eventstream');
      const scope = new CallScope(call);
      try {
        yield* upstream.retryingStream(scope, () => streamAttempt(scope, request, prepare));
      } finally {
        scope.dispose();
      }
    },
    async embed(outbound: Outbound<EmbedRequest>, call: CallOptions): Promise<EmbedResult> {
      const request = openOutbound(options.id, outbound);
      const inputs = typeof request.input === 'string' ? [request.input] : request.input;
      const path = modelPath(request.model, 'invoke');
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        // Titan embeddings take one text per InvokeModel call.
        const results = await Promise.all(
          inputs.map(async (input) => {
            const body = JSON.stringify({ inputText: input, ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }), normalize: true });
            const parsed = titanSchema.safeParse(await upstream.json(scope, signed(path, body, 'application/json')));
            if (!parsed.success) throw badResponse('unexpected_shape', parsed.error);
            return parsed.data;
          }),
        );
        const tokens = results.reduce((sum, result) => sum + (result.inputTextTokenCount ?? 0), 0);
        return {
          object: 'list',
          data: results.map((result, index) => ({ object: 'embedding', index, embedding: result.embedding })),
          model: request.model,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        };
      } finally {
        scope.dispose();
      }
    },
    close: () => upstream.close(),
  };
}
