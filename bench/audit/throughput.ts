// SPDX-License-Identifier: Apache-2.0
/**
 * Verify throughput: a SQLite audit log of N synthetic records (default one million) is written
 * straight into the migrated table in large transactions, a tree head is signed over it with the
 * real checkpointer (which itself reads the whole log), and `verifyAuditLog` — the code behind
 * `phigate audit verify` — reads it back page by page. Reports records per minute for both.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { chainAfter } from '../../src/audit/chain.js';
import { createCheckpoint, loadAuditPublicKeys, loadAuditSigner } from '../../src/audit/checkpoints.js';
import { verifyAuditLog, type VerifyReport } from '../../src/audit/verify.js';
import { createMemoryKms } from '../../src/crypto/testing/memory-kms.js';
import { openStore } from '../../src/store/store.js';
import { syntheticEvent } from './synthetic-log.js';

export interface ThroughputFigure {
  readonly records: number;
  readonly databaseBytes: number;
  readonly generateMs: number;
  readonly checkpointMs: number;
  readonly verifyMs: number;
  readonly verifyRecordsPerMinute: number;
  readonly checkpointRecordsPerMinute: number;
  readonly report: VerifyReport;
  readonly peakRssBytes: number;
}

export async function throughputFigure(records: number, onProgress?: (line: string) => void): Promise<ThroughputFigure> {
  const dir = mkdtempSync(join(tmpdir(), 'phigate-bench-audit-'));
  const file = join(dir, 'phigate.db');
  const store = await openStore({ url: `sqlite:${file}`, baseDir: dir, kms: createMemoryKms() });
  try {
    const started = performance.now();
    const raw = new SqliteDatabase(file);
    raw.pragma('journal_mode = WAL');
    const insert = raw.prepare(
      'insert into audit_events (seq, id, recorded_at, event_type, stage, outcome, request_id, actor_id, patient_hash, endpoint_id, body, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?,?,?)',
    );
    let head: { seq: number; hash: string } | undefined;
    const chunk = 20_000;
    for (let from = 1; from <= records; from += chunk) {
      const events = Array.from({ length: Math.min(chunk, records - from + 1) }, (_, i) => syntheticEvent(from + i));
      const chained = chainAfter(head, events);
      raw.transaction(() => {
        for (const r of chained) {
          const e = r.event;
          insert.run(r.seq, e.id, Date.parse(e.recordedAt), e.type, e.stage, e.outcome, e.requestId, e.actor?.userId ?? null, e.patientHash ?? null, e.endpointId ?? null, r.body, r.prevHash, r.hash);
        }
      })();
      const last = chained[chained.length - 1]!;
      head = { seq: last.seq, hash: last.hash };
      if (from % 200_000 === 1) onProgress?.(`  generated ${(from - 1 + events.length).toLocaleString('en-US')} records`);
    }
    raw.pragma('wal_checkpoint(TRUNCATE)');
    raw.close();
    const generateMs = performance.now() - started;

    const signer = await loadAuditSigner(store.db, store.fieldCrypto);
    const checkpointStarted = performance.now();
    await createCheckpoint({ db: store.db, signer });
    const checkpointMs = performance.now() - checkpointStarted;

    let peakRss = process.memoryUsage().rss;
    const report = await verifyAuditLog({
      db: store.db,
      publicKeys: await loadAuditPublicKeys(store.db),
      onProgress: () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      },
    });
    return {
      records,
      databaseBytes: statSync(file).size,
      generateMs,
      checkpointMs,
      verifyMs: report.elapsedMs,
      verifyRecordsPerMinute: (report.records / report.elapsedMs) * 60_000,
      checkpointRecordsPerMinute: (records / checkpointMs) * 60_000,
      report,
      peakRssBytes: peakRss,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
