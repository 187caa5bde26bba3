// SPDX-License-Identifier: Apache-2.0
// `phigate careteam` and `phigate breakglass` run in-process against a real state folder
// (SQLite file, local key file, audit chain), with the FHIR import fed from ../shared/data/fhir.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliStateFolder, runCli, withCliStore } from '../../../test/support/cli-state.js';
import { sharedDataPath } from '../../../test/support/shared-data.js';
import type { OpenedStore } from '../../store/store.js';

let dir: string;
let home: string;

/** Runs one command; returns what it printed. */
async function phigate(...args: string[]): Promise<string> {
  return runCli(home, args);
}

async function withStore<T>(action: (store: OpenedStore) => Promise<T>): Promise<T> {
  return withCliStore(home, action);
}

beforeAll(async () => {
  ({ dir, home } = await createCliStateFolder('phigate-access-cli-'));
  await withStore(async (store) => {
    await store.users.create({ id: 'u-er', name: 'er-doc', roles: ['physician'], kind: 'user' });
    await store.users.create({ id: 'u-po', name: 'pat-privacy', roles: ['privacy_officer'], kind: 'user' });
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('phigate careteam', () => {
  it('sets a profile, imports CSV and FHIR, and lists assignments decrypted', async () => {
    expect(JSON.parse(await phigate('careteam', 'profile', 'er-doc', '--organisation', 'general', '--npi', '430', '--break-glass-eligible', '--json'))).toMatchObject({
      userId: 'u-er', organisation: 'general', npi: '430', breakGlassEligible: true,
    });
    const csv = join(dir, 'team.csv');
    writeFileSync(csv, 'user,patient,role,start,end\ner-doc,Patient/p1,attending,2026-01-01,\n');
    expect(JSON.parse(await phigate('careteam', 'import', csv, '--json'))).toMatchObject({ imported: 1, problems: [] });

    // A CareTeam per Encounter of a Synthea bundle whose practitioner has NPI 430.
    const bundle = JSON.parse(readFileSync(sharedDataPath('fhir', 'smart-r4-Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json'), 'utf8')) as { entry: { resource: Record<string, unknown> }[] };
    const encounters = bundle.entry.filter((e) => e.resource.resourceType === 'Encounter').slice(0, 3);
    const careTeams = encounters.map((e) => ({
      resource: { resourceType: 'CareTeam', status: 'active', subject: e.resource.subject, period: e.resource.period, participant: (e.resource.participant as { individual: unknown }[]).map((p) => ({ member: p.individual })) },
    }));
    const fhirFile = join(dir, 'careteams.json');
    writeFileSync(fhirFile, JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [...bundle.entry, ...careTeams] }));
    expect(JSON.parse(await phigate('careteam', 'import', fhirFile, '--json'))).toMatchObject({ imported: 3, problems: [] });

    const list = JSON.parse(await phigate('careteam', 'list', '--user', 'er-doc', '--json')) as { patient: string; source: string }[];
    expect(list).toHaveLength(4);
    expect(list.filter((a) => a.source === 'fhir').map((a) => a.patient)).toEqual(Array(3).fill('Patient/9afe28dc-7ad5-4e90-b6a6-16123eae98c3'));
    expect(list.filter((a) => a.source === 'csv').map((a) => a.patient)).toEqual(['Patient/p1']);
  });
});

describe('phigate breakglass', () => {
  it('opens a session for an eligible user, lists it for the privacy officer, and closes the review', async () => {
    const session = JSON.parse(await phigate('breakglass', 'start', '--as', 'er-doc', '--patient', 'Patient/p9', '--category', 'patient_safety', '--reason', 'suspected overdose, chart unavailable', '--json')) as { id: string };
    await expect(phigate('breakglass', 'list', '--as', 'er-doc', '--json')).rejects.toThrow(/lacks the permission/);
    const queue = JSON.parse(await phigate('breakglass', 'list', '--as', 'pat-privacy', '--json')) as { id: string; reason: string }[];
    expect(queue).toEqual([expect.objectContaining({ id: session.id, reason: 'suspected overdose, chart unavailable' })]);
    expect(JSON.parse(await phigate('breakglass', 'review', session.id, '--as', 'pat-privacy', '--outcome', 'justified', '--json'))).toMatchObject({ reviewStatus: 'justified', incidentId: null });
    expect(JSON.parse(await phigate('breakglass', 'list', '--as', 'pat-privacy', '--json'))).toEqual([]);

    const events = await withStore((store) => store.db.selectFrom('audit_events').select(['event_type', 'body']).orderBy('seq').execute());
    expect(events.map((e) => e.event_type)).toEqual(expect.arrayContaining(['access.profile', 'careteam.import', 'breakglass.start', 'breakglass.review']));
    expect(events.some((e) => e.body.includes('overdose'))).toBe(false);
  });

  it('refuses break-glass to a user who is not eligible', async () => {
    await expect(phigate('breakglass', 'start', '--as', 'pat-privacy', '--patient', 'Patient/p9', '--category', 'patient_safety', '--reason', 'just curious about this one')).rejects.toThrow(/permission/);
  });
});
