// SPDX-License-Identifier: Apache-2.0
/**
 * Embeddings for retrieval, from the model named by `rag.embeddingModel` — served by an endpoint
 * of the configuration and reached only through the egress door (`authorizeEgress`), like every
 * other vendor call. What is embedded is always de-identified text (chunks and queries), so the
 * payload goes out in the `deidentified` form, and the door's second detection pass sees it. Text of a document with a sensitive category
 * (42 CFR Part 2, psychotherapy notes, genetics, HIV) is embedded only by a self-hosted endpoint;
 * elsewhere such a document is indexed for full text only.
 *
 * Vendor answers are checked (one finite vector per input, all of one length) before they are
 * stored: a vector is only as trustworthy as the endpoint that made it.
 */
import type { EndpointConfig } from '../config/schema.js';
import { GatewayError, isGatewayError } from '../kernel/errors.js';
import type { Outbound } from '../policy/outbound.js';
import type { EmbedRequest } from '../providers/types.js';
import type { EndpointDirectory, EndpointRoute } from '../registry/endpoints.js';
import type { SensitiveCategory } from '../registry/use-case-spec.js';

/**
 * The egress door for one embeddings payload: checks the destination against the registry as it
 * is at the call and the de-identified payload for residual PHI, then seals it
 * (policy/egress.ts `authorizeEgress`; runtime.ts builds it). Refuses with a GatewayError.
 */
export type EmbedEgress = (endpoint: EndpointConfig, payload: EmbedRequest, sensitivity: readonly SensitiveCategory[]) => Promise<Outbound<EmbedRequest>>;

export interface EmbedCall {
  readonly requestId: string;
  readonly signal?: AbortSignal | undefined;
  /** Sensitive categories of what is embedded (the egress door sends them only to self-hosted endpoints). */
  readonly sensitivity?: readonly SensitiveCategory[] | undefined;
  /** Called before each endpoint is called (to make a disclosure record durable first). */
  readonly beforeCall?: ((endpoint: EndpointConfig) => Promise<void>) | undefined;
}

export interface Embedder {
  /** The model name callers configured (stored beside every vector it made). */
  readonly model: string;
  /** The primary endpoint's id. */
  readonly endpointId: string;
  /** Whether text with these sensitive categories may be sent to this model's endpoints. */
  mayEmbed(sensitivity: readonly SensitiveCategory[]): boolean;
  /** One vector per text, in order. Refuses with a `provider_*` or `phi_egress_denied` GatewayError. */
  embed(texts: readonly string[], call: EmbedCall): Promise<Float32Array[]>;
}

export interface EmbedderOptions {
  readonly endpoints: EndpointDirectory;
  readonly egress: EmbedEgress;
  readonly model: string;
  /** Texts per vendor call. Default 32. */
  readonly batchSize?: number;
  readonly now?: () => number;
}

const fallbackCodes = new Set(['provider_timeout', 'provider_unavailable', 'provider_rate_limited']);

function checkVectors(data: readonly { readonly index: number; readonly embedding: readonly number[] }[], count: number): Float32Array[] {
  if (data.length !== count) throw new GatewayError('provider_bad_response', { detail: { reason: 'embedding_count' } });
  const ordered = [...data].sort((a, b) => a.index - b.index);
  const dims = ordered[0]?.embedding.length ?? 0;
  if (dims < 1 || dims > 16_000) throw new GatewayError('provider_bad_response', { detail: { reason: 'embedding_dimensions' } });
  return ordered.map((item, i) => {
    if (item.index !== i || item.embedding.length !== dims || !item.embedding.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new GatewayError('provider_bad_response', { detail: { reason: 'embedding_values' } });
    }
    return Float32Array.from(item.embedding);
  });
}

/**
 * Builds the embedder for a configured model; throws (at start) when no endpoint serves it with
 * the `embeddings` capability.
 *
 * @example
 * const embedder = createEmbedder({ endpoints, egress, model: 'local-embed' });
 * const [vector] = await embedder.embed(['[NAME] has a productive cough.'], { requestId });
 */
export function createEmbedder(options: EmbedderOptions): Embedder {
  const routes = options.endpoints.routesFor(options.model, 'embeddings');
  const primary = routes[0];
  if (primary === undefined) throw new Error(`rag.embeddingModel: no endpoint serves the model "${options.model}" with the embeddings capability`);
  const batchSize = options.batchSize ?? 32;
  const now = options.now ?? Date.now;
  // Fallbacks share the primary's PHI clearance (registry/endpoints.ts), but not necessarily its hosting.
  const allSelfHosted = routes.every((route) => route.endpoint.selfHosted);

  async function callOne(batch: readonly string[], call: EmbedCall): Promise<Float32Array[]> {
    for (let index = 0; index < routes.length; index++) {
      const route = routes[index] as EndpointRoute;
      try {
        await call.beforeCall?.(route.endpoint);
        const outbound = await options.egress(route.endpoint, { model: route.upstreamModel, input: [...batch] }, call.sensitivity ?? []);
        const result = await route.provider.embed(outbound, {
          signal: call.signal ?? new AbortController().signal,
          requestId: call.requestId,
          deadlineMs: now() + route.endpoint.timeoutMs,
        });
        return checkVectors(result.data, batch.length);
      } catch (err) {
        const canFallBack = isGatewayError(err) && fallbackCodes.has(err.code) && call.signal?.aborted !== true;
        if (!canFallBack || index === routes.length - 1) throw err;
      }
    }
    throw new GatewayError('provider_unavailable');
  }

  return {
    model: options.model,
    endpointId: primary.endpoint.id,
    mayEmbed: (sensitivity) => sensitivity.length === 0 || allSelfHosted,
    async embed(texts, call) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await callOne(texts.slice(i, i + batchSize), call)));
      if (out.some((v) => v.length !== out[0]?.length)) throw new GatewayError('provider_bad_response', { detail: { reason: 'embedding_dimensions' } });
      return out;
    },
  };
}
