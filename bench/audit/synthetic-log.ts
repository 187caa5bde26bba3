// SPDX-License-Identifier: Apache-2.0
/**
 * Synthetic audit logs for the benchmarks: realistic records (ids, actors, hashes of patients
 * and prompts, vendors, token counts — no PHI) chained exactly as the SQL sink chains them,
 * with signed tree heads at a fixed interval, as the stored rows and the witness's copy.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chainAfter } from '../../src/audit/chain.js';
import { createAuditSigner, type AuditSigner } from '../../src/audit/checkpoints.js';
import { createMerkleFrontier, recordLeafHash } from '../../src/audit/merkle.js';
import type { AuditEvent } from '../../src/audit/record.js';
import { seededRandom } from '../../src/kernel/random.js';
import type { SourcedHead, VerifyRow, VerifyState } from '../../src/audit/verify.js';

/** A small deterministic PRNG (mulberry32), so every run mutates the same way for a seed. */
export function createRandom(seed: number): { next(): number; int(max: number): number; pick<T>(list: readonly T[]): T } {
  const next = seededRandom(seed);
  return { next, int: (max) => Math.floor(next() * max), pick: (list) => list[Math.floor(next() * list.length)]! };
}

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The n-th synthetic event (1-based), deterministic. */
export function syntheticEvent(n: number): AuditEvent {
  const completed = n % 2 === 0;
  return {
    id: `0194f0c2-${n.toString(16).padStart(12, '0')}`,
    recordedAt: new Date(1_750_000_000_000 + n * 37).toISOString(),
    type: n % 11 === 0 ? 'embeddings.create' : 'chat.completion',
    stage: completed ? 'completed' : 'disclosure',
    outcome: completed ? (n % 97 === 0 ? 'failure' : 'success') : 'pending',
    requestId: `req-${Math.ceil(n / 2).toString(36)}`,
    status: completed ? 200 : 0,
    actor: { userId: `user-${n % 113}`, kind: n % 7 === 0 ? 'service' : 'user', roles: ['physician'], authMethod: 'api_key', apiKeyId: `k${n % 113}` },
    patientHash: n % 5 === 0 ? undefined : hex(`patient-${n % 4099}`),
    purpose: 'TREAT',
    useCase: 'discharge-summary',
    endpointId: n % 3 === 0 ? 'azure-eastus' : 'local-vllm',
    model: 'clinical-llm',
    form: n % 3 === 0 ? 'deidentified' : 'raw',
    promptHmac: hex(`prompt-${n}`),
    ...(completed ? { responseHmac: hex(`response-${n}`), promptTokens: 100 + (n % 900), completionTokens: 20 + (n % 300), latencyMs: 200 + (n % 2000) } : {}),
    client: { ip: `10.0.${n % 256}.${(n * 7) % 256}`, userAgent: 'ehr-plugin/4.2' },
    instance: `gw-${n % 3}`,
  };
}

/** A stored row as verify reads it, with the indexed columns the SQL sink writes. */
export function toVerifyRow(record: { seq: number; event: AuditEvent; body: string; prevHash: string; hash: string }): VerifyRow {
  const e = record.event;
  return {
    seq: record.seq,
    body: record.body,
    prevHash: record.prevHash,
    hash: record.hash,
    columns: {
      id: e.id,
      recordedAt: Date.parse(e.recordedAt),
      eventType: e.type,
      stage: e.stage,
      outcome: e.outcome,
      requestId: e.requestId,
      actorId: e.actor?.userId ?? null,
      patientHash: e.patientHash ?? null,
      endpointId: e.endpointId ?? null,
    },
  };
}

export interface SyntheticLog {
  readonly rows: VerifyRow[];
  /** Heads as stored (with last hash) — the final size is always signed. */
  readonly storeHeads: SourcedHead[];
  /** The same heads as the witness holds them. */
  readonly witnessHeads: SourcedHead[];
  readonly publicKeys: Map<string, KeyObject>;
  readonly signer: AuditSigner;
  /** Verifier resume states at each head size (what an incremental run would have saved). */
  readonly states: Map<number, VerifyState>;
}

/** Builds a log of `size` records with a signed head every `headEvery` records and at the end. */
export function buildSyntheticLog(size: number, headEvery: number, signer?: AuditSigner): SyntheticLog {
  const keys = generateKeyPairSync('ed25519');
  const s = signer ?? createAuditSigner(keys.privateKey, keys.publicKey);
  const records = chainAfter(undefined, Array.from({ length: size }, (_, i) => syntheticEvent(i + 1)));
  const rows = records.map(toVerifyRow);
  const frontier = createMerkleFrontier();
  const storeHeads: SourcedHead[] = [];
  const states = new Map<number, VerifyState>();
  for (const row of rows) {
    frontier.push(recordLeafHash(row.hash));
    if (row.seq % headEvery === 0 || row.seq === size) {
      const rootHash = frontier.root().toString('hex');
      const head = s.sign({ treeSize: row.seq, rootHash, timestamp: 1_750_000_000_000 + row.seq });
      storeHeads.push({ ...head, source: 'store', lastHash: row.hash });
      states.set(row.seq, { treeSize: row.seq, rootHash, lastHash: row.hash, frontier: frontier.state().hashes });
    }
  }
  return {
    rows,
    storeHeads,
    witnessHeads: storeHeads.map(({ lastHash: _lastHash, ...head }) => ({ ...head, source: 'witness' as const })),
    publicKeys: new Map([[s.keyId, s.publicKey]]),
    signer: s,
    states,
  };
}
