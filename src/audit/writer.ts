// SPDX-License-Identifier: Apache-2.0
/**
 * The audit writer: appends are grouped into one transaction per turn of the event loop (group
 * commit), so many concurrent requests share one durable commit. `append` resolves only after
 * the commit; any failure or a commit slower than the timeout rejects with `audit_unavailable`,
 * and the caller must not forward or release anything.
 *
 * The writer keeps no chain state of its own: the sink reads the chain head inside the batch's
 * transaction, under a lock every writer on the same store takes (see sql-sink.ts). So several
 * gateway processes appending to one database still build one unbroken chain.
 */
import { GatewayError } from '../kernel/errors.js';
import type { AuditEvent, ChainedAuditRecord } from './record.js';

/**
 * Where records are stored. `appendBatch` must, atomically and durably: read the current chain
 * head, chain `events` after it in order, store them, and return the chained records — with
 * concurrent callers (other processes included) serialised, so no two batches share a head.
 */
export interface AuditSink {
  appendBatch(events: readonly AuditEvent[]): Promise<readonly ChainedAuditRecord[]>;
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

/** Async for the callers' sake (it used to read the chain head); it no longer touches the store. */
export function createAuditWriter(options: AuditWriterOptions): Promise<AuditWriter> {
  const maxBatch = options.maxBatch ?? 512;
  let queue: Pending[] = [];
  let flushing: Promise<void> | undefined;
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      const started = process.hrtime.bigint();
      try {
        await options.sink.appendBatch(batch.map((item) => item.event));
        options.onCommit?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
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

  return Promise.resolve({
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
  });
}
