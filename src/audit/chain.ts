// SPDX-License-Identifier: Apache-2.0
/**
 * The hash chain: hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ canonical-json(event n)). Changing,
 * removing, inserting or reordering any record changes every later hash.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../kernel/canonical-json.js';
import type { AuditEvent, ChainedAuditRecord } from './record.js';

/** The previous hash of the first record. */
export const genesisHash = '0'.repeat(64);

export function chainHash(prevHash: string, body: string): string {
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

export function chainRecord(event: AuditEvent, seq: number, prevHash: string): ChainedAuditRecord {
  const body = canonicalJson(event);
  return { seq, event, body, prevHash, hash: chainHash(prevHash, body) };
}

/** Chains `events` in order after `head` (the genesis when the log is empty). */
export function chainAfter(head: { seq: number; hash: string } | undefined, events: readonly AuditEvent[]): ChainedAuditRecord[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? genesisHash;
  return events.map((event) => {
    const record = chainRecord(event, ++seq, prev);
    prev = record.hash;
    return record;
  });
}

export interface ChainBreak {
  readonly seq: number;
  readonly reason: 'sequence_gap' | 'prev_hash_mismatch' | 'hash_mismatch';
}

/** Checks stored rows in order; returns the first break, or undefined when the chain is intact. */
export function findChainBreak(
  rows: Iterable<{ seq: number; body: string; prevHash: string; hash: string }>,
  start: { seq: number; hash: string } = { seq: 0, hash: genesisHash },
): ChainBreak | undefined {
  let expectedSeq = start.seq + 1;
  let prev = start.hash;
  for (const row of rows) {
    if (row.seq !== expectedSeq) return { seq: row.seq, reason: 'sequence_gap' };
    if (row.prevHash !== prev) return { seq: row.seq, reason: 'prev_hash_mismatch' };
    if (chainHash(row.prevHash, row.body) !== row.hash) return { seq: row.seq, reason: 'hash_mismatch' };
    prev = row.hash;
    expectedSeq++;
  }
  return undefined;
}
