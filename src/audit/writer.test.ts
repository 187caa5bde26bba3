// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { findChainBreak, genesisHash } from './chain.js';
import type { AuditEvent } from './record.js';
import { createMemoryAuditSink } from './testing/memory-sink.js';
import { createAuditWriter } from './writer.js';

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

describe('audit writer', () => {
  it('groups concurrent appends into one commit and chains them in order', async () => {
    const sink = createMemoryAuditSink();
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.append(event(i))));
    expect(sink.batches).toBe(1);
    expect(sink.rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(sink.rows.map((r) => r.event.requestId)).toEqual(Array.from({ length: 50 }, (_, i) => `req-${i}`));
    expect(sink.rows[0]?.prevHash).toBe(genesisHash);
    expect(findChainBreak(sink.rows)).toBeUndefined();
  });

  it('two writers on one sink build one chain (the head is read per batch, not remembered)', async () => {
    const sink = createMemoryAuditSink();
    const first = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    const second = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    for (let i = 0; i < 6; i++) await (i % 2 === 0 ? first : second).append(event(i));
    await Promise.all([first.append(event(6)), second.append(event(7))]);
    expect(sink.rows).toHaveLength(8);
    expect(findChainBreak(sink.rows)).toBeUndefined();
  });

  it('rejects with audit_unavailable when the store fails, and leaves no gap in the chain', async () => {
    const sink = createMemoryAuditSink();
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await writer.append(event(1));
    sink.mode = 'fail';
    const failed = await writer.append(event(2)).catch((err: unknown) => err);
    expect(isGatewayError(failed, 'audit_unavailable')).toBe(true);
    sink.mode = 'ok';
    await writer.append(event(3));
    expect(sink.rows.map((r) => r.seq)).toEqual([1, 2]);
    expect(findChainBreak(sink.rows)).toBeUndefined();
  });

  it('rejects with audit_unavailable when the store is slower than the timeout', async () => {
    const sink = createMemoryAuditSink();
    sink.mode = 'hang';
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 20 });
    const failed = await writer.append(event(1)).catch((err: unknown) => err);
    expect(isGatewayError(failed, 'audit_unavailable')).toBe(true);
  });
});

describe('findChainBreak', () => {
  it('names the first changed record', async () => {
    const sink = createMemoryAuditSink();
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 1000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.append(event(i))));
    const rows = sink.rows.map((r) => ({ ...r }));
    rows[4] = { ...rows[4]!, body: rows[4]!.body.replace('req-4', 'req-X') };
    expect(findChainBreak(rows)).toEqual({ seq: 5, reason: 'hash_mismatch' });
    expect(findChainBreak([rows[0]!, rows[2]!])).toEqual({ seq: 3, reason: 'sequence_gap' });
  });
});
