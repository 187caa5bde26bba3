// SPDX-License-Identifier: Apache-2.0
/**
 * Hashed word and character n-grams of a normalised text: the classifier's input. Word uni- and
 * bigrams carry phrasing ("ignore all", "your new task"); character 3–5-grams carry spelling
 * variants, German compounds and inflection ("anweisungen", "vergiss"). Each feature is hashed
 * (FNV-1a, 32 bit) into a fixed number of buckets with a sign bit, so the model is a flat weight
 * array with no vocabulary to ship. Values are log(1 + count), L2-normalised per text.
 *
 * Training (scripts/train-injection-model.ts) and scoring use this one function, so they cannot
 * drift apart.
 */

/** A sparse, L2-normalised feature vector: parallel arrays of bucket indices and values. */
export interface SparseVector {
  readonly indices: Uint32Array;
  readonly values: Float32Array;
}

export interface FeatureOptions {
  /** Number of hash buckets; a power of two. */
  readonly dims: number;
}

/** Longest text read, in characters; the rest of a long document is screened segment by segment. */
export const maxFeatureChars = 4000;

function fnv1a(text: string, seed: number): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Word tokens of a normalised text: runs of letters or of digits. */
export function wordTokens(normalised: string): string[] {
  return normalised.slice(0, maxFeatureChars).match(/\p{L}[\p{L}\p{M}'’]*|\p{N}+/gu) ?? [];
}

/**
 * The feature vector of `normalised` (a form from normaliseForScreening).
 *
 * @example
 * const v = featureVector(normaliseForScreening(text).deobfuscated, { dims: 1 << 15 });
 */
export function featureVector(normalised: string, options: FeatureOptions): SparseVector {
  const mask = options.dims - 1;
  const buckets = new Map<number, number>();
  const add = (feature: string, seed: number): void => {
    const h = fnv1a(feature, seed);
    // The top bit chooses the sign, so colliding features tend to cancel rather than add up.
    const index = h & mask;
    buckets.set(index, (buckets.get(index) ?? 0) + (h >>> 31 === 1 ? -1 : 1));
  };
  const tokens = wordTokens(normalised);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    add(token, 1);
    if (i + 1 < tokens.length) add(`${token} ${tokens[i + 1] as string}`, 2);
  }
  const joined = ` ${tokens.join(' ')} `;
  for (let n = 3; n <= 5; n++) for (let i = 0; i + n <= joined.length; i++) add(joined.slice(i, i + n), 10 + n);
  for (const [index, count] of buckets) buckets.set(index, Math.sign(count) * Math.log1p(Math.abs(count)));
  let norm = 0;
  for (const value of buckets.values()) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  const sorted = [...buckets.keys()].sort((a, b) => a - b);
  const indices = new Uint32Array(sorted.length);
  const values = new Float32Array(sorted.length);
  sorted.forEach((index, i) => {
    indices[i] = index;
    values[i] = (buckets.get(index) as number) / norm;
  });
  return { indices, values };
}
