// SPDX-License-Identifier: Apache-2.0
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import type { Database } from '../store/schema.js';
import { anomalyAuditEvents, formatAnomalyReport, isAfterHours, runAnomalyScan, storeAnomalyReport, defaultAnomalyThresholds } from './anomaly.js';
import type { AuditEvent } from './record.js';
import { createSqlAuditSink } from './sql-sink.js';
import { disclosurePair, refusal } from './testing/audit-fixtures.js';

const minute = 60_000;
const day = 86_400_000;
// Monday 2026-03-02, 10:00 UTC: business hours.
const monday10 = Date.UTC(2026, 2, 2, 10);
const since = Date.UTC(2026, 2, 1);
const until = Date.UTC(2026, 3, 1);
let db: Kysely<Database>;
let n = 0;

function pair(userId: string, at: number, patient: string, extra: { breakGlass?: boolean; accessBasis?: string } = {}): AuditEvent[] {
  n += 1;
  return disclosurePair({ n, at, userId, patientHash: patient, endpointId: 'openai-1', ...extra });
}

beforeEach(async () => {
  db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
});
afterEach(() => db.destroy());

describe('anomaly scan', () => {
  it('finds each pattern, for the right user, and nothing for a quiet user', async () => {
    const events: AuditEvent[] = [];
    // quiet: a few daytime requests on the care team.
    for (let i = 0; i < 3; i++) events.push(...pair('quiet', monday10 + i * day, `q${i}`));
    // spiky: 2 requests in February, 12 in March.
    for (let i = 0; i < 2; i++) events.push(...pair('spiky', Date.UTC(2026, 1, 10 + i, 10), 's0'));
    for (let i = 0; i < 12; i++) events.push(...pair('spiky', monday10 + i * 20 * minute, 's0'));
    // night-owl: 3 patient requests at 02:00 and one on Saturday afternoon.
    for (let i = 0; i < 3; i++) events.push(...pair('night-owl', Date.UTC(2026, 2, 3 + i, 2), 'n0'));
    events.push(...pair('night-owl', Date.UTC(2026, 2, 7, 14), 'n0'));
    // wanderer: access by unit/role basis.
    for (let i = 0; i < 4; i++) events.push(...pair('wanderer', monday10 + i * day + 3 * 60 * minute, `w${i}`, { accessBasis: i % 2 === 0 ? 'unit' : 'role' }));
    // glass: three break-glass sessions.
    for (let i = 0; i < 3; i++) events.push(...pair('glass', monday10 + i * day + minute, `g${i}`, { breakGlass: true, accessBasis: 'break_glass' }));
    // prober: 5 denials within 4 minutes.
    for (let i = 0; i < 5; i++) events.push(refusal(1000 + i, monday10 + i * minute, 'prober', 'patient_access_denied', `x${i}`));
    // browser: 6 distinct patients within 30 minutes.
    for (let i = 0; i < 6; i++) events.push(...pair('browser', monday10 + i * 5 * minute, `b${i}`));
    await createSqlAuditSink(db).appendBatch(events);

    const report = await runAnomalyScan(db, {
      since,
      until,
      now: until,
      thresholds: {
        volumeSpikeFactor: 3,
        volumeMinRequests: 10,
        afterHoursMin: 4,
        outsideCareTeamMin: 4,
        breakGlassMax: 3,
        denialBurst: { count: 5, windowMs: 10 * minute },
        manyPatients: { count: 6, windowMs: 60 * minute },
      },
    });
    expect(report.findings.map((f) => [f.kind, f.userId, f.count])).toEqual([
      ['volume_spike', 'spiky', 12],
      ['after_hours', 'night-owl', 4],
      ['outside_care_team', 'wanderer', 4],
      ['break_glass_frequency', 'glass', 3],
      ['denial_burst', 'prober', 5],
      ['many_patients', 'browser', 6],
    ]);
    expect(report.findings.find((f) => f.kind === 'denial_burst')).toMatchObject({ from: new Date(monday10).toISOString(), to: new Date(monday10 + 4 * minute).toISOString() });

    const text = formatAnomalyReport(report);
    expect(text).toContain('many_patients: user browser, 6');
    await storeAnomalyReport(db, report);
    const stored = await db.selectFrom('audit_anomaly_reports').selectAll().executeTakeFirstOrThrow();
    expect(stored.findings).toBe(6);

    const alerts = anomalyAuditEvents(report, { instance: 'test', now: until, requestId: 'scan-1' });
    expect(alerts.map((e) => e.type)).toEqual(['anomaly.report', ...Array(6).fill('alert')]);
    expect(alerts[1]?.detail).toMatchObject({ kind: 'volume_spike', userId: 'spiky', count: 12 });
    // The alerts append to the chain like any record.
    await createSqlAuditSink(db).appendBatch(alerts);
  });

  it('stays quiet below every threshold', async () => {
    await createSqlAuditSink(db).appendBatch([...pair('a', monday10, 'p1'), refusal(99, monday10, 'a', 'patient_access_denied')]);
    expect((await runAnomalyScan(db, { since, until, now: until })).findings).toEqual([]);
  });

  it('knows business hours in local time', () => {
    const hours = { ...defaultAnomalyThresholds.businessHours, utcOffsetMinutes: -300 };
    expect(isAfterHours(Date.UTC(2026, 2, 2, 14), hours)).toBe(false); // 09:00 local
    expect(isAfterHours(Date.UTC(2026, 2, 2, 11), hours)).toBe(true); // 06:00 local
    expect(isAfterHours(Date.UTC(2026, 2, 7, 15), hours)).toBe(true); // Saturday
  });
});
