// SPDX-License-Identifier: Apache-2.0
/**
 * An {@link AuditSink} for SQLite files that commits on a worker thread (see
 * sqlite-append-worker.js), so the fsync of every group commit happens off the event loop. The
 * main thread prepares each record's canonical body; the worker chains and stores under the
 * database's write lock, which keeps the chain correct with other processes on the same file.
 */
import { Worker } from 'node:worker_threads';
import { canonicalJson } from '../kernel/canonical-json.js';
import type { AuditEvent, ChainedAuditRecord } from './record.js';
import type { AuditSink } from './writer.js';

interface Reply {
  readonly id: number;
  readonly chained?: readonly { seq: number; prevHash: string; hash: string }[];
  readonly error?: string;
}

export class AuditWorkerError extends Error {
  readonly code: string;

  constructor(code: string) {
    super(`audit append failed in the writer thread (${code})`);
    this.name = 'AuditWorkerError';
    this.code = code;
  }
}

export interface SqliteWorkerSink extends AuditSink {
  close(): Promise<void>;
}

/** Starts the writer thread for `file` (an absolute path to a migrated SQLite database). */
export function createSqliteWorkerSink(file: string, options: { busyTimeoutMs?: number; sync?: 'full' | 'normal' } = {}): SqliteWorkerSink {
  const worker = new Worker(new URL('./sqlite-append-worker.js', import.meta.url), {
    workerData: { file, busyTimeoutMs: options.busyTimeoutMs ?? 5000, sync: options.sync ?? 'full' },
  });
  const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (err: unknown) => void }>();
  let nextId = 0;
  let failed: unknown;
  const failAll = (err: unknown): void => {
    failed = err;
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    waiter?.resolve(reply);
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new AuditWorkerError('WORKER_EXITED')));

  return {
    async appendBatch(events: readonly AuditEvent[]): Promise<readonly ChainedAuditRecord[]> {
      if (events.length === 0) return [];
      if (failed !== undefined) throw failed;
      const bodies = events.map((event) => canonicalJson(event));
      const rows = events.map((event, index) => ({
        id: event.id,
        recordedAt: Date.parse(event.recordedAt),
        type: event.type,
        stage: event.stage,
        outcome: event.outcome,
        requestId: event.requestId,
        actorId: event.actor?.userId ?? null,
        patientHash: event.patientHash ?? null,
        endpointId: event.endpointId ?? null,
        body: bodies[index],
      }));
      const id = nextId++;
      const reply = await new Promise<Reply>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'append', id, rows });
      });
      if (reply.error !== undefined || reply.chained === undefined) throw new AuditWorkerError(reply.error ?? 'NO_REPLY');
      return reply.chained.map((link, index) => ({ ...link, event: events[index] as AuditEvent, body: bodies[index] as string }));
    },
    async close() {
      if (failed !== undefined) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' });
      await exited;
    },
  };
}
