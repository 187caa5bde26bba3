// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { EmbedResult } from '../../providers/types.js';
import { encodeEmbeddingBase64, toEmbeddingResponse } from './embeddings.js';

const result: EmbedResult = {
  object: 'list',
  data: [{ object: 'embedding', index: 0, embedding: [1, -2] }],
  model: 'upstream',
  usage: { prompt_tokens: 2, total_tokens: 2 },
};

describe('embeddings wire form', () => {
  it('encodes vectors as base64 of little-endian float32', () => {
    expect(encodeEmbeddingBase64([1])).toBe('AACAPw==');
    const decoded = Buffer.from(encodeEmbeddingBase64([1, -2, 0.5]), 'base64');
    expect([decoded.readFloatLE(0), decoded.readFloatLE(4), decoded.readFloatLE(8)]).toEqual([1, -2, 0.5]);
    expect(encodeEmbeddingBase64([])).toBe('');
  });

  it('renders float by default and base64 on request, with the caller model', () => {
    expect(toEmbeddingResponse(result, undefined, 'alias')).toEqual({ ...result, model: 'alias' });
    expect(toEmbeddingResponse(result, 'base64', 'alias').data[0]?.embedding).toBe(encodeEmbeddingBase64([1, -2]));
  });
});
