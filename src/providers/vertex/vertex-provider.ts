// SPDX-License-Identifier: Apache-2.0
/**
 * Google Vertex AI Gemini adapter: generateContent, streamGenerateContent?alt=sse and
 * text-embedding `:predict`, authenticated with a cached service-account access token.
 */
import { z } from 'zod';
import type { Outbound } from '../../policy/outbound.js';
import type { CallOptions, Provider } from '../provider.js';
import { createDeltaFactory, epochSeconds, newCompletionId, newToolCallId, openOutbound, upstreamModel } from '../shared/common.js';
import type { ModelMap } from '../shared/common.js';
import { badResponse, providerError } from '../shared/errors.js';
import { readSse } from '../shared/sse.js';
import { CallScope, createUpstream } from '../shared/upstream.js';
import type { UpstreamOptions, UpstreamRequest } from '../shared/upstream.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedRequest, EmbedResult, FinishReason, Usage } from '../types.js';
import { createServiceAccountTokenSource, parseServiceAccountKey } from './service-account-token.js';
import { fromGemini, geminiResponseSchema, toFinishReason, toGeminiBody, toUsage } from './vertex-translate.js';

export interface VertexProviderOptions {
  readonly id: string;
  readonly project: string;
  readonly location: string;
  /** e.g. https://us-central1-aiplatform.googleapis.com */
  readonly baseUrl: string;
  /** The service-account JSON key's text. */
  readonly serviceAccountKey: string;
  readonly tokenUrl: string;
  readonly models: ModelMap;
  readonly http: Omit<UpstreamOptions, 'baseUrl'>;
}

const predictSchema = z.object({
  predictions: z.array(z.object({ embeddings: z.object({ values: z.array(z.number()), statistics: z.object({ token_count: z.number().optional() }).optional() }) })),
});

/** Creates the Vertex AI adapter. Throws at creation when the key file is unusable. */
export function createVertexProvider(options: VertexProviderOptions): Provider {
  const upstream = createUpstream({ ...options.http, baseUrl: options.baseUrl });
  const tokens = createServiceAccountTokenSource({ key: parseServiceAccountKey(options.serviceAccountKey), tokenUrl: options.tokenUrl, dispatcher: upstream.proxy });

  const modelPath = (model: string, method: string): string =>
    `/v1/projects/${encodeURIComponent(options.project)}/locations/${encodeURIComponent(options.location)}/publishers/google/models/${encodeURIComponent(upstreamModel(options.models, model))}:${method}`;

  /** Fetches (or reuses) the access token per attempt, inside the call's deadline. */
  const authorized = (scope: CallScope, path: string, body: string, call: CallOptions, accept: string) => async (): Promise<UpstreamRequest> => {
    let token: string;
    try {
      token = await tokens.getToken(scope.signal, Math.max(1, Math.min(options.http.timeoutMs, scope.remainingMs())));
    } catch (err) {
      throw scope.classify(err);
    }
    return {
      method: 'POST',
      path,
      body,
      headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${token}`, 'x-goog-request-params': `project=${options.project}`, 'x-client-request-id': call.requestId },
    };
  };

  async function* streamAttempt(scope: CallScope, request: ChatRequest, prepare: () => Promise<UpstreamRequest>): AsyncGenerator<ChatDelta> {
    const deltas = createDeltaFactory(request.model);
    let started = false;
    let toolIndex = 0;
    let finish: FinishReason | undefined;
    let usage: Usage | undefined;
    for await (const event of readSse(upstream.stream(scope, prepare))) {
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        throw badResponse('invalid_stream_json');
      }
      if (typeof json === 'object' && json !== null && 'error' in json) throw providerError('provider_unavailable', { reason: 'stream_error', retryable: true });
      const parsed = geminiResponseSchema.safeParse(json);
      if (!parsed.success) throw badResponse('unexpected_stream_shape', parsed.error);
      if (!started) {
        started = true;
        yield deltas.role();
      }
      usage = toUsage(parsed.data.usageMetadata) ?? usage;
      if (parsed.data.promptFeedback?.blockReason) finish = 'content_filter';
      const candidate = parsed.data.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        if (part.text !== undefined && part.thought !== true && part.text !== '') yield deltas.content(part.text);
        if (part.functionCall) {
          // Gemini sends each call whole; it becomes one complete tool-call delta.
          yield deltas.toolCall({ index: toolIndex++, id: newToolCallId(), type: 'function', function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) } });
        }
      }
      if (candidate?.finishReason) finish = toFinishReason(candidate.finishReason, toolIndex > 0);
    }
    if (finish === undefined) throw providerError('provider_unavailable', { reason: 'stream_truncated', retryable: true });
    yield deltas.finish(finish);
    if (usage && request.stream_options?.include_usage) yield deltas.usage(usage);
  }

  return {
    id: options.id,
    kind: 'vertex',
    async chat(outbound: Outbound<ChatRequest>, call: CallOptions): Promise<ChatResult> {
      const request = openOutbound(options.id, outbound);
      const body = JSON.stringify(toGeminiBody(request));
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        const json = await upstream.json(scope, authorized(scope, modelPath(request.model, 'generateContent'), body, call, 'application/json'));
        return fromGemini(json, request.model, newCompletionId(), epochSeconds());
      } finally {
        scope.dispose();
      }
    },
    async *chatStream(outbound: Outbound<ChatRequest>, call: CallOptions): AsyncGenerator<ChatDelta> {
      const request = openOutbound(options.id, outbound);
      const body = JSON.stringify(toGeminiBody(request));
      const scope = new CallScope(call);
      try {
        const prepare = authorized(scope, `${modelPath(request.model, 'streamGenerateContent')}?alt=sse`, body, call, 'text/event-stream');
        yield* upstream.retryingStream(scope, () => streamAttempt(scope, request, prepare));
      } finally {
        scope.dispose();
      }
    },
    async embed(outbound: Outbound<EmbedRequest>, call: CallOptions): Promise<EmbedResult> {
      const request = openOutbound(options.id, outbound);
      const inputs = typeof request.input === 'string' ? [request.input] : request.input;
      const body = JSON.stringify({
        instances: inputs.map((content) => ({ content })),
        ...(request.dimensions === undefined ? {} : { parameters: { outputDimensionality: request.dimensions } }),
      });
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        const json = await upstream.json(scope, authorized(scope, modelPath(request.model, 'predict'), body, call, 'application/json'));
        const parsed = predictSchema.safeParse(json);
        if (!parsed.success || parsed.data.predictions.length !== inputs.length) throw badResponse('unexpected_shape', parsed.error);
        const tokens = parsed.data.predictions.reduce((sum, prediction) => sum + (prediction.embeddings.statistics?.token_count ?? 0), 0);
        return {
          object: 'list',
          data: parsed.data.predictions.map((prediction, index) => ({ object: 'embedding', index, embedding: prediction.embeddings.values })),
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
