// SPDX-License-Identifier: Apache-2.0
/** An in-memory {@link AuditSink} for other modules' tests: chains like the SQL sink, can be made to fail or hang. */
import { chainAfter } from '../chain.js';
import type { ChainedAuditRecord } from '../record.js';
import type { AuditSink } from '../writer.js';

export interface MemoryAuditSink extends AuditSink {
  readonly rows: ChainedAuditRecord[];
  /** Commits so far. */
  readonly batches: number;
  /** `fail` rejects every batch; `hang` never settles. */
  mode: 'ok' | 'fail' | 'hang';
}

export function createMemoryAuditSink(): MemoryAuditSink {
  let batches = 0;
  const sink: MemoryAuditSink = {
    rows: [],
    get batches() {
      return batches;
    },
    mode: 'ok',
    appendBatch(events) {
      if (sink.mode === 'fail') return Promise.reject(new Error('store refused the write'));
      if (sink.mode === 'hang') return new Promise(() => {});
      const last = sink.rows[sink.rows.length - 1];
      const records = chainAfter(last && { seq: last.seq, hash: last.hash }, events);
      sink.rows.push(...records);
      batches += 1;
      return Promise.resolve(records);
    },
  };
  return sink;
}
