// SPDX-License-Identifier: Apache-2.0
/**
 * Contract for the access repositories (care teams, units, profiles, break-glass, alert outbox),
 * run on SQLite and PGlite (`access-repos.test.ts`) and on the real PostgreSQL server
 * (`access-repos.int.test.ts`).
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestFieldCrypto } from '../../crypto/testing/memory-kms.js';
import type { FieldCrypto } from '../../crypto/field-crypto.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { createBreakGlassRepo, type BreakGlassRepo } from './break-glass-repo.js';
import { createCareTeamRepo, patientIndexOf, type CareTeamRepo } from './care-team-repo.js';
import { createUserRepo } from './user-repo.js';

export interface AccessDbUnderTest {
  readonly db: Kysely<Database>;
  readonly cleanup?: () => Promise<void>;
}

export function describeAccessRepoContract(name: string, open: () => Promise<AccessDbUnderTest>): void {
  describe(`access repositories: ${name}`, () => {
    let under: AccessDbUnderTest;
    let crypto: FieldCrypto;
    let careTeams: CareTeamRepo;
    let breakGlass: BreakGlassRepo;
    let clock: number;
    const now = (): number => clock;

    beforeEach(async () => {
      clock = 1_800_000_000_000;
      under = await open();
      await migrateToLatest(under.db);
      crypto = await createTestFieldCrypto();
      careTeams = createCareTeamRepo(under.db, crypto, { now });
      breakGlass = createBreakGlassRepo(under.db, crypto, { now });
      const users = createUserRepo(under.db, { now });
      for (const id of ['u1', 'u2', 'u3']) await users.create({ id, name: `name-${id}`, roles: ['nurse'], kind: 'user' });
    });

    afterEach(async () => {
      await under.db.destroy();
      await under.cleanup?.();
    });

    it('stores patients only as blind index and ciphertext, and lists them decrypted', async () => {
      const created = await careTeams.assign({ userId: 'u1', patient: 'Patient/zebulon-77', teamRole: 'attending', source: 'api', createdBy: 'admin' });
      const row = await under.db.selectFrom('care_team_assignments').selectAll().executeTakeFirstOrThrow();
      expect(row.patient_index).toBe(patientIndexOf(crypto, 'Patient/zebulon-77'));
      expect(row.patient_enc).not.toContain('zebulon');
      expect(await careTeams.list({ patient: 'Patient/zebulon-77' })).toEqual([created]);
      expect(await careTeams.list({ patient: 'Patient/other' })).toEqual([]);
    });

    it('treats assignment intervals as half-open and ends them once', async () => {
      const a = await careTeams.assign({ userId: 'u1', patient: 'Patient/p', teamRole: 'x', startAt: clock + 10, endAt: clock + 20, source: 'csv', createdBy: 'admin' });
      const at = async (t: number) => (await careTeams.relationshipFacts('u1', 'Patient/p', t)).assigned;
      expect([await at(clock + 9), await at(clock + 10), await at(clock + 19), await at(clock + 20)]).toEqual([false, true, true, false]);
      expect(await careTeams.list({ activeAt: clock + 15 })).toHaveLength(1);
      expect(await careTeams.end(a.id, clock + 15)).toBe(true);
      expect(await at(clock + 16)).toBe(false);
      expect(await careTeams.end(a.id, clock + 16)).toBe(false);
    });

    it('inserts imports all or nothing', async () => {
      const rows = [
        { userId: 'u1', patient: 'Patient/a', teamRole: 'x', source: 'csv', createdBy: 'admin' },
        { userId: 'ghost', patient: 'Patient/b', teamRole: 'x', source: 'csv', createdBy: 'admin' },
      ];
      await expect(careTeams.assignMany(rows)).rejects.toThrow();
      expect(await careTeams.list()).toEqual([]);
      expect(await careTeams.assignMany(rows.slice(0, 1))).toHaveLength(1);
    });

    it('gathers unit, organisation and eligibility facts', async () => {
      await careTeams.upsertUnit('icu', 'general');
      await careTeams.upsertUnit('remote', 'other');
      await careTeams.addUnitMember('icu', 'u1');
      await careTeams.placePatient('icu', 'Patient/p');
      await careTeams.placePatient('remote', 'Patient/q', clock, clock + 5);
      await careTeams.setProfile('u1', { organisation: 'general', breakGlassEligible: true, npi: '1234567890' });
      const facts = await careTeams.relationshipFacts('u1', 'Patient/p', clock);
      expect(facts).toEqual({
        assigned: false, organisation: 'general', breakGlassEligible: true,
        userUnits: [{ unitId: 'icu', organisation: 'general' }], patientUnits: [{ unitId: 'icu', organisation: 'general' }],
      });
      expect((await careTeams.relationshipFacts('u1', 'Patient/q', clock)).patientUnits).toEqual([{ unitId: 'remote', organisation: 'other' }]);
      expect((await careTeams.relationshipFacts('u1', 'Patient/q', clock + 5)).patientUnits).toEqual([]);
      expect(await careTeams.endUnitMember('icu', 'u1', clock + 1)).toBe(1);
      expect((await careTeams.relationshipFacts('u1', 'Patient/p', clock + 1)).userUnits).toEqual([]);
      // Defaults for a user without a profile.
      expect(await careTeams.relationshipFacts('u2', 'Patient/p', clock)).toMatchObject({ organisation: 'default', breakGlassEligible: false });
    });

    it('keeps profile fields not changed, and maps an NPI only when it is unambiguous', async () => {
      await careTeams.setProfile('u1', { npi: '111' });
      expect(await careTeams.setProfile('u1', { breakGlassEligible: true })).toMatchObject({ npi: '111', breakGlassEligible: true, organisation: 'default' });
      expect(await careTeams.findUserByNpi('111')).toBe('u1');
      await careTeams.setProfile('u2', { npi: '111' });
      expect(await careTeams.findUserByNpi('111')).toBeUndefined();
    });

    it('opens a session with its alerts in one transaction, or neither', async () => {
      const session = await breakGlass.open(
        { userId: 'u1', patient: 'Patient/p', category: 'patient_safety', reason: 'the free text reason', startedAt: clock, expiresAt: clock + 60_000 },
        ['hook', 'mail'],
        (id) => JSON.stringify({ sessionId: id }),
      );
      expect((await breakGlass.listAlerts(session.id)).map((a) => [a.channelId, JSON.parse(a.payload).sessionId])).toEqual([['hook', session.id], ['mail', session.id]]);
      const raw = await under.db.selectFrom('break_glass_sessions').selectAll().executeTakeFirstOrThrow();
      expect(raw.reason_enc).not.toContain('free text');
      await expect(
        breakGlass.open({ userId: 'ghost', patient: 'Patient/p', category: 'c', reason: 'r', startedAt: clock, expiresAt: clock + 1 }, ['hook'], () => '{}'),
      ).rejects.toThrow();
      expect(await breakGlass.listAlerts()).toHaveLength(2);
    });

    it('finds running sessions only within their time box and for their patient', async () => {
      const s = await breakGlass.open({ userId: 'u1', patient: 'Patient/p', category: 'c', reason: 'reason text', startedAt: clock, expiresAt: clock + 100 }, [], () => '{}');
      expect((await breakGlass.findActive('u1', 'Patient/p', clock + 99))?.id).toBe(s.id);
      expect(await breakGlass.findActive('u1', 'Patient/p', clock + 100)).toBeUndefined();
      expect(await breakGlass.findActive('u1', 'Patient/other', clock + 1)).toBeUndefined();
      expect(await breakGlass.findActive('u2', 'Patient/p', clock + 1)).toBeUndefined();
      expect(await breakGlass.end(s.id, clock + 50)).toBe(true);
      expect(await breakGlass.findActive('u1', 'Patient/p', clock + 51)).toBeUndefined();
    });

    it('closes a review once; misuse records an incident', async () => {
      const s = await breakGlass.open({ userId: 'u1', patient: 'Patient/p', category: 'c', reason: 'reason text', startedAt: clock, expiresAt: clock + 100 }, [], () => '{}');
      const [first, second] = await Promise.allSettled([
        breakGlass.review(s.id, { outcome: 'misuse', reviewerId: 'u2', note: 'not an emergency', at: clock + 1 }),
        breakGlass.review(s.id, { outcome: 'justified', reviewerId: 'u3', at: clock + 1 }),
      ]);
      const outcomes = [first, second].map((r) => (r.status === 'fulfilled' ? r.value?.reviewStatus : 'rejected'));
      expect(outcomes.filter((o) => o === 'misuse' || o === 'justified')).toHaveLength(1);
      const detail = await breakGlass.findById(s.id);
      expect(detail).toMatchObject({ patient: 'Patient/p', reason: 'reason text' });
      const incidents = await breakGlass.listIncidents();
      expect(incidents).toHaveLength(detail?.reviewStatus === 'misuse' ? 1 : 0);
      expect(await breakGlass.list({ status: 'open' })).toEqual([]);
    });

    it('leases due alerts so two dispatchers do not take the same one', async () => {
      await breakGlass.open({ userId: 'u1', patient: 'Patient/p', category: 'c', reason: 'reason text', startedAt: clock, expiresAt: clock + 100 }, ['a', 'b'], () => '{}');
      const [x, y] = await Promise.all([breakGlass.claimDueAlerts(clock, clock + 1000, 10), breakGlass.claimDueAlerts(clock, clock + 1000, 10)]);
      expect([...(x ?? []), ...(y ?? [])].map((r) => r.channelId).sort()).toEqual(['a', 'b']);
      expect(await breakGlass.claimDueAlerts(clock + 999, clock + 2000, 10)).toEqual([]);
      // An expired lease (a dispatcher that died) is taken over.
      expect(await breakGlass.claimDueAlerts(clock + 1000, clock + 2000, 10)).toHaveLength(2);
    });
  });
}
