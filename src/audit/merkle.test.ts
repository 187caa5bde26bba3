// SPDX-License-Identifier: Apache-2.0
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  createMerkleFrontier,
  emptyRoot,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const leaves = (n: number, salt = 0): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf-${salt}-${i}`)));

function flipBit(buf: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(buf);
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8);
  return copy;
}

describe('RFC 9162 hashing', () => {
  it('uses the domain-separated leaf and node hashes and SHA-256("") for the empty tree', () => {
    expect(emptyRoot.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash(Buffer.from('')).toString('hex')).toBe(createHash('sha256').update(Buffer.from([0])).digest('hex'));
    const [a, b, c] = leaves(3);
    // n = 3 splits at k = 2: MTH = node(node(a, b), c).
    expect(merkleRoot([a!, b!, c!])).toEqual(nodeHash(nodeHash(a!, b!), c!));
  });

  it('the streaming frontier gives the same root as the recursive definition at every size, and resumes from its state', () => {
    const all = leaves(70);
    let frontier = createMerkleFrontier();
    for (let i = 0; i < all.length; i++) {
      expect(frontier.root()).toEqual(merkleRoot(all, i));
      if (i % 7 === 3) frontier = createMerkleFrontier(frontier.state());
      frontier.push(all[i]!);
    }
    expect(frontier.root()).toEqual(merkleRoot(all));
    expect(() => createMerkleFrontier({ size: 3, hashes: [] })).toThrow(/malformed/);
  });
});

describe('inclusion proofs', () => {
  it('every leaf of a random tree has a proof that verifies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (size, pick) => {
        const all = leaves(size);
        const root = merkleRoot(all);
        const index = pick % size;
        expect(verifyInclusion(index, size, all[index]!, inclusionProof(all, index), root)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('every leaf of small trees verifies (exhaustive up to 40 leaves)', () => {
    for (let size = 1; size <= 40; size++) {
      const all = leaves(size);
      const root = merkleRoot(all);
      for (let index = 0; index < size; index++) expect(verifyInclusion(index, size, all[index]!, inclusionProof(all, index), root)).toBe(true);
    }
  });

  it('a tampered leaf, proof element, index, size or root never verifies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat({ max: 255 }), fc.nat(), (size, pick, bit, which) => {
        const all = leaves(size);
        const root = merkleRoot(all);
        const index = pick % size;
        const proof = inclusionProof(all, index);
        expect(verifyInclusion(index, size, flipBit(all[index]!, bit), proof, root)).toBe(false);
        expect(verifyInclusion(index, size, all[index]!, proof, flipBit(root, bit))).toBe(false);
        if (proof.length > 0) {
          const tampered = proof.map((p, i) => (i === which % proof.length ? flipBit(p, bit) : p));
          expect(verifyInclusion(index, size, all[index]!, tampered, root)).toBe(false);
          expect(verifyInclusion(index, size, all[index]!, proof.slice(0, -1), root)).toBe(false);
        }
        expect(verifyInclusion((index + 1) % size, size, all[index]!, proof, root)).toBe(false);
        expect(verifyInclusion(index, size, all[index]!, [...proof, all[0]!], root)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});

describe('consistency proofs', () => {
  it('every pair m ≤ n of a random tree has a proof that verifies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (n, pick) => {
        const all = leaves(n);
        const m = 1 + (pick % n);
        const proof = consistencyProof(all, m, n);
        expect(verifyConsistency(m, n, merkleRoot(all, m), merkleRoot(all, n), proof)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('every pair of small trees verifies (exhaustive up to 33 leaves)', () => {
    const all = leaves(33);
    for (let n = 1; n <= 33; n++) {
      for (let m = 1; m <= n; m++) expect(verifyConsistency(m, n, merkleRoot(all, m), merkleRoot(all, n), consistencyProof(all, m, n))).toBe(true);
    }
  });

  it('a rewritten history, tampered proof or swapped roots never verifies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat(), fc.nat({ max: 255 }), (n, pickM, pickLeaf, bit) => {
        const all = leaves(n);
        const m = 1 + (pickM % (n - 1));
        const proof = consistencyProof(all, m, n);
        const firstRoot = merkleRoot(all, m);
        const secondRoot = merkleRoot(all, n);
        // The second tree rewrites one leaf of the first: the old root is no longer a prefix of it.
        const rewritten = all.map((leaf, i) => (i === pickLeaf % m ? flipBit(leaf, bit) : leaf));
        expect(verifyConsistency(m, n, firstRoot, merkleRoot(rewritten, n), consistencyProof(rewritten, m, n))).toBe(false);
        expect(verifyConsistency(m, n, flipBit(firstRoot, bit), secondRoot, proof)).toBe(false);
        expect(verifyConsistency(m, n, firstRoot, flipBit(secondRoot, bit), proof)).toBe(false);
        const tampered = proof.map((p, i) => (i === pickLeaf % proof.length ? flipBit(p, bit) : p));
        expect(verifyConsistency(m, n, firstRoot, secondRoot, tampered)).toBe(false);
        expect(verifyConsistency(m, n, firstRoot, secondRoot, [])).toBe(false);
        expect(verifyConsistency(n, m, secondRoot, firstRoot, proof)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('equal sizes need an empty proof and equal roots', () => {
    const all = leaves(5);
    expect(verifyConsistency(5, 5, merkleRoot(all), merkleRoot(all), [])).toBe(true);
    expect(verifyConsistency(5, 5, merkleRoot(all), merkleRoot(all, 4), [])).toBe(false);
  });
});
