// SPDX-License-Identifier: Apache-2.0
/**
 * Merkle tree over the audit log, following RFC 9162 (Certificate Transparency v2) §2.1:
 *
 * - leaf hash  = SHA-256(0x00 ‖ leaf), node hash = SHA-256(0x01 ‖ left ‖ right);
 * - MTH of n > 1 leaves splits at k, the largest power of two below n; MTH of no leaves is SHA-256("");
 * - inclusion proofs (§2.1.3) and consistency proofs (§2.1.4) with the verification algorithms
 *   exactly as the RFC states them.
 *
 * The leaf of record `seq` is the 32 raw bytes of its chain hash (audit/chain.ts). The chain
 * hash already commits to the canonical body and to every earlier record, so a Merkle root
 * commits to the whole log up to its size, and a proof of inclusion of a chain hash, together
 * with the record's `prev_hash` and body, proves the record itself.
 *
 * {@link createMerkleFrontier} computes roots while streaming (O(log n) memory): the verifier
 * and the checkpointer use it; the proof builders take the leaf hashes of the tree in memory.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of nothing: the root of the empty tree. */
export const emptyRoot: Buffer = createHash('sha256').digest();

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The leaf hash of an audit record: its hex chain hash as 32 raw bytes, leaf-hashed. */
export function recordLeafHash(chainHashHex: string): Buffer {
  return leafHash(Buffer.from(chainHashHex, 'hex'));
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes[from, to). */
function subtreeRoot(leaves: readonly Uint8Array[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 0) return emptyRoot;
  if (n === 1) return Buffer.from(leaves[from]!);
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(leaves, from, from + k), subtreeRoot(leaves, from + k, to));
}

/** The Merkle Tree Hash of the first `size` leaf hashes (default: all). */
export function merkleRoot(leafHashes: readonly Uint8Array[], size: number = leafHashes.length): Buffer {
  if (size < 0 || size > leafHashes.length) throw new RangeError('tree size outside the leaves given');
  return subtreeRoot(leafHashes, 0, size);
}

/**
 * The audit path for leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
 * @example
 * const proof = inclusionProof(leaves, 5, 12);
 * verifyInclusion(5, 12, leaves[5]!, proof, merkleRoot(leaves, 12)); // true
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, size: number = leafHashes.length): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= size || size > leafHashes.length) throw new RangeError('leaf index outside the tree');
  const path: Buffer[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(subtreeRoot(leafHashes, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(subtreeRoot(leafHashes, from, from + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/**
 * The consistency proof between the trees of the first `first` and `second` leaves
 * (RFC 9162 §2.1.4.1), 0 < first ≤ second. Empty when the sizes are equal.
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], first: number, second: number = leafHashes.length): Buffer[] {
  if (!Number.isInteger(first) || first <= 0 || first > second || second > leafHashes.length) throw new RangeError('tree sizes out of order');
  const proof: Buffer[] = [];
  const sub = (m: number, from: number, to: number, complete: boolean): void => {
    const n = to - from;
    if (m === n) {
      if (!complete) proof.push(subtreeRoot(leafHashes, from, to));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, from, from + k, complete);
      proof.push(subtreeRoot(leafHashes, from + k, to));
    } else {
      sub(m - k, from + k, to, false);
      proof.push(subtreeRoot(leafHashes, from, from + k));
    }
  };
  if (first < second) sub(first, 0, second, true);
  return proof;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Verifies an inclusion proof (RFC 9162 §2.1.3.2). `leaf` is the leaf *hash*. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(r, root);
}

/** Verifies a consistency proof (RFC 9162 §2.1.4.2) between roots of sizes `first` ≤ `second`. */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(first) || !Number.isInteger(second) || first <= 0 || first > second) return false;
  if (first === second) return proof.length === 0 && sameBytes(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path: Uint8Array[] = [...proof];
  // A power-of-two first tree is a complete subtree of the second: its root starts the path.
  if ((first & (first - 1)) === 0) path.unshift(firstRoot);
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sameBytes(fr, firstRoot) && sameBytes(sr, secondRoot) && sn === 0;
}

/** A frontier's state: tree size and the roots of its perfect subtrees, largest first (hex). */
export interface MerkleFrontierState {
  readonly size: number;
  readonly hashes: readonly string[];
}

/**
 * A streaming Merkle tree: the "compact range" of perfect subtrees covering leaves [0, size).
 * `push` is amortised O(1), `root` O(log n), memory O(log n).
 */
export interface MerkleFrontier {
  readonly size: number;
  push(leafHash: Uint8Array): void;
  /** MTH of every leaf pushed so far. */
  root(): Buffer;
  /** A copy to persist; {@link createMerkleFrontier} resumes from it. */
  state(): MerkleFrontierState;
}

function popCount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

/** Starts an empty frontier, or resumes one from a saved state (checked for shape). */
export function createMerkleFrontier(from?: MerkleFrontierState): MerkleFrontier {
  let size = from?.size ?? 0;
  const stack: Buffer[] = (from?.hashes ?? []).map((h) => Buffer.from(h, 'hex'));
  if (!Number.isSafeInteger(size) || size < 0 || stack.length !== popCount(size) || stack.some((h) => h.length !== 32)) {
    throw new RangeError('malformed Merkle frontier');
  }
  return {
    get size() {
      return size;
    },
    push(leaf) {
      let h: Buffer = Buffer.from(leaf);
      // Each trailing 1-bit of size is a complete subtree of the same height as the new one: merge.
      for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) h = nodeHash(stack.pop()!, h);
      stack.push(h);
      size += 1;
    },
    root() {
      if (stack.length === 0) return emptyRoot;
      let r = stack[stack.length - 1]!;
      for (let i = stack.length - 2; i >= 0; i--) r = nodeHash(stack[i]!, r);
      return r;
    },
    state() {
      return { size, hashes: stack.map((h) => h.toString('hex')) };
    },
  };
}
