// SPDX-License-Identifier: Apache-2.0
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryKms } from '../crypto/testing/memory-kms.js';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import type { Database } from '../store/schema.js';
import {
  activeLegalHolds,
  auditRetentionCutoff,
  createInferenceContentLog,
  placeLegalHold,
  planAuditPurge,
  purgeExpiredAuditRecords,
  releaseLegalHold,
  RetentionError,
} from './retention.js';
import { createSqlAuditSink } from './sql-sink.js';
import { simpleEvent } from './testing/audit-fixtures.js';

const day = 86_400_000;
const now = Date.UTC(2033, 5, 15, 12);
let db: Kysely<Database>;

beforeEach(async () => {
  db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
});
afterEach(() => db.destroy());

describe('audit retention', () => {
  it('keeps at least 6 years and refuses anything shorter', () => {
    expect(auditRetentionCutoff(now, 7)).toBe(Date.UTC(2026, 5, 15, 12));
    expect(auditRetentionCutoff(now, 6)).toBe(Date.UTC(2027, 5, 15, 12));
    expect(() => auditRetentionCutoff(now, 5)).toThrow(RetentionError);
  });

  it('plans only a prefix of the chain older than the cutoff, and refuses a younger cutoff', async () => {
    const old = Date.UTC(2025, 0, 1);
    await createSqlAuditSink(db).appendBatch([
      simpleEvent(1, old, 'user.create', 'a'),
      simpleEvent(2, old + day, 'user.create', 'b'),
      simpleEvent(3, Date.UTC(2030, 0, 1), 'user.create', 'a'),
      simpleEvent(4, old + 2 * day, 'user.create', 'a'),
    ]);
    // Record 4 is old, but follows a young one: the purge stops at the first young record.
    expect(await planAuditPurge(db, { now, retentionYears: 7 })).toEqual({ throughSeq: 2, records: 2, cutoff: Date.UTC(2026, 5, 15, 12), stoppedBy: 'cutoff' });
    await expect(planAuditPurge(db, { now, retentionYears: 7, before: Date.UTC(2030, 0, 2) })).rejects.toMatchObject({ code: 'cutoff_within_retention' });
    await expect(planAuditPurge(db, { now, retentionYears: 3 })).rejects.toMatchObject({ code: 'retention_too_short' });

    const hold = await placeLegalHold(db, { scope: 'user', subject: 'b', reason: 'matter 2033-17', by: 'compliance-1', now });
    expect(await planAuditPurge(db, { now, retentionYears: 7 })).toMatchObject({ throughSeq: 1, records: 1, stoppedBy: 'legal_hold' });
    const all = await placeLegalHold(db, { scope: 'all', reason: 'litigation', by: 'compliance-1', now });
    await expect(planAuditPurge(db, { now, retentionYears: 7 })).rejects.toMatchObject({ code: 'legal_hold' });
    expect(await releaseLegalHold(db, all.id, 'compliance-1', now)).toBe(true);
    expect(await releaseLegalHold(db, all.id, 'compliance-1', now)).toBe(false);
    expect((await activeLegalHolds(db)).map((h) => h.id)).toEqual([hold.id]);
  });

  it('cannot delete records through SQL: the append-only trigger refuses, the purge path included until it is allowed', async () => {
    await createSqlAuditSink(db).appendBatch([simpleEvent(1, Date.UTC(2025, 0, 1), 'user.create', 'a')]);
    await expect(db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
    await expect(purgeExpiredAuditRecords(db, { now, retentionYears: 7 })).rejects.toThrow(/append-only/);
    expect(await db.selectFrom('audit_events').select('seq').execute()).toHaveLength(1);
  });
});

describe('inference content log', () => {
  it('encrypts content, reads it back, and crypto-shreds days past the schedule', async () => {
    let clock = Date.UTC(2026, 2, 1, 10);
    const kms = createMemoryKms();
    const log = createInferenceContentLog({ db, kms, now: () => clock, retentionDays: 30 });
    const early = await log.record({ requestId: 'r1', kind: 'prompt', content: 'Jane Roe, DOB 1961-04-02: summarise', patientHash: 'p1', actorId: 'dr-a' });
    clock += 20 * day;
    const later = await log.record({ requestId: 'r2', kind: 'response', content: 'Summary for the patient', patientHash: 'p2', actorId: 'dr-a' });
    expect(await log.read(early)).toBe('Jane Roe, DOB 1961-04-02: summarise');
    const stored = await db.selectFrom('inference_content_log').select('content_enc').execute();
    expect(stored.some((r) => Buffer.from(r.content_enc, 'base64').toString('utf8').includes('Jane'))).toBe(false);

    // A fresh reader (another instance) can still read: the key is wrapped in the store.
    const other = createInferenceContentLog({ db, kms, now: () => clock });
    expect(await other.read(later)).toBe('Summary for the patient');

    clock += 15 * day; // the first day is now 35 days old
    expect(await log.purge()).toEqual({ daysDestroyed: ['2026-03-01'], rowsDeleted: 1, daysHeld: [] });
    expect(await log.read(early)).toBeUndefined();
    expect(await other.read(later)).toBe('Summary for the patient');
    const key = await db.selectFrom('inference_content_keys').selectAll().where('day', '=', '2026-03-01').executeTakeFirstOrThrow();
    expect(key.wrapped).toBeNull();
  });

  it('suspends the purge of days a legal hold covers', async () => {
    let clock = Date.UTC(2026, 2, 1, 10);
    const log = createInferenceContentLog({ db, kms: createMemoryKms(), now: () => clock, retentionDays: 30 });
    const id = await log.record({ requestId: 'r1', kind: 'prompt', content: 'held content', patientHash: 'p1' });
    const hold = await placeLegalHold(db, { scope: 'patient', subject: 'p1', reason: 'matter 7', by: 'compliance-1', now: clock });
    clock += 40 * day;
    expect(await log.purge()).toEqual({ daysDestroyed: [], rowsDeleted: 0, daysHeld: ['2026-03-01'] });
    expect(await log.read(id)).toBe('held content');
    await releaseLegalHold(db, hold.id, 'compliance-1', clock);
    expect((await log.purge()).daysDestroyed).toEqual(['2026-03-01']);
    expect(await log.read(id)).toBeUndefined();
  });

  it('deletes rows past their own use case retention before the day key goes, except held ones', async () => {
    let clock = Date.UTC(2026, 2, 1, 10);
    const log = createInferenceContentLog({ db, kms: createMemoryKms(), now: () => clock, retentionDays: 30 });
    const short = await log.record({ requestId: 'r1', kind: 'prompt', content: 'seven-day content', useCase: 'triage', patientHash: 'p1', retentionDays: 7 });
    const held = await log.record({ requestId: 'r2', kind: 'prompt', content: 'held seven-day content', useCase: 'triage', patientHash: 'p2', retentionDays: 7 });
    const long = await log.record({ requestId: 'r3', kind: 'prompt', content: 'ninety-day content', useCase: 'research', patientHash: 'p1', retentionDays: 90 });
    const plain = await log.record({ requestId: 'r4', kind: 'prompt', content: 'schedule-only content' });
    const hold = await placeLegalHold(db, { scope: 'patient', subject: 'p2', reason: 'matter 9', by: 'compliance-1', now: clock });

    clock += 7 * day - 1; // one millisecond short of seven days
    expect(await log.purge()).toEqual({ daysDestroyed: [], rowsDeleted: 0, daysHeld: [] });
    expect(await log.read(short)).toBe('seven-day content');

    clock += 1;
    expect(await log.purge()).toEqual({ daysDestroyed: [], rowsDeleted: 1, daysHeld: [] });
    expect(await log.read(short)).toBeUndefined();
    expect(await log.read(held)).toBe('held seven-day content');
    expect(await log.read(long)).toBe('ninety-day content');
    expect(await log.read(plain)).toBe('schedule-only content');
    // The day key still lives: the deletion is of the row, crypto-shredding follows the global schedule.
    expect((await db.selectFrom('inference_content_keys').select('wrapped').where('day', '=', '2026-03-01').executeTakeFirstOrThrow()).wrapped).not.toBeNull();

    await releaseLegalHold(db, hold.id, 'compliance-1', clock);
    expect((await log.purge()).rowsDeleted).toBe(1);
    expect(await log.read(held)).toBeUndefined();

    // Ninety days asked, thirty kept: the global schedule caps the use case.
    clock += 25 * day;
    expect(await log.purge()).toEqual({ daysDestroyed: ['2026-03-01'], rowsDeleted: 2, daysHeld: [] });
    expect(await log.read(long)).toBeUndefined();
  });

  it('a ciphertext moved to another row does not decrypt', async () => {
    const log = createInferenceContentLog({ db, kms: createMemoryKms(), now: () => Date.UTC(2026, 2, 1) });
    const a = await log.record({ requestId: 'r1', kind: 'prompt', content: 'first' });
    const b = await log.record({ requestId: 'r2', kind: 'prompt', content: 'second' });
    const rowA = await db.selectFrom('inference_content_log').select('content_enc').where('id', '=', a).executeTakeFirstOrThrow();
    await db.updateTable('inference_content_log').set({ content_enc: rowA.content_enc }).where('id', '=', b).execute();
    await expect(log.read(b)).rejects.toThrow();
  });
});
