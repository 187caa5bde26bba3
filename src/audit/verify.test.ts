// SPDX-License-Identifier: Apache-2.0
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryKms } from '../crypto/testing/memory-kms.js';
import { openStore, type OpenedStore } from '../store/store.js';
import { chainHash } from './chain.js';
import { createCheckpoint, loadAuditPublicKeys, loadAuditSigner, publicKeysFromPem, type AuditSigner } from './checkpoints.js';
import { consistencyProof, inclusionProof, merkleRoot, recordLeafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import type { AuditEvent } from './record.js';
import { createSqlAuditSink } from './sql-sink.js';
import { verifyAuditLog } from './verify.js';
import { createFileWitness } from './witness.js';

let dir: string;
let store: OpenedStore;
let signer: AuditSigner;

function event(n: number): AuditEvent {
  return {
    id: `id-${n}`,
    recordedAt: new Date(1_700_000_000_000 + n).toISOString(),
    type: 'chat.completion',
    stage: 'completed',
    outcome: 'success',
    requestId: `req-${n}`,
    status: 200,
    actor: { userId: `user-${n % 3}`, kind: 'user', roles: ['physician'], authMethod: 'api_key' },
    instance: 'test',
  };
}

async function append(from: number, count: number): Promise<void> {
  await createSqlAuditSink(store.db).appendBatch(Array.from({ length: count }, (_, i) => event(from + i)));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phigate-audit-verify-'));
  store = await openStore({ url: 'sqlite:audit.db', baseDir: dir, kms: createMemoryKms() });
  signer = await loadAuditSigner(store.db, store.fieldCrypto);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Bypasses the append-only triggers, as an attacker with file access would. */
async function tamper(statement: string): Promise<void> {
  await sql.raw('DROP TRIGGER IF EXISTS audit_events_no_update').execute(store.db);
  await sql.raw('DROP TRIGGER IF EXISTS audit_events_no_delete').execute(store.db);
  await sql.raw('DROP TRIGGER IF EXISTS audit_checkpoints_no_delete').execute(store.db);
  await sql.raw(statement).execute(store.db);
}

/** Recomputes every chain hash from `seq` on, so the chain alone looks intact. */
async function rehashFrom(seq: number): Promise<void> {
  const rows = await store.db.selectFrom('audit_events').select(['seq', 'body', 'prev_hash']).where('seq', '>=', seq).orderBy('seq').execute();
  let prev = rows[0]!.prev_hash;
  for (const row of rows) {
    const hash = chainHash(prev, row.body);
    await tamper(`UPDATE audit_events SET prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${row.seq}`);
    prev = hash;
  }
}

describe('signed tree heads', () => {
  it('stores the private key only encrypted, converges on one key, and signs heads that verify', async () => {
    const row = await store.db.selectFrom('audit_signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.private_key_enc).toMatch(/^v1\./);
    expect(row.private_key_enc).not.toContain('PRIVATE');
    const again = await loadAuditSigner(store.db, store.fieldCrypto);
    expect(again.keyId).toBe(signer.keyId);
    await append(1, 10);
    const head = await createCheckpoint({ db: store.db, signer });
    expect(head?.treeSize).toBe(10);
    expect(await createCheckpoint({ db: store.db, signer })).toBeUndefined();
    await append(11, 5);
    expect((await createCheckpoint({ db: store.db, signer }))?.treeSize).toBe(15);
    const report = await verifyAuditLog({ db: store.db, publicKeys: await loadAuditPublicKeys(store.db) });
    expect(report).toMatchObject({ ok: true, records: 15, headsChecked: 2, lastVerifiedHead: 15 });
    const pinned = publicKeysFromPem(signer.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    expect([...pinned.keys()]).toEqual([signer.keyId]);
  });

  it('the signed root matches RFC 9162 MTH over the chain hashes; inclusion and consistency proofs verify against heads', async () => {
    await append(1, 7);
    const first = (await createCheckpoint({ db: store.db, signer }))!;
    await append(8, 6);
    const second = (await createCheckpoint({ db: store.db, signer }))!;
    const rows = await store.db.selectFrom('audit_events').select('hash').orderBy('seq').execute();
    const leaves = rows.map((r) => recordLeafHash(r.hash));
    expect(merkleRoot(leaves, 7).toString('hex')).toBe(first.rootHash);
    expect(merkleRoot(leaves).toString('hex')).toBe(second.rootHash);
    expect(verifyInclusion(4, 13, leaves[4]!, inclusionProof(leaves, 4, 13), Buffer.from(second.rootHash, 'hex'))).toBe(true);
    expect(verifyConsistency(7, 13, Buffer.from(first.rootHash, 'hex'), Buffer.from(second.rootHash, 'hex'), consistencyProof(leaves, 7, 13))).toBe(true);
  });

  it('refuses to sign a broken chain', async () => {
    await append(1, 5);
    await tamper(`UPDATE audit_events SET body = replace(body, 'req-3', 'req-9') WHERE seq = 3`);
    await expect(createCheckpoint({ db: store.db, signer })).rejects.toThrow(/record 3/);
  });
});

describe('phigate audit verify (library)', () => {
  it('names the first changed record', async () => {
    await append(1, 20);
    await tamper(`UPDATE audit_events SET body = replace(body, 'req-12', 'req-99') WHERE seq = 12`);
    const report = await verifyAuditLog({ db: store.db, publicKeys: await loadAuditPublicKeys(store.db), pageSize: 4 });
    expect(report.ok).toBe(false);
    expect(report.failure).toEqual({ seq: 12, reason: 'hash_mismatch' });
  });

  it('catches an indexed column changed behind an intact body', async () => {
    await append(1, 5);
    await tamper(`UPDATE audit_events SET request_id = 'req-elsewhere' WHERE seq = 4`);
    const report = await verifyAuditLog({ db: store.db, publicKeys: await loadAuditPublicKeys(store.db) });
    expect(report.failure).toEqual({ seq: 4, reason: 'column_mismatch' });
  });

  it('catches a tail rewritten with recomputed hashes through the signed heads, and through the witness when the heads are deleted', async () => {
    const witnessDir = mkdtempSync(join(tmpdir(), 'phigate-witness-'));
    const witness = createFileWitness(join(witnessDir, 'heads.jsonl'));
    try {
      await append(1, 10);
      await createCheckpoint({ db: store.db, signer, witnesses: [witness] });
      await append(11, 10);
      await createCheckpoint({ db: store.db, signer, witnesses: [witness] });
      const publicKeys = await loadAuditPublicKeys(store.db);
      const witnessHeads = await witness.readHeads();
      expect(witnessHeads.map((h) => h.treeSize)).toEqual([10, 20]);
      expect((await verifyAuditLog({ db: store.db, publicKeys, witnessHeads })).ok).toBe(true);

      await tamper(`UPDATE audit_events SET body = replace(body, '"status":200', '"status":500') WHERE seq = 15`);
      await rehashFrom(15);
      expect((await verifyAuditLog({ db: store.db, publicKeys })).failure).toMatchObject({ seq: 11, reason: 'root_mismatch', treeSize: 20, source: 'store' });

      await tamper('DELETE FROM audit_checkpoints');
      expect((await verifyAuditLog({ db: store.db, publicKeys })).ok).toBe(true);
      expect((await verifyAuditLog({ db: store.db, publicKeys, witnessHeads })).failure).toMatchObject({ seq: 11, reason: 'root_mismatch', source: 'witness' });
    } finally {
      rmSync(witnessDir, { recursive: true, force: true });
    }
  });

  it('catches truncation and a forged head', async () => {
    await append(1, 10);
    const head = (await createCheckpoint({ db: store.db, signer }))!;
    const publicKeys = await loadAuditPublicKeys(store.db);
    await tamper('DELETE FROM audit_events WHERE seq > 8');
    expect((await verifyAuditLog({ db: store.db, publicKeys })).failure).toMatchObject({ seq: 9, reason: 'log_shorter_than_head', treeSize: 10 });
    const forged = { ...head, treeSize: 8 };
    expect((await verifyAuditLog({ db: store.db, publicKeys, witnessHeads: [forged] })).failure).toMatchObject({ reason: 'head_signature_invalid', source: 'witness' });
  });

  it('incremental runs resume from the last verified head and still check what follows', async () => {
    await append(1, 10);
    await createCheckpoint({ db: store.db, signer });
    const publicKeys = await loadAuditPublicKeys(store.db);
    const first = await verifyAuditLog({ db: store.db, publicKeys });
    expect(first.state?.treeSize).toBe(10);
    await append(11, 10);
    await createCheckpoint({ db: store.db, signer });
    const second = await verifyAuditLog({ db: store.db, publicKeys, since: first.state! });
    expect(second).toMatchObject({ ok: true, records: 10, startSize: 10, treeSize: 20 });
    await tamper(`UPDATE audit_events SET body = replace(body, 'req-17', 'req-71') WHERE seq = 17`);
    expect((await verifyAuditLog({ db: store.db, publicKeys, since: first.state! })).failure).toEqual({ seq: 17, reason: 'hash_mismatch' });
    expect((await verifyAuditLog({ db: store.db, publicKeys, since: { ...first.state!, rootHash: '0'.repeat(64) } })).failure?.reason).toBe('state_mismatch');
  });
});
