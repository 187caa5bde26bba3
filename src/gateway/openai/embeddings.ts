// SPDX-License-Identifier: Apache-2.0
/**
 * The wire form of an embeddings answer (https://platform.openai.com/docs/api-reference/embeddings/object).
 *
 * With `encoding_format: "base64"` each vector is sent as the base64 of its little-endian
 * float32 bytes. The official `openai` SDK asks for base64 whenever its caller did not choose a
 * format and decodes it itself, so this is the common case, not an edge case.
 */
import type { EmbedResult } from '../../providers/types.js';

/** One embedding as sent on the wire: numbers for `float`, a base64 string for `base64`. */
export interface EmbeddingWireResponse {
  readonly object: 'list';
  readonly data: readonly { readonly object: 'embedding'; readonly index: number; readonly embedding: readonly number[] | string }[];
  readonly model: string;
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

/** Base64 of the vector's little-endian float32 bytes, as OpenAI sends it. */
export function encodeEmbeddingBase64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i += 1) bytes.writeFloatLE(vector[i] ?? 0, i * 4);
  return bytes.toString('base64');
}

/**
 * Renders a canonical embeddings result in the encoding the caller asked for (default float).
 * `model` is the name the caller sent, echoed back so aliases stay stable for the client.
 */
export function toEmbeddingResponse(result: EmbedResult, encoding: 'float' | 'base64' | undefined, model: string): EmbeddingWireResponse {
  return {
    object: 'list',
    data: result.data.map((item) => ({
      object: 'embedding',
      index: item.index,
      embedding: encoding === 'base64' ? encodeEmbeddingBase64(item.embedding) : item.embedding,
    })),
    model,
    usage: result.usage,
  };
}
