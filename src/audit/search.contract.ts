// SPDX-License-Identifier: Apache-2.0
/** The search, accounting and breach-query suite, run on every database the store supports. */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../store/schema.js';
import { createSqlAuditSink } from './sql-sink.js';
import { accountingOfDisclosures, breachQuery, iterateAudit, searchAudit } from './search.js';
import { fixtureStart, smallTrail } from './testing/audit-fixtures.js';

/** `open` returns a migrated, empty database and how to dispose of it. */
export function describeAuditSearchContract(name: string, open: () => Promise<{ db: Kysely<Database>; close: () => Promise<void> }>): void {
  describe(`audit search (${name})`, () => {
    let db: Kysely<Database>;
    let close: () => Promise<void>;
    const day = 86_400_000;

    beforeEach(async () => {
      ({ db, close } = await open());
      await createSqlAuditSink(db).appendBatch(smallTrail());
    });
    afterEach(async () => close());

    it('searches by user, patient, endpoint, type and time', async () => {
      expect((await searchAudit(db, { userId: 'dr-a' })).map((r) => r.event.id)).toEqual(['s-1', 'd-2', 'c-2', 'd-3', 'c-3']);
      expect((await searchAudit(db, { patientHash: 'p1hash' })).map((r) => r.event.id)).toEqual(['d-2', 'c-2', 'd-4', 'c-4']);
      expect((await searchAudit(db, { endpointIds: ['claude-1'] })).map((r) => r.event.id)).toEqual(['d-4', 'c-4']);
      expect((await searchAudit(db, { eventType: 'user.create' })).map((r) => r.seq)).toEqual([9]);
      expect((await searchAudit(db, { since: fixtureStart + 3_600_000, until: fixtureStart + 7_200_000 })).map((r) => r.event.id)).toEqual(['d-3', 'c-3']);
      expect(await searchAudit(db, { endpointIds: [] })).toEqual([]);
      expect((await searchAudit(db, { limit: 2, afterSeq: 2 })).map((r) => r.seq)).toEqual([3, 4]);
    });

    it('iterates the whole log in pages, in chain order', async () => {
      const seqs: number[] = [];
      for await (const record of iterateAudit(db, { pageSize: 3 })) seqs.push(record.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('gives the accounting of disclosures of one patient: vendor, when, why, form and outcome', async () => {
      const rows = await accountingOfDisclosures(db, 'p1hash', { vendorOf: (id) => (id === 'claude-1' ? 'vendor-y' : undefined) });
      expect(rows).toEqual([
        expect.objectContaining({ requestId: 'req-2', endpointId: 'openai-1', vendor: 'vendor-x', userId: 'dr-a', purpose: 'TREAT', useCase: 'discharge-summary', form: 'deidentified', outcome: 'success', breakGlass: false }),
        expect.objectContaining({ requestId: 'req-4', endpointId: 'claude-1', vendor: 'vendor-y', userId: 'dr-b', breakGlass: true, outcome: 'success' }),
      ]);
      expect((await accountingOfDisclosures(db, 'p2hash'))[0]?.outcome).toBe('failure');
      // A refusal discloses nothing.
      expect(await accountingOfDisclosures(db, 'p3hash')).toEqual([]);
      expect(await accountingOfDisclosures(db, 'p1hash', { since: fixtureStart + day })).toEqual([]);
    });

    it('finds every patient a user or a vendor touched in a window', async () => {
      const window = { since: fixtureStart, until: fixtureStart + day };
      expect(await breachQuery(db, { userId: 'dr-a' }, window)).toEqual([
        { patientHash: 'p1hash', records: 2, firstAt: fixtureStart + 1000, lastAt: fixtureStart + 1800 },
        { patientHash: 'p2hash', records: 2, firstAt: fixtureStart + 3_600_000, lastAt: fixtureStart + 3_600_800 },
      ]);
      expect((await breachQuery(db, { userId: 'dr-b' }, window)).map((p) => p.patientHash)).toEqual(['p1hash', 'p3hash']);
      expect((await breachQuery(db, { endpointIds: ['openai-1'] }, window)).map((p) => p.patientHash)).toEqual(['p1hash', 'p2hash']);
      expect(await breachQuery(db, { endpointIds: ['openai-1'] }, { since: fixtureStart + 7_200_000, until: fixtureStart + day })).toEqual([]);
      expect(await breachQuery(db, { endpointIds: [] }, window)).toEqual([]);
    });
  });
}
