// SPDX-License-Identifier: Apache-2.0
/**
 * Verification of the audit log: the hash chain record by record, the indexed columns against
 * the hashed body, the Merkle root at every signed tree head (from the store and from the
 * witnesses), each head's Ed25519 signature, and that the log still reaches every head.
 *
 * It streams: records are read in pages by sequence number and folded into a Merkle frontier,
 * so memory stays constant however long the log. It stops at the first failure and names the
 * record. What each check catches:
 *
 * - a changed body, hash or previous hash, a deleted, inserted or reordered record: the chain;
 * - a changed `request_id`, `actor_id`, … column (the body is intact): the column check;
 * - a rewritten tail with every chain hash recomputed ("re-hashed without the key"): the signed
 *   roots — the attacker cannot sign new heads without the KMS-held key;
 * - heads deleted from the store, or a rewrite by someone holding the key: the witness's heads;
 * - a truncated log: a signed head larger than the log.
 *
 * Records after the last signed head are protected by the chain alone until the next head.
 */
import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { chainHash, genesisHash } from './chain.js';
import { verifyTreeHead, type SignedTreeHead } from './checkpoints.js';
import { createMerkleFrontier, recordLeafHash, type MerkleFrontier, type MerkleFrontierState } from './merkle.js';

/** A stored record as the verifier reads it. `columns` are the indexed copies of body fields. */
export interface VerifyRow {
  readonly seq: number;
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly columns?: {
    readonly id: string;
    readonly recordedAt: number;
    readonly eventType: string;
    readonly stage: string;
    readonly outcome: string;
    readonly requestId: string;
    readonly actorId: string | null;
    readonly patientHash: string | null;
    readonly endpointId: string | null;
  };
}

export const verifyFailureReasons = {
  sequence_gap: 'a record is missing, inserted or out of order',
  prev_hash_mismatch: 'the record does not link to the previous record',
  hash_mismatch: 'the record hash does not match its body',
  column_mismatch: 'an indexed column differs from the hashed body',
  root_mismatch: 'the Merkle root over the records differs from a signed tree head (records up to this head were rewritten)',
  head_signature_invalid: 'a tree head is not signed by a trusted audit key',
  head_conflict: 'two signed tree heads of the same size disagree',
  log_shorter_than_head: 'the log ends before a signed tree head (records were removed from the end)',
  checkpoint_last_hash_mismatch: 'a stored checkpoint names a different last record hash',
  state_mismatch: 'the saved verification state does not match a signed tree head',
} as const;
export type VerifyFailureReason = keyof typeof verifyFailureReasons;

export interface VerifyFailure {
  /** The first record that does not verify (for head failures: the first record the head covers that no good head covered). */
  readonly seq: number;
  readonly reason: VerifyFailureReason;
  /** For head failures: the head's tree size and where it came from. */
  readonly treeSize?: number;
  readonly source?: 'store' | 'witness';
}

/** Where a later incremental run resumes: a verified signed head and the frontier at it. */
export interface VerifyState {
  readonly treeSize: number;
  readonly rootHash: string;
  readonly lastHash: string;
  readonly frontier: readonly string[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly failure?: VerifyFailure;
  /** Records checked in this run (incremental runs start after `startSize`). */
  readonly records: number;
  readonly startSize: number;
  /** Last record verified. */
  readonly treeSize: number;
  readonly headsChecked: number;
  readonly witnessHeadsChecked: number;
  /** The largest signed head whose root matched; records after it rest on the chain alone. */
  readonly lastVerifiedHead?: number;
  /** State to resume from next time (absent on failure). */
  readonly state?: VerifyState;
  readonly elapsedMs: number;
}

/** A head with its origin, as the verifier checks it. */
export interface SourcedHead extends SignedTreeHead {
  readonly source: 'store' | 'witness';
  /** Stored checkpoints also name the last chain hash. */
  readonly lastHash?: string;
}

export interface LogVerifierOptions {
  readonly heads: readonly SourcedHead[];
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  readonly start?: VerifyState;
}

/** The streaming core: feed rows in order with `push`, then `finish`. */
export interface LogVerifier {
  /** Returns the first failure, after which further pushes are ignored. */
  push(rows: readonly VerifyRow[]): VerifyFailure | undefined;
  finish(): Omit<VerifyReport, 'elapsedMs'>;
}

/** Checks the indexed columns against the hashed body. */
function columnsMatch(row: VerifyRow): boolean {
  const c = row.columns;
  if (c === undefined) return true;
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(row.body) as Record<string, unknown>;
  } catch {
    return false;
  }
  const actor = event.actor as { userId?: unknown } | undefined;
  return (
    event.id === c.id &&
    Date.parse(String(event.recordedAt)) === c.recordedAt &&
    event.type === c.eventType &&
    event.stage === c.stage &&
    event.outcome === c.outcome &&
    event.requestId === c.requestId &&
    (actor?.userId ?? null) === c.actorId &&
    (event.patientHash ?? null) === c.patientHash &&
    (event.endpointId ?? null) === c.endpointId
  );
}

/**
 * Builds the streaming verifier. Heads are checked up front (signature, same-size agreement);
 * each head's root is compared when the stream reaches its size.
 * @example
 * const verifier = createLogVerifier({ heads, publicKeys });
 * for await (const page of pages) if (verifier.push(page)) break;
 * const report = verifier.finish();
 */
export function createLogVerifier(options: LogVerifierOptions): LogVerifier {
  const startSize = options.start?.treeSize ?? 0;
  let frontier: MerkleFrontier = createMerkleFrontier();
  let prev = genesisHash;
  let size = 0;
  let failure: VerifyFailure | undefined;
  let lastGoodHead: number | undefined;
  let headsChecked = 0;
  let witnessHeadsChecked = 0;
  let records = 0;

  const bySize = new Map<number, SourcedHead[]>();
  for (const head of [...options.heads].sort((a, b) => a.treeSize - b.treeSize)) {
    if (failure === undefined && !verifyTreeHead(head, options.publicKeys)) {
      failure = { seq: Math.max(1, head.treeSize), reason: 'head_signature_invalid', treeSize: head.treeSize, source: head.source };
    }
    const list = bySize.get(head.treeSize) ?? [];
    if (failure === undefined && list.some((other) => other.rootHash !== head.rootHash)) {
      failure = { seq: Math.max(1, head.treeSize), reason: 'head_conflict', treeSize: head.treeSize, source: head.source };
    }
    list.push(head);
    bySize.set(head.treeSize, list);
  }
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  let nextHead = 0;

  if (failure === undefined && options.start !== undefined) {
    const s = options.start;
    try {
      frontier = createMerkleFrontier({ size: s.treeSize, hashes: s.frontier });
    } catch {
      failure = { seq: s.treeSize + 1, reason: 'state_mismatch' };
    }
    const signed = bySize.get(s.treeSize);
    if (failure === undefined && (signed === undefined || frontier.root().toString('hex') !== s.rootHash || signed.some((h) => h.rootHash !== s.rootHash))) {
      failure = { seq: s.treeSize + 1, reason: 'state_mismatch' };
    }
    prev = s.lastHash;
    size = s.treeSize;
    lastGoodHead = s.treeSize;
    while (nextHead < sizes.length && sizes[nextHead]! <= size) nextHead++;
  }
  // Heads of size 0 are checked against the empty tree before any record.
  const checkHeadsAtSize = (): void => {
    while (failure === undefined && nextHead < sizes.length && sizes[nextHead]! === size) {
      const root = frontier.root().toString('hex');
      for (const head of bySize.get(size)!) {
        if (head.source === 'witness') witnessHeadsChecked++;
        else headsChecked++;
        if (head.rootHash !== root) {
          failure = { seq: (lastGoodHead ?? 0) + 1, reason: 'root_mismatch', treeSize: size, source: head.source };
          return;
        }
        if (head.lastHash !== undefined && head.lastHash !== prev) {
          failure = { seq: Math.max(1, size), reason: 'checkpoint_last_hash_mismatch', treeSize: size, source: head.source };
          return;
        }
      }
      lastGoodHead = size;
      nextHead++;
    }
  };
  if (failure === undefined && options.start === undefined) checkHeadsAtSize();

  return {
    push(rows) {
      if (failure !== undefined) return failure;
      for (const row of rows) {
        const expected = size + 1;
        if (row.seq !== expected) return (failure = { seq: Math.min(row.seq, expected), reason: 'sequence_gap' });
        if (row.prevHash !== prev) return (failure = { seq: row.seq, reason: 'prev_hash_mismatch' });
        if (chainHash(row.prevHash, row.body) !== row.hash) return (failure = { seq: row.seq, reason: 'hash_mismatch' });
        if (!columnsMatch(row)) return (failure = { seq: row.seq, reason: 'column_mismatch' });
        frontier.push(recordLeafHash(row.hash));
        prev = row.hash;
        size = row.seq;
        records++;
        if (nextHead < sizes.length && sizes[nextHead]! === size) {
          checkHeadsAtSize();
          if (failure !== undefined) return failure;
        }
      }
      return undefined;
    },
    finish() {
      if (failure === undefined && nextHead < sizes.length) {
        const head = bySize.get(sizes[nextHead]!)![0]!;
        failure = { seq: size + 1, reason: 'log_shorter_than_head', treeSize: head.treeSize, source: head.source };
      }
      const base = { records, startSize, treeSize: size, headsChecked, witnessHeadsChecked, ...(lastGoodHead === undefined ? {} : { lastVerifiedHead: lastGoodHead }) };
      if (failure !== undefined) return { ok: false, failure, ...base };
      return { ok: true, ...base };
    },
  };
}

/** One-shot verification of rows in memory (tests, benchmarks). */
export function verifyRecords(rows: Iterable<VerifyRow>, options: LogVerifierOptions): Omit<VerifyReport, 'elapsedMs'> {
  const verifier = createLogVerifier(options);
  const page: VerifyRow[] = [];
  for (const row of rows) {
    page.push(row);
    if (page.length === 4096) {
      if (verifier.push(page) !== undefined) return verifier.finish();
      page.length = 0;
    }
  }
  verifier.push(page);
  return verifier.finish();
}

/** Reads `audit_events` in sequence order, `pageSize` rows per query, after `afterSeq`. */
export async function* readAuditPages(db: Kysely<Database>, afterSeq: number, pageSize = 10_000): AsyncGenerator<VerifyRow[]> {
  let last = afterSeq;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .select(['seq', 'id', 'recorded_at', 'event_type', 'stage', 'outcome', 'request_id', 'actor_id', 'patient_hash', 'endpoint_id', 'body', 'prev_hash', 'hash'])
      .where('seq', '>', last)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows.map((r) => ({
      seq: Number(r.seq),
      body: r.body,
      prevHash: r.prev_hash,
      hash: r.hash,
      columns: {
        id: r.id,
        recordedAt: Number(r.recorded_at),
        eventType: r.event_type,
        stage: r.stage,
        outcome: r.outcome,
        requestId: r.request_id,
        actorId: r.actor_id,
        patientHash: r.patient_hash,
        endpointId: r.endpoint_id,
      },
    }));
    last = Number(rows[rows.length - 1]!.seq);
  }
}

export interface VerifyAuditLogOptions {
  readonly db: Kysely<Database>;
  /** Trusted audit public keys (pinned out of band, or read from the store). */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  /** Heads read back from witnesses. */
  readonly witnessHeads?: readonly SignedTreeHead[];
  /** Resume from a previous run's state (incremental). */
  readonly since?: VerifyState;
  readonly pageSize?: number;
  readonly onProgress?: (verified: number, total: number) => void;
}

/** Verifies the stored log, streaming. See the file comment for what it checks. */
export async function verifyAuditLog(options: VerifyAuditLogOptions): Promise<VerifyReport> {
  const started = performance.now();
  const { db } = options;
  const stored = await db.selectFrom('audit_checkpoints').selectAll().orderBy('tree_size').execute();
  const heads: SourcedHead[] = [
    ...stored.map((row) => ({
      treeSize: Number(row.tree_size),
      rootHash: row.root_hash,
      timestamp: Number(row.signed_at),
      keyId: row.key_id,
      signature: row.signature,
      lastHash: row.last_hash,
      source: 'store' as const,
    })),
    ...(options.witnessHeads ?? []).map((head) => ({ ...head, source: 'witness' as const })),
  ];
  const verifier = createLogVerifier({ heads, publicKeys: options.publicKeys, ...(options.since === undefined ? {} : { start: options.since }) });
  const top = await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const total = top === undefined ? 0 : Number(top.seq);
  const from = options.since?.treeSize ?? 0;
  for await (const page of readAuditPages(db, from, options.pageSize)) {
    if (verifier.push(page) !== undefined) break;
    options.onProgress?.(page[page.length - 1]!.seq, total);
  }
  const report = verifier.finish();
  let state: VerifyState | undefined;
  if (report.ok && report.lastVerifiedHead !== undefined) state = await stateAt(db, report.lastVerifiedHead, heads);
  return { ...report, ...(state === undefined ? {} : { state }), elapsedMs: performance.now() - started };
}

/**
 * The resume state at a verified head: the stored checkpoint's frontier, accepted only if it
 * reproduces the head's signed root.
 */
async function stateAt(db: Kysely<Database>, treeSize: number, heads: readonly SourcedHead[]): Promise<VerifyState | undefined> {
  const head = heads.find((h) => h.treeSize === treeSize);
  const row = await db.selectFrom('audit_checkpoints').select(['frontier', 'last_hash']).where('tree_size', '=', treeSize).executeTakeFirst();
  if (head === undefined || row === undefined) return undefined;
  try {
    const hashes = JSON.parse(row.frontier) as string[];
    const frontier = createMerkleFrontier({ size: treeSize, hashes } satisfies MerkleFrontierState);
    if (frontier.root().toString('hex') !== head.rootHash) return undefined;
    return { treeSize, rootHash: head.rootHash, lastHash: row.last_hash, frontier: hashes };
  } catch {
    return undefined;
  }
}
