// SPDX-License-Identifier: Apache-2.0
/**
 * Hashed word and character n-grams of a normalised text: the classifier's input. Word uni- and
 * bigrams carry phrasing ("ignore all", "your new task"); character 3–5-grams over the words
 * joined by single spaces (so they run across word boundaries: "e all", "s und") carry spelling
 * variants, typos, German compounds and inflection ("anweisungen", "vergiss"). Each feature is
 * hashed (FNV-1a, 32 bit) into a fixed number of buckets, so the model is a flat weight array with
 * no vocabulary to ship. Values are log(1 + count), L2-normalised per text, so every value is ≥ 0
 * (the classifier's naive-Bayes scaling, training/nb-logistic.ts, needs non-negative features).
 *
 * Training (scripts/train-injection-model.ts) and scoring use this one function, so they cannot
 * drift apart. It hashes character codes in place (no substring per n-gram) into a reused
 * scratch array, so a 2 kB text costs well under a millisecond.
 */

/** A sparse, L2-normalised feature vector: parallel arrays of bucket indices and values, in the order the text first touched each bucket. */
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

const fnvOffset = 2166136261;
const fnvPrime = 16777619;
/** Seeds keep the feature families apart: the same string as a word and as a character n-gram hashes differently. */
const seedUnigram = 1;
const seedBigram = 2;
const seedChar = 10;
const charMin = 3;
const charMax = 5;

/** Word tokens of a normalised text: runs of letters or of digits. */
export function wordTokens(normalised: string): string[] {
  return normalised.slice(0, maxFeatureChars).match(/\p{L}[\p{L}\p{M}'’]*|\p{N}+/gu) ?? [];
}

function hashString(text: string, seed: number): number {
  let h = (fnvOffset ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), fnvPrime);
  return h >>> 0;
}

/** Scratch space, reused across calls (scoring is synchronous): counts per bucket and the buckets the current text touched. */
let scratchDims = 0;
let counts = new Uint32Array(0);
let touched = new Uint32Array(0);
let used = 0;

const log1pTable = Float64Array.from({ length: 64 }, (_, n) => Math.log1p(n));

function addHash(h: number, mask: number): void {
  const index = h & mask;
  if (counts[index] === 0) touched[used++] = index;
  counts[index] = (counts[index] as number) + 1;
}

/**
 * The feature vector of `normalised` (a form from normaliseForScreening).
 *
 * @example
 * const v = featureVector(normaliseForScreening(text).deobfuscated, { dims: 1 << 15 });
 */
export function featureVector(normalised: string, options: FeatureOptions): SparseVector {
  const mask = options.dims - 1;
  const tokens = wordTokens(normalised);
  const joined = ` ${tokens.join(' ')} `;
  // At most one bucket per feature: a unigram and a bigram per token, three n-grams per character.
  const maxFeatures = 2 * tokens.length + 3 * joined.length;
  if (scratchDims !== options.dims) {
    scratchDims = options.dims;
    counts = new Uint32Array(options.dims);
  }
  if (touched.length < Math.min(maxFeatures, options.dims)) touched = new Uint32Array(Math.min(maxFeatures, options.dims) * 2);
  used = 0;
  let previous = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    const h = hashString(token, seedUnigram);
    addHash(h, mask);
    // The bigram's hash continues the previous token's with a space and this token's characters.
    if (i > 0) {
      let b = Math.imul(previous ^ 32, fnvPrime);
      for (let k = 0; k < token.length; k++) b = Math.imul(b ^ token.charCodeAt(k), fnvPrime);
      addHash(Math.imul(b ^ seedBigram, fnvPrime) >>> 0, mask);
    }
    previous = h;
  }
  // One pass per start position: the hash of the 3-, 4- and 5-gram starting there, each finished with its length.
  for (let i = 0; i + charMin <= joined.length; i++) {
    let h = (fnvOffset ^ seedChar) >>> 0;
    for (let n = 1; n <= charMax && i + n <= joined.length; n++) {
      h = Math.imul(h ^ joined.charCodeAt(i + n - 1), fnvPrime);
      if (n >= charMin) addHash(Math.imul(h ^ n, fnvPrime) >>> 0, mask);
    }
  }
  // First-touch order is deterministic, and nothing needs the indices sorted (sorting would cost more than the hashing).
  const indices = touched.slice(0, used);
  const values = new Float32Array(used);
  let norm = 0;
  for (let k = 0; k < used; k++) {
    const count = counts[indices[k] as number] as number;
    const value = count < log1pTable.length ? (log1pTable[count] as number) : Math.log1p(count);
    values[k] = value;
    norm += value * value;
  }
  norm = Math.sqrt(norm) || 1;
  for (let k = 0; k < used; k++) {
    values[k] = (values[k] as number) / norm;
    counts[indices[k] as number] = 0;
  }
  return { indices, values };
}

/** Shortest sentence scored on its own. */
const minSegmentChars = 12;

/**
 * The sentences of a normalised text that are scored on their own as well as in the whole text
 * (split after `.`, `!`, `?`, `;`, `:` and at line breaks; at least 12 characters). An
 * instruction appended to an innocent question is diluted in the whole text's vector; alone, it
 * is not. Empty for a text of one sentence.
 */
export function sentenceSegments(normalised: string): string[] {
  const text = normalised.slice(0, maxFeatureChars);
  const parts = text.split(/(?<=[.!?;:])\s+|\n+/u);
  if (parts.length < 2) return [];
  const out: string[] = [];
  for (const part of parts) {
    const trimmed = part.trim();
    if (trimmed.length >= minSegmentChars) out.push(trimmed);
  }
  return out;
}
