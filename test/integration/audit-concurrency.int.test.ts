// SPDX-License-Identifier: Apache-2.0
/**
 * Several gateway instances appending to one store build one unbroken chain: four writers on
 * separate PostgreSQL pools (own schema) and three writer processes on one SQLite file, with
 * tree heads signed concurrently by two instances. The result verifies as a single log.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createCheckpoint, loadAuditPublicKeys, loadAuditSigner } from '../../src/audit/checkpoints.js';
import type { AuditEvent } from '../../src/audit/record.js';
import { createSqlAuditSink } from '../../src/audit/sql-sink.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { createAuditWriter } from '../../src/audit/writer.js';
import { createMemoryKms } from '../../src/crypto/testing/memory-kms.js';
import { createDb } from '../../src/store/db.js';
import { openStore } from '../../src/store/store.js';

const run = promisify(execFile);
const pgUrl = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: pgUrl, max: 2 });
afterAll(() => admin.end());

function event(instance: string, n: number): AuditEvent {
  return {
    id: `${instance}-${n}`,
    recordedAt: new Date().toISOString(),
    type: 'chat.completion',
    stage: 'completed',
    outcome: 'success',
    requestId: `${instance}-req-${n}`,
    status: 200,
    instance,
  };
}

describe('one chain from several writers', () => {
  it('PostgreSQL: four instances on separate pools, concurrent bursts and concurrent checkpoints', async () => {
    const schema = `phigate_audit_cc_${randomBytes(5).toString('hex')}`;
    await admin.query(`create schema ${schema}`);
    const kms = createMemoryKms();
    const store = await openStore({ url: pgUrl, baseDir: tmpdir(), schema, kms, maxConnections: 2 });
    const pools = Array.from({ length: 4 }, () => createDb(pgUrl, { baseDir: tmpdir(), schema, maxConnections: 3 }));
    try {
      const signers = await Promise.all([loadAuditSigner(store.db, store.fieldCrypto), loadAuditSigner(store.db, store.fieldCrypto)]);
      expect(signers[0].keyId).toBe(signers[1].keyId);
      const perInstance = 150;
      const writers = await Promise.all(pools.map((db) => createAuditWriter({ sink: createSqlAuditSink(db), writeTimeoutMs: 30_000, maxBatch: 16 })));
      const checkpoints: Promise<unknown>[] = [];
      await Promise.all(
        writers.map(async (writer, w) => {
          for (let n = 0; n < perInstance; n += 10) {
            await Promise.all(Array.from({ length: 10 }, (_, i) => writer.append(event(`pg${w}`, n + i))));
            if (n % 50 === 0) checkpoints.push(createCheckpoint({ db: pools[w]!, signer: signers[w % 2]! }));
          }
        }),
      );
      await Promise.all(checkpoints);
      await createCheckpoint({ db: store.db, signer: signers[0] });
      const report = await verifyAuditLog({ db: store.db, publicKeys: await loadAuditPublicKeys(store.db), pageSize: 97 });
      expect(report.failure).toBeUndefined();
      expect(report).toMatchObject({ ok: true, records: 4 * perInstance, lastVerifiedHead: 4 * perInstance });
      expect(report.headsChecked).toBeGreaterThan(1);
      const ids = await store.db.selectFrom('audit_events').select('id').execute();
      expect(new Set(ids.map((r) => r.id)).size).toBe(4 * perInstance);
    } finally {
      await Promise.all(pools.map((db) => db.destroy()));
      await store.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
    }
  });

  it('SQLite: three writer processes on one database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phigate-audit-cc-'));
    const url = `sqlite:${join(dir, 'phigate.db')}`;
    const store = await openStore({ url, baseDir: dir, kms: createMemoryKms() });
    try {
      const worker = join(import.meta.dirname, '../../src/audit/testing/append-worker.ts');
      const perProcess = 200;
      await Promise.all(['p0', 'p1', 'p2'].map((instance) => run(process.execPath, ['--import', 'tsx', worker, url, instance, String(perProcess)])));
      const signer = await loadAuditSigner(store.db, store.fieldCrypto);
      await createCheckpoint({ db: store.db, signer });
      const report = await verifyAuditLog({ db: store.db, publicKeys: await loadAuditPublicKeys(store.db) });
      expect(report.failure).toBeUndefined();
      expect(report).toMatchObject({ ok: true, records: 3 * perProcess, lastVerifiedHead: 3 * perProcess });
      const instances = await store.db.selectFrom('audit_events').select('body').execute();
      const seen = new Set(instances.map((r) => (JSON.parse(r.body) as AuditEvent).instance));
      expect([...seen].sort()).toEqual(['p0', 'p1', 'p2']);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
