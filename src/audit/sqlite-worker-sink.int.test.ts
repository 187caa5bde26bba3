// SPDX-License-Identifier: Apache-2.0
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { findChainBreak } from './chain.js';
import type { AuditEvent } from './record.js';
import { createSqliteWorkerSink } from './sqlite-worker-sink.js';
import { createAuditWriter } from './writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function event(n: number, instance: string): AuditEvent {
  return { id: `${instance}-${n}`, recordedAt: new Date(0).toISOString(), type: 'chat.completion', stage: 'completed', outcome: 'success', requestId: `r-${instance}-${n}`, status: 200, instance };
}

async function migratedFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'phigate-audit-worker-'));
  dirs.push(dir);
  const db = createDb('sqlite:audit.db', { baseDir: dir });
  await migrateToLatest(db);
  await db.destroy();
  return join(dir, 'audit.db');
}

describe('SQLite worker audit sink', () => {
  it('builds one unbroken chain from two writer threads appending to one file', async () => {
    const file = await migratedFile();
    const sinks = [createSqliteWorkerSink(file), createSqliteWorkerSink(file)];
    const writers = await Promise.all(sinks.map((sink) => createAuditWriter({ sink, writeTimeoutMs: 10_000 })));
    await Promise.all(writers.flatMap((writer, w) => Array.from({ length: 150 }, (_, i) => writer.append(event(i, `w${w}`)))));
    await Promise.all(sinks.map((sink) => sink.close()));

    const db = createDb(`sqlite:${file}`, { baseDir: '/' });
    const rows = await db.selectFrom('audit_events').select(['seq', 'body', 'hash']).select('prev_hash as prevHash').orderBy('seq').execute();
    await db.destroy();
    expect(rows).toHaveLength(300);
    expect(findChainBreak(rows.map((r) => ({ ...r, seq: Number(r.seq) })))).toBeUndefined();
  });

  it('fails appends with audit_unavailable once the writer thread is gone', async () => {
    const sink = createSqliteWorkerSink(await migratedFile());
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 5_000 });
    await writer.append(event(1, 'a'));
    await sink.close();
    const failure = await writer.append(event(2, 'a')).catch((err: unknown) => err);
    expect(isGatewayError(failure, 'audit_unavailable')).toBe(true);
  });
});

describe('SQLite worker audit sink, synchronous=NORMAL', () => {
  it('chains and stores the same way', async () => {
    const file = await migratedFile();
    const sink = createSqliteWorkerSink(file, { sync: 'normal' });
    const writer = await createAuditWriter({ sink, writeTimeoutMs: 10_000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.append(event(i, 'n'))));
    await sink.close();
    const db = createDb(`sqlite:${file}`, { baseDir: '/' });
    const rows = await db.selectFrom('audit_events').select(['seq', 'body', 'hash']).select('prev_hash as prevHash').orderBy('seq').execute();
    await db.destroy();
    expect(rows).toHaveLength(20);
    expect(findChainBreak(rows.map((r) => ({ ...r, seq: Number(r.seq) })))).toBeUndefined();
  });
});
