// SPDX-License-Identifier: Apache-2.0
/**
 * The audit writer: appends are grouped into one transaction per turn of the event loop (group
 * commit), so many concurrent requests share one durable commit. `append` resolves only after
 * the commit; any failure or a commit slower than the timeout rejects with `audit_unavailable`,
 * and the caller must not forward or release anything.
 */
import { GatewayError } from '../kernel/errors.js';
import { chainRecord, genesisHash } from './chain.js';
import type { AuditEvent, ChainedAuditRecord } from './record.js';

/** Where chained records are stored. `appendBatch` must be atomic and durable when it resolves. */
export interface AuditSink {
  /** The last stored record's sequence number and hash, to continue the chain after a restart. */
  head(): Promise<{ seq: number; hash: string } | undefined>;
  appendBatch(records: readonly ChainedAuditRecord[]): Promise<void>;
}

export interface AuditWriter {
  append(event: AuditEvent): Promise<void>;
  /** Waits for queued appends to settle. */
  drain(): Promise<void>;
}

export interface AuditWriterOptions {
  readonly sink: AuditSink;
  readonly writeTimeoutMs: number;
  readonly maxBatch?: number;
  readonly onCommit?: (records: number, seconds: number) => void;
  readonly onFailure?: (err: unknown) => void;
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export async function createAuditWriter(options: AuditWriterOptions): Promise<AuditWriter> {
  const maxBatch = options.maxBatch ?? 512;
  const head = await options.sink.head();
  let seq = head?.seq ?? 0;
  let lastHash = head?.hash ?? genesisHash;
  let queue: Pending[] = [];
  let flushing: Promise<void> | undefined;
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      const records: ChainedAuditRecord[] = [];
      let nextSeq = seq;
      let nextHash = lastHash;
      for (const item of batch) {
        const record = chainRecord(item.event, ++nextSeq, nextHash);
        nextHash = record.hash;
        records.push(record);
      }
      const started = process.hrtime.bigint();
      try {
        await options.sink.appendBatch(records);
        // The chain advances only past committed records, so a failed batch leaves no gap.
        seq = nextSeq;
        lastHash = nextHash;
        options.onCommit?.(records.length, Number(process.hrtime.bigint() - started) / 1e9);
        for (const item of batch) item.resolve();
      } catch (err) {
        options.onFailure?.(err);
        for (const item of batch) item.reject(new GatewayError('audit_unavailable', { cause: err }));
      }
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      const previous = flushing ?? Promise.resolve();
      flushing = previous.then(flush).finally(() => {
        if (queue.length === 0) flushing = undefined;
      });
    });
  }

  return {
    append(event) {
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(new GatewayError('audit_unavailable', { detail: { reason: 'timeout' } }));
        }, options.writeTimeoutMs);
        timer.unref();
        queue.push({
          event,
          resolve: () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve();
          },
          reject: (err) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            reject(err);
          },
        });
        schedule();
      });
    },
    async drain() {
      while (flushing || queue.length > 0) await (flushing ?? new Promise((r) => setImmediate(r)));
    },
  };
}
