// SPDX-License-Identifier: Apache-2.0
/**
 * The SQLite audit writer thread. It owns one write connection to the database file and does,
 * for every batch the gateway sends, what `sql-sink.ts` does on the main thread: take the write
 * lock (BEGIN IMMEDIATE), read the chain head, chain the batch after it, insert, commit with
 * fsync (synchronous=FULL unless the store is configured `normal`). Running here keeps the fsync off the event loop, so requests keep
 * flowing while a commit is on its way to disk, and batches grow while the disk is busy.
 *
 * Plain JavaScript on purpose: worker threads do not inherit the TypeScript loader. The chain
 * formula must stay identical to `chainHash` in chain.ts; the tests verify this thread's output
 * with the TypeScript verifier.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const genesisHash = '0'.repeat(64);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${workerData.sync === 'normal' ? 'NORMAL' : 'FULL'}`);

const readHead = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
const insert = db.prepare(
  'INSERT INTO audit_events (seq, id, recorded_at, event_type, stage, outcome, request_id, actor_id, patient_hash, endpoint_id, body, prev_hash, hash) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
);

const append = db.transaction((rows) => {
  const head = readHead.get();
  let seq = head === undefined ? 0 : Number(head.seq);
  let prevHash = head === undefined ? genesisHash : head.hash;
  const chained = [];
  for (const row of rows) {
    seq += 1;
    const hash = createHash('sha256').update(prevHash).update('\n').update(row.body).digest('hex');
    insert.run(seq, row.id, row.recordedAt, row.type, row.stage, row.outcome, row.requestId, row.actorId, row.patientHash, row.endpointId, row.body, prevHash, hash);
    chained.push({ seq, prevHash, hash });
    prevHash = hash;
  }
  return chained;
});

parentPort.on('message', (message) => {
  if (message.type === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: message.id, chained: append.immediate(message.rows) });
  } catch (err) {
    // Only the SQLite code crosses back: messages can quote values.
    parentPort.postMessage({ id: message.id, error: typeof err?.code === 'string' ? err.code : 'SQLITE_ERROR' });
  }
});
