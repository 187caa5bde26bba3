// SPDX-License-Identifier: Apache-2.0
/** Small helpers every adapter uses to build canonical results. */
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../kernel/errors.js';
import type { Outbound } from '../../policy/outbound.js';
import { providerError } from './errors.js';
import type { ChatDelta, FinishReason, TextPart, ToolCallDelta, Usage } from '../types.js';

/** The endpoint's model table: caller-facing name → vendor model, deployment or profile. */
export type ModelMap = ReadonlyMap<string, string>;

/**
 * Builds the model table. Upstream names map to themselves first, so a payload whose model the
 * gateway already translated is never translated twice (a caller-facing name that happens to
 * equal another entry's upstream name would otherwise redirect it).
 */
export function toModelMap(models: readonly { readonly name: string; readonly upstream?: string | undefined }[]): ModelMap {
  const map = new Map<string, string>();
  for (const model of models) map.set(model.upstream ?? model.name, model.upstream ?? model.name);
  for (const model of models) if (!map.has(model.name)) map.set(model.name, model.upstream ?? model.name);
  return map;
}

/** The vendor's name for a caller-facing model; unknown names pass through unchanged. */
export function upstreamModel(models: ModelMap, name: string): string {
  return models.get(name) ?? name;
}

/**
 * Unwraps an `Outbound` value, refusing one the egress step sealed for another endpoint: a
 * payload cleared for a self-hosted model must never reach a vendor by mistake.
 */
export function openOutbound<T>(providerId: string, outbound: Outbound<T>): T {
  if (outbound.endpointId !== providerId) {
    throw new GatewayError('phi_egress_denied', { detail: { endpoint: providerId, reason: 'sealed_for_another_endpoint' } });
  }
  return outbound.payload;
}

export function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

export function newToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Concatenates text content, whether a string or text parts. */
export function textOf(content: string | readonly TextPart[] | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}

/** Splits a `data:` URL into media type and base64 payload; undefined for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+)(?:;[^;,]+)*;base64,(.*)$/s.exec(url);
  if (!match?.[1] || match[2] === undefined) return undefined;
  return { mediaType: match[1], data: match[2] };
}

/** Guesses an image media type from a URL's extension. */
export function mediaTypeFromUrl(url: string): string {
  const path = url.split(/[?#]/)[0]?.toLowerCase() ?? '';
  if (path.endsWith('.png')) return 'image/png';
  if (path.endsWith('.gif')) return 'image/gif';
  if (path.endsWith('.webp')) return 'image/webp';
  return 'image/jpeg';
}

export function usageOf(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Builds the canonical chunks of one streamed completion. */
export function createDeltaFactory(model: string, id = newCompletionId(), created = epochSeconds()) {
  const chunk = (delta: ChatDelta['choices'][number]['delta'], finishReason: FinishReason | null = null): ChatDelta => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
  return {
    id,
    role: (): ChatDelta => chunk({ role: 'assistant', content: '' }),
    content: (text: string): ChatDelta => chunk({ content: text }),
    toolCall: (call: ToolCallDelta): ChatDelta => chunk({ tool_calls: [call] }),
    finish: (reason: FinishReason): ChatDelta => chunk({}, reason),
    usage: (usage: Usage): ChatDelta => ({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }),
  };
}

/** Narrowing helper for vendor JSON read as `unknown`. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses a request the vendor's API cannot express, before anything is sent. */
export function unsupported(reason: string): never {
  throw providerError('provider_rejected', { reason });
}

/** Tool-call arguments as JSON; an empty string is `{}`, anything unparsable is refused. */
export function parseArguments(text: string): unknown {
  try {
    return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    return unsupported('invalid_tool_arguments');
  }
}
