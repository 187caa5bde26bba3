// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { findChainBreak, genesisHash } from './chain.js';
import type { AuditEvent, ChainedAuditRecord } from './record.js';
import { createAuditWriter, type AuditSink } from './writer.js';

function event(n: number): AuditEvent {
  return {
    id: `id-${n}`,
    recordedAt: new Date(0).toISOString(),
    type: 'chat.completion',
    stage: 'completed',
    outcome: 'success',
    requestId: `req-${n}`,
    status: 200,
    instance: 'test',
  };
}

function memorySink(): AuditSink & { rows: ChainedAuditRecord[]; batches: number; fail: boolean } {
  const sink = {
    rows: [] as ChainedAuditRecord[],
    batches: 0,
    fail: false,
    head: () => Promise.resolve(sink.rows.length === 0 ? undefined : { seq: sink.rows.length, hash: sink.rows[sink.rows.length - 1]!.hash }),
    appendBatch: (records: readonly ChainedAuditRecord[]) => {
      if (sink.fail) return Promise.reject(new Error('disk full'));
      sink.batches++;
      sink.rows.push(...records);
      return Promise.resolve();
    },
  };
  return sink;
}

describe('audit writer', () => {
  it('groups concurrent appends into one commit and chains them in order', async () => {
    const sink = memorySink();
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.append(event(i))));
    expect(sink.batches).toBe(1);
    expect(sink.rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(sink.rows[0]?.prevHash).toBe(genesisHash);
    expect(findChainBreak(sink.rows)).toBeUndefined();
  });

  it('continues the chain from the stored head after a restart', async () => {
    const sink = memorySink();
    const first = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await first.append(event(1));
    const second = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await second.append(event(2));
    expect(findChainBreak(sink.rows)).toBeUndefined();
  });

  it('rejects with audit_unavailable when the store fails, and leaves no gap in the chain', async () => {
    const sink = memorySink();
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await writer.append(event(1));
    sink.fail = true;
    const failed = await writer.append(event(2)).catch((err: unknown) => err);
    expect(isGatewayError(failed, 'audit_unavailable')).toBe(true);
    sink.fail = false;
    await writer.append(event(3));
    expect(sink.rows.map((r) => r.seq)).toEqual([1, 2]);
    expect(findChainBreak(sink.rows)).toBeUndefined();
  });

  it('rejects with audit_unavailable when the store is slower than the timeout', async () => {
    const sink: AuditSink = { head: () => Promise.resolve(undefined), appendBatch: () => new Promise(() => {}) };
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 20 });
    const failed = await writer.append(event(1)).catch((err: unknown) => err);
    expect(isGatewayError(failed, 'audit_unavailable')).toBe(true);
  });
});

describe('findChainBreak', () => {
  it('names the first changed record', async () => {
    const sink = memorySink();
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.append(event(i))));
    const rows = sink.rows.map((r) => ({ ...r }));
    rows[4] = { ...rows[4]!, body: rows[4]!.body.replace('req-4', 'req-X') };
    expect(findChainBreak(rows)).toEqual({ seq: 5, reason: 'hash_mismatch' });
    expect(findChainBreak([rows[0]!, rows[2]!])).toEqual({ seq: 3, reason: 'sequence_gap' });
  });
});
