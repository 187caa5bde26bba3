// SPDX-License-Identifier: Apache-2.0
/**
 * The built-in `echo` provider. It answers with exactly what a vendor would have received —
 * the outbound payload as JSON text — so a new user sees what crossed the boundary (tokens
 * instead of names, shifted dates) without any vendor account. Nothing leaves the process.
 */
import { createHash } from 'node:crypto';
import type { Outbound } from '../../policy/outbound.js';
import type { CallOptions, Provider } from '../provider.js';
import { createDeltaFactory, epochSeconds, newCompletionId, openOutbound, usageOf } from '../shared/common.js';
import { providerError } from '../shared/errors.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedRequest, EmbedResult } from '../types.js';

export interface EchoProviderOptions {
  readonly id: string;
  /** Characters per streamed chunk. Default 48. */
  readonly chunkChars?: number | undefined;
  /** Embedding length when the request names no `dimensions`. Default 256. */
  readonly dimensions?: number | undefined;
}

/** A rough token count (four characters per token), enough for usage figures and budgets. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

function promptTokens(request: ChatRequest): number {
  return estimateTokens(JSON.stringify(request.messages));
}

function checkCall(call: CallOptions): void {
  if (Date.now() >= call.deadlineMs) throw providerError('provider_timeout', { reason: 'deadline' });
  if (call.signal.aborted) throw providerError('provider_unavailable', { reason: 'cancelled' });
}

/**
 * A deterministic unit vector for a text: SHA-256 in counter mode gives the components, so
 * equal inputs embed equally and different inputs almost never collide.
 */
export function hashEmbedding(text: string, dimensions = 256): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}\u0000`).update(text).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) {
      values.push(digest.readUInt16BE(i) / 32767.5 - 1);
    }
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => value / norm);
}

/** Creates the echo provider. */
export function createEchoProvider(options: EchoProviderOptions): Provider {
  const chunkChars = Math.max(1, options.chunkChars ?? 48);
  return {
    id: options.id,
    kind: 'echo',
    async chat(outbound: Outbound<ChatRequest>, call: CallOptions): Promise<ChatResult> {
      const request = openOutbound(options.id, outbound);
      checkCall(call);
      const content = JSON.stringify(request);
      return {
        id: newCompletionId(),
        object: 'chat.completion',
        created: epochSeconds(),
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
        usage: usageOf(promptTokens(request), estimateTokens(content)),
      };
    },
    async *chatStream(outbound: Outbound<ChatRequest>, call: CallOptions): AsyncGenerator<ChatDelta> {
      const request = openOutbound(options.id, outbound);
      checkCall(call);
      const content = JSON.stringify(request);
      const deltas = createDeltaFactory(request.model);
      yield deltas.role();
      for (let offset = 0; offset < content.length; offset += chunkChars) {
        checkCall(call);
        yield deltas.content(content.slice(offset, offset + chunkChars));
      }
      yield deltas.finish('stop');
      if (request.stream_options?.include_usage) yield deltas.usage(usageOf(promptTokens(request), estimateTokens(content)));
    },
    async embed(outbound: Outbound<EmbedRequest>, call: CallOptions): Promise<EmbedResult> {
      const request = openOutbound(options.id, outbound);
      checkCall(call);
      const inputs = typeof request.input === 'string' ? [request.input] : request.input;
      const dimensions = request.dimensions ?? options.dimensions ?? 256;
      const tokens = inputs.reduce((sum, input) => sum + estimateTokens(input), 0);
      return {
        object: 'list',
        data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: hashEmbedding(input, dimensions) })),
        model: request.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    },
    close: () => Promise.resolve(),
  };
}
