// SPDX-License-Identifier: Apache-2.0
// Relationship classification, CSV parsing and planning, and FHIR CareTeam import built from the
// Synthea bundles in ../shared/data/fhir (which hold Encounters with practitioners, not CareTeams:
// the test derives one CareTeam per Encounter, the shape an EHR export would give).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../test/support/shared-data.js';
import { classifyRelationship, normalisePatientRef, parseCsv, parseInstant, planCsvImport, planFhirImport, type UserResolver } from './patient-access.js';

const general = (unitId: string) => ({ unitId, organisation: 'general' });
const other = (unitId: string) => ({ unitId, organisation: 'other' });
const facts = (overrides: Partial<Parameters<typeof classifyRelationship>[0]> = {}) => ({
  assigned: false, organisation: 'general', breakGlassEligible: false, userUnits: [], patientUnits: [], ...overrides,
});

describe('classifyRelationship', () => {
  it('classifies care team, unit, unrelated and other organisation', () => {
    expect(classifyRelationship(facts({ assigned: true }))).toBe('assigned');
    expect(classifyRelationship(facts({ userUnits: [general('icu')], patientUnits: [general('icu')] }))).toBe('same_unit');
    expect(classifyRelationship(facts({ userUnits: [general('icu')], patientUnits: [general('ward-2')] }))).toBe('unrelated');
    expect(classifyRelationship(facts())).toBe('unrelated');
    expect(classifyRelationship(facts({ patientUnits: [other('remote')] }))).toBe('other_organisation');
  });

  it('lets another organisation dominate a (mistaken) assignment and ignores units of other organisations', () => {
    expect(classifyRelationship(facts({ assigned: true, patientUnits: [other('remote')] }))).toBe('other_organisation');
    // A unit id that exists in both organisations does not bridge them.
    expect(classifyRelationship(facts({ userUnits: [other('icu')], patientUnits: [general('icu')] }))).toBe('unrelated');
    // A patient placed in both organisations is still ours.
    expect(classifyRelationship(facts({ assigned: true, patientUnits: [other('remote'), general('icu')] }))).toBe('assigned');
  });
});

describe('normalisation', () => {
  it('accepts Patient/<id>, bare ids and absolute references; refuses the rest', () => {
    expect(normalisePatientRef('Patient/abc-1')).toBe('Patient/abc-1');
    expect(normalisePatientRef(' abc.1 ')).toBe('Patient/abc.1');
    expect(normalisePatientRef('https://ehr.test/fhir/Patient/x')).toBe('Patient/x');
    for (const bad of ['', 'Patient/', 'Observation/1', 'a b', 'Patient/x/_history/2', 'x'.repeat(65)]) expect(normalisePatientRef(bad), bad).toBeUndefined();
  });

  it('parses ISO dates as UTC midnight and date-times with offsets', () => {
    expect(parseInstant('2026-01-02')).toBe(Date.UTC(2026, 0, 2));
    expect(parseInstant('2026-01-02T03:04:05+01:00')).toBe(Date.UTC(2026, 0, 2, 2, 4, 5));
    for (const bad of ['02/01/2026', 'tomorrow', '2026-13-45']) expect(parseInstant(bad), bad).toBeUndefined();
  });
});

describe('CSV', () => {
  it('splits quoted fields, doubled quotes and CRLF', () => {
    expect(parseCsv('a,"b,c","d""e"\r\nf,,g\n')).toEqual([['a', 'b,c', 'd"e'], ['f', '', 'g']]);
  });

  const users: UserResolver = {
    byIdOrName: async (value) => ({ 'dr-a': 'u1', u2: 'u2' })[value],
    byNpi: async () => undefined,
  };

  it('plans rows and names every problem by line and field, never by value', async () => {
    const plan = await planCsvImport(
      'patient,user,role,end,start\nPatient/p1,dr-a,attending,,2026-01-01\np2,u2,nurse,2026-02-01,2026-03-01\nsecret-id!,nobody,x,,\n',
      users,
      1_000,
    );
    expect(plan.rows).toEqual([{ userId: 'u1', patient: 'Patient/p1', teamRole: 'attending', startAt: Date.UTC(2026, 0, 1), endAt: null }]);
    expect(plan.problems).toEqual([
      { at: 'line 3', field: 'end', problem: 'end must be after start' },
      { at: 'line 4', field: 'user', problem: 'no such user' },
      { at: 'line 4', field: 'patient', problem: 'expected Patient/<id> or a FHIR id' },
    ]);
    expect(JSON.stringify(plan.problems)).not.toContain('secret-id');
  });

  it('requires the user, patient and role columns', async () => {
    expect((await planCsvImport('user,start\nu2,2026-01-01\n', users, 0)).problems.map((p) => p.field)).toEqual(['patient', 'role']);
  });
});

describe('FHIR CareTeam import from the Synthea bundles', () => {
  type Entry = { fullUrl?: string; resource: Record<string, unknown> };

  /** The bundle's entries plus one CareTeam per Encounter (subject, participants, period). */
  function withCareTeams(file: string, extra: Entry[] = []): { entry: Entry[]; resourceType: 'Bundle'; type: 'collection' } {
    const bundle = JSON.parse(readFileSync(sharedDataPath('fhir', file), 'utf8')) as { entry: Entry[] };
    const careTeams: Entry[] = bundle.entry
      .filter((e) => e.resource.resourceType === 'Encounter')
      .map((e) => ({
        resource: {
          resourceType: 'CareTeam',
          status: 'active',
          subject: e.resource.subject,
          period: e.resource.period,
          participant: (e.resource.participant as { individual: unknown; type?: { coding?: unknown[] }[] }[]).map((p) => ({
            role: p.type ? [{ coding: p.type[0]?.coding }] : [{ text: 'attending' }],
            member: p.individual,
          })),
        },
      }));
    return { resourceType: 'Bundle', type: 'collection', entry: [...bundle.entry, ...extra, ...careTeams] };
  }

  it('maps urn:uuid practitioners to users by NPI and the subject to the bundled Patient id', async () => {
    const file = 'smart-r4-Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json';
    const input = withCareTeams(file);
    const npis = new Set<string>();
    for (const e of input.entry) {
      if (e.resource.resourceType === 'Practitioner') for (const id of e.resource.identifier as { value: string }[]) npis.add(id.value);
    }
    expect(npis.size).toBeGreaterThan(0);
    const byNpi = new Map([...npis].map((npi, i) => [npi, `user-${i}`]));
    const plan = await planFhirImport(input, { byIdOrName: async () => undefined, byNpi: async (npi) => byNpi.get(npi) }, 0);
    const encounters = input.entry.filter((e) => e.resource.resourceType === 'Encounter').length;
    expect(plan.problems).toEqual([]);
    expect(plan.rows.length).toBe(encounters);
    const patientId = (input.entry.find((e) => e.resource.resourceType === 'Patient')?.resource.id) as string;
    expect(new Set(plan.rows.map((r) => r.patient))).toEqual(new Set([`Patient/${patientId}`]));
    for (const row of plan.rows) {
      expect(row.endAt === null || row.endAt > row.startAt).toBe(true);
      expect(byNpi.has([...byNpi.entries()].find(([, u]) => u === row.userId)?.[0] ?? '')).toBe(true);
    }
  });

  it('resolves conditional Practitioner?identifier references (fdp-hiv bundles) and reports unknown NPIs by position', async () => {
    const input = withCareTeams('fdp-hiv-Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json');
    const first = input.entry.find((e) => e.resource.resourceType === 'CareTeam');
    const member = ((first?.resource.participant as { member: { reference: string } }[])[0]?.member.reference) as string;
    const npi = member.split('|')[1] as string;
    const plan = await planFhirImport(input, { byIdOrName: async () => undefined, byNpi: async (value) => (value === npi ? 'dr-block' : undefined) }, 0);
    expect(plan.rows.length).toBeGreaterThan(0);
    expect(plan.rows.every((r) => r.userId === 'dr-block' && r.patient === 'Patient/3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b')).toBe(true);
    expect(plan.rows[0]?.teamRole).toBe('PPRF');
    for (const problem of plan.problems) {
      expect(problem).toMatchObject({ field: 'member', at: expect.stringMatching(/^entry\[\d+\]\.participant\[\d+\]$/) });
      expect(JSON.stringify(problem)).not.toMatch(/\d{10}/);
    }
  });

  it('skips inactive teams and non-practitioner members; refuses input that is not FHIR', async () => {
    const team = {
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: 'Patient/p1' },
      participant: [
        { member: { reference: 'RelatedPerson/r1' } },
        { member: { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '123' } }, period: { start: '2026-01-01' } },
      ],
    };
    const users: UserResolver = { byIdOrName: async () => undefined, byNpi: async (npi) => (npi === '123' ? 'u1' : undefined) };
    const plan = await planFhirImport([team, { ...team, status: 'inactive' }], users, 5);
    expect(plan).toEqual({ rows: [{ userId: 'u1', patient: 'Patient/p1', teamRole: 'member', startAt: Date.UTC(2026, 0, 1), endAt: null }], problems: [], skipped: 3 });
    expect((await planFhirImport({ hello: 'world' }, users, 0)).problems).toHaveLength(1);
  });
});
