// SPDX-License-Identifier: Apache-2.0
/**
 * OpenAI's wire format, spoken by OpenAI itself, Azure OpenAI (deployment routes with an
 * api-version, `api-key` or Entra bearer), vLLM and Ollama (an OpenAI-compatible base URL).
 * The canonical types already are this format, so translation is a field allow-list on the
 * way out and validation on the way back.
 */
import { z } from 'zod';
import type { Outbound } from '../../policy/outbound.js';
import type { CallOptions, Provider } from '../provider.js';
import { epochSeconds, isRecord, newCompletionId, openOutbound, upstreamModel } from '../shared/common.js';
import type { ModelMap } from '../shared/common.js';
import { badResponse, providerError } from '../shared/errors.js';
import { createSseParser } from '../shared/sse.js';
import { CallScope, createUpstream } from '../shared/upstream.js';
import type { UpstreamOptions, UpstreamRequest } from '../shared/upstream.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedRequest, EmbedResult, FinishReason } from '../types.js';

export interface OpenAiProviderOptions {
  readonly id: string;
  readonly kind: 'openai' | 'azure-openai' | 'openai-compatible';
  /** OpenAI/vLLM/Ollama: the `/v1` base URL. Azure: the resource endpoint. */
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  readonly organization?: string | undefined;
  /** Azure only: the api-version query parameter and how to authenticate. */
  readonly azure?: { readonly apiVersion: string; readonly apiKey?: string | undefined; readonly bearerToken?: string | undefined } | undefined;
  readonly models: ModelMap;
  readonly http: Omit<UpstreamOptions, 'baseUrl'>;
}

const finishReasons = new Set<string>(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
/** vLLM and Ollama occasionally report reasons OpenAI does not define; they mean "stopped". */
function toFinish(reason: string | null | undefined): FinishReason {
  return reason && finishReasons.has(reason) ? (reason as FinishReason) : 'stop';
}

const usageSchema = z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number().optional() });
const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
const completionSchema = z.object({
  id: z.string().optional(),
  created: z.number().optional(),
  choices: z
    .array(
      z.object({
        index: z.number().optional(),
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z.array(toolCallSchema).nullish(),
          refusal: z.string().nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: usageSchema.nullish(),
});
interface ParsedChunk {
  readonly id?: string | undefined;
  readonly created?: number | undefined;
  readonly choices: readonly {
    readonly index?: number | undefined;
    readonly delta?:
      | {
          readonly role?: string | null | undefined;
          readonly content?: string | null | undefined;
          readonly refusal?: string | null | undefined;
          readonly tool_calls?:
            | readonly {
                readonly index: number;
                readonly id?: string | null | undefined;
                readonly function?: { readonly name?: string | null | undefined; readonly arguments?: string | null | undefined } | null | undefined;
              }[]
            | null
            | undefined;
        }
      | undefined;
    readonly finish_reason?: string | null | undefined;
  }[];
  readonly usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number | undefined } | null | undefined;
}

const optional = (value: unknown, type: 'string' | 'number'): boolean => value === undefined || value === null || typeof value === type;

/**
 * Validates one stream chunk by hand: this runs for every token of every stream, where a
 * schema library costs several times more CPU than these checks.
 */
function readChunk(json: unknown): ParsedChunk | undefined {
  if (!isRecord(json)) return undefined;
  if (!optional(json.id, 'string') || !optional(json.created, 'number')) return undefined;
  const choices = json.choices ?? [];
  if (!Array.isArray(choices)) return undefined;
  for (const choice of choices) {
    if (!isRecord(choice) || !optional(choice.index, 'number') || !optional(choice.finish_reason, 'string')) return undefined;
    const delta = choice.delta;
    if (delta === undefined) continue;
    if (!isRecord(delta) || !optional(delta.role, 'string') || !optional(delta.content, 'string') || !optional(delta.refusal, 'string')) return undefined;
    const calls = delta.tool_calls;
    if (calls === undefined || calls === null) continue;
    if (!Array.isArray(calls)) return undefined;
    for (const call of calls) {
      if (!isRecord(call) || typeof call.index !== 'number' || !optional(call.id, 'string')) return undefined;
      const fn = call.function;
      if (fn !== undefined && fn !== null && (!isRecord(fn) || !optional(fn.name, 'string') || !optional(fn.arguments, 'string'))) return undefined;
    }
  }
  const usage = json.usage;
  if (usage !== undefined && usage !== null && (!isRecord(usage) || typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number' || !optional(usage.total_tokens, 'number'))) {
    return undefined;
  }
  return { ...(json as object), choices } as ParsedChunk;
}

const embeddingSchema = z.object({
  data: z.array(z.object({ index: z.number(), embedding: z.array(z.number()) })),
  usage: z.object({ prompt_tokens: z.number(), total_tokens: z.number().optional() }).nullish(),
});

const chatFields = [
  'messages', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'max_tokens', 'max_completion_tokens',
  'temperature', 'top_p', 'n', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'user', 'stream_options',
] as const;

/** The vendor body: only fields phigate knows, so nothing unvetted rides along. */
export function toOpenAiChatBody(request: ChatRequest, model: string | undefined, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = model === undefined ? {} : { model };
  for (const field of chatFields) {
    const value = request[field];
    if (value !== undefined && value !== null) body[field] = value;
  }
  body.stream = stream;
  if (!stream) delete body.stream_options;
  return body;
}

function hasError(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'error' in value && (value as { error: unknown }).error != null;
}

/** Creates an adapter for OpenAI, Azure OpenAI, vLLM or Ollama. */
export function createOpenAiProvider(options: OpenAiProviderOptions): Provider {
  const upstream = createUpstream({ ...options.http, baseUrl: options.baseUrl });
  const azure = options.azure;

  function headers(call: CallOptions): Record<string, string> {
    const out: Record<string, string> = { 'content-type': 'application/json', 'x-client-request-id': call.requestId };
    if (azure) {
      if (azure.apiKey !== undefined) out['api-key'] = azure.apiKey;
      else if (azure.bearerToken !== undefined) out.authorization = `Bearer ${azure.bearerToken}`;
    } else if (options.apiKey !== undefined) out.authorization = `Bearer ${options.apiKey}`;
    if (options.organization !== undefined) out['openai-organization'] = options.organization;
    return out;
  }

  function route(operation: 'chat/completions' | 'embeddings', model: string): { path: string; bodyModel: string | undefined } {
    if (azure) {
      return {
        path: `/openai/deployments/${encodeURIComponent(model)}/${operation}?api-version=${encodeURIComponent(azure.apiVersion)}`,
        bodyModel: undefined,
      };
    }
    return { path: `/${operation}`, bodyModel: model };
  }

  function chatRequest(request: ChatRequest, call: CallOptions, stream: boolean): UpstreamRequest {
    const { path, bodyModel } = route('chat/completions', upstreamModel(options.models, request.model));
    const head = headers(call);
    if (stream) head.accept = 'text/event-stream';
    return { method: 'POST', path, headers: head, body: JSON.stringify(toOpenAiChatBody(request, bodyModel, stream)) };
  }

  async function* streamAttempt(scope: CallScope, request: ChatRequest, call: CallOptions): AsyncGenerator<ChatDelta> {
    const wantUsage = request.stream_options?.include_usage === true;
    let finished = false;
    let fallbackId: string | undefined;
    const done = Symbol('done');

    /** One SSE event → one canonical chunk, nothing, or the end of the stream. */
    const translate = (data: string): ChatDelta | undefined | typeof done => {
      if (data === '[DONE]') return done;
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        throw badResponse('invalid_stream_json');
      }
      if (hasError(json)) throw providerError('provider_unavailable', { reason: 'stream_error', retryable: true });
      const chunk = readChunk(json);
      if (!chunk) throw badResponse('unexpected_stream_shape');
      const id = chunk.id ?? (fallbackId ??= newCompletionId());
      const created = chunk.created ?? epochSeconds();
      if (chunk.choices.length === 0) {
        return chunk.usage && wantUsage ? { id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage: normaliseUsage(chunk.usage) } : undefined;
      }
      return {
        id,
        object: 'chat.completion.chunk',
        created,
        model: request.model,
        choices: chunk.choices.map((choice, index) => {
          if (choice.finish_reason) finished = true;
          const delta = choice.delta ?? {};
          return {
            index: choice.index ?? index,
            delta: {
              ...(delta.role === 'assistant' ? { role: 'assistant' as const } : {}),
              ...(delta.content != null ? { content: delta.content } : {}),
              ...(delta.refusal != null ? { refusal: delta.refusal } : {}),
              ...(delta.tool_calls
                ? {
                    tool_calls: delta.tool_calls.map((call) => ({
                      index: call.index,
                      ...(call.id ? { id: call.id, type: 'function' as const } : {}),
                      ...(call.function ? { function: { ...(call.function.name ? { name: call.function.name } : {}), ...(call.function.arguments != null ? { arguments: call.function.arguments } : {}) } } : {}),
                    })),
                  }
                : {}),
            },
            finish_reason: choice.finish_reason ? toFinish(choice.finish_reason) : null,
          };
        }),
        ...(chunk.usage && wantUsage ? { usage: normaliseUsage(chunk.usage) } : {}),
      };
    };

    // The SSE parser is driven inline rather than through another async generator: this loop
    // runs per token, and each generator layer costs a promise per chunk.
    const parser = createSseParser();
    for await (const bytes of upstream.stream(scope, () => chatRequest(request, call, true))) {
      for (const event of parser.push(bytes)) {
        const out = translate(event.data);
        if (out === done) return;
        if (out) yield out;
      }
    }
    for (const event of parser.end()) {
      const out = translate(event.data);
      if (out === done) return;
      if (out) yield out;
    }
    // Some OpenAI-compatible servers omit [DONE]; a stream is whole once a finish reason came.
    if (!finished) throw providerError('provider_unavailable', { reason: 'stream_truncated', retryable: true });
  }

  return {
    id: options.id,
    kind: options.kind,
    async chat(outbound: Outbound<ChatRequest>, call: CallOptions): Promise<ChatResult> {
      const request = openOutbound(options.id, outbound);
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        const json = await upstream.json(scope, () => chatRequest(request, call, false));
        const parsed = completionSchema.safeParse(json);
        if (!parsed.success) throw badResponse('unexpected_shape', parsed.error);
        const result = parsed.data;
        return {
          id: result.id ?? newCompletionId(),
          object: 'chat.completion',
          created: result.created ?? epochSeconds(),
          model: request.model,
          choices: result.choices.map((choice, index) => ({
            index: choice.index ?? index,
            message: {
              role: 'assistant',
              content: choice.message.content ?? null,
              ...(choice.message.tool_calls && choice.message.tool_calls.length > 0
                ? { tool_calls: choice.message.tool_calls.map((call) => ({ id: call.id, type: 'function' as const, function: call.function })) }
                : {}),
              ...(choice.message.refusal ? { refusal: choice.message.refusal } : {}),
            },
            finish_reason: toFinish(choice.finish_reason),
            logprobs: null,
          })),
          ...(result.usage ? { usage: normaliseUsage(result.usage) } : {}),
        };
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
    async embed(outbound: Outbound<EmbedRequest>, call: CallOptions): Promise<EmbedResult> {
      const request = openOutbound(options.id, outbound);
      const scope = new CallScope(call, options.http.timeoutMs);
      try {
        const { path, bodyModel } = route('embeddings', upstreamModel(options.models, request.model));
        const body = {
          ...(bodyModel === undefined ? {} : { model: bodyModel }),
          input: request.input,
          encoding_format: 'float',
          ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
          ...(request.user === undefined ? {} : { user: request.user }),
        };
        const json = await upstream.json(scope, () => ({ method: 'POST', path, headers: headers(call), body: JSON.stringify(body) }));
        const parsed = embeddingSchema.safeParse(json);
        if (!parsed.success) throw badResponse('unexpected_shape', parsed.error);
        const tokens = parsed.data.usage?.prompt_tokens ?? 0;
        return {
          object: 'list',
          data: [...parsed.data.data].sort((a, b) => a.index - b.index).map((item) => ({ object: 'embedding', index: item.index, embedding: item.embedding })),
          model: request.model,
          usage: { prompt_tokens: tokens, total_tokens: parsed.data.usage?.total_tokens ?? tokens },
        };
      } finally {
        scope.dispose();
      }
    },
    close: () => upstream.close(),
  };
}

function normaliseUsage(usage: { prompt_tokens: number; completion_tokens: number; total_tokens?: number | undefined }) {
  return { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens };
}
