// SPDX-License-Identifier: Apache-2.0
/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): each ranked list gives an
 * item 1 / (c + rank), the scores add up, and the best `k` come out. It needs only ranks, so the
 * full-text and vector rankers need no common score scale — and the fused score reveals nothing
 * but positions within the caller's own scope.
 */

/** The constant from the paper. */
export const rrfConstant = 60;

export interface Ranked {
  readonly chunkId: string;
  readonly documentId: string;
  readonly rank: number;
}

export interface Fused {
  readonly chunkId: string;
  readonly documentId: string;
  readonly score: number;
}

/** Fuses ranked lists into at most `k` items, best first; ties go to the smaller chunk id. */
export function reciprocalRankFusion(lists: readonly (readonly Ranked[])[], k: number, c: number = rrfConstant): Fused[] {
  const scores = new Map<string, { documentId: string; score: number }>();
  for (const list of lists) {
    for (const item of list) {
      const entry = scores.get(item.chunkId);
      const add = 1 / (c + item.rank);
      if (entry === undefined) scores.set(item.chunkId, { documentId: item.documentId, score: add });
      else entry.score += add;
    }
  }
  return [...scores.entries()]
    .map(([chunkId, { documentId, score }]) => ({ chunkId, documentId, score }))
    .sort((a, b) => b.score - a.score || (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0))
    .slice(0, Math.max(0, k));
}
