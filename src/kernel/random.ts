// SPDX-License-Identifier: Apache-2.0
/**
 * A small seeded generator (mulberry32) for reproducible data: training augmentation, synthetic
 * test and benchmark corpora. Not for secrets — keys, ids and nonces come from node:crypto.
 */

/** Numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
