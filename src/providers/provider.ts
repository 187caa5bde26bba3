// SPDX-License-Identifier: Apache-2.0
/**
 * The `Provider` seam: one configured vendor endpoint. Adapters translate canonical
 * (OpenAI-shaped) requests to their wire format, parse vendor JSON as `unknown`, and map
 * every vendor failure to a `provider_*` GatewayError. They accept only `Outbound` values,
 * which the egress step alone can make.
 */
import type { Outbound } from '../policy/outbound.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedRequest, EmbedResult } from './types.js';

export const providerKinds = ['echo', 'openai', 'azure-openai', 'openai-compatible', 'anthropic', 'bedrock', 'vertex'] as const;
export type ProviderKind = (typeof providerKinds)[number];

export interface CallOptions {
  /** Aborted when the client disconnects or the deadline passes; adapters pass it to every I/O call. */
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Absolute deadline in epoch milliseconds. */
  readonly deadlineMs: number;
}

export interface Provider {
  /** Endpoint id from the configuration, e.g. "azure-eastus-prod". */
  readonly id: string;
  readonly kind: ProviderKind;
  chat(request: Outbound<ChatRequest>, call: CallOptions): Promise<ChatResult>;
  /**
   * Streams canonical chunks. Retries happen only before the first chunk is yielded; after
   * that a failure ends the iteration with a `provider_*` GatewayError.
   */
  chatStream(request: Outbound<ChatRequest>, call: CallOptions): AsyncIterable<ChatDelta>;
  embed(request: Outbound<EmbedRequest>, call: CallOptions): Promise<EmbedResult>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}
