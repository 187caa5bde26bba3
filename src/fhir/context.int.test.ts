// SPDX-License-Identifier: Apache-2.0
// The FHIR context source against a real FHIR server implementation (Medplum's FhirRouter over
// its in-memory repository) loaded with every Synthea bundle in ../shared/data/fhir, behind the
// local SMART Backend Services authorisation server.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../test/support/shared-data.js';
import { rejection } from '../kernel/testing/rejection.js';
import { systemClock } from '../kernel/clock.js';
import { fhirScopeSchema, type FhirScope } from '../registry/use-case-spec.js';
import { fhirConfigSchema } from './config-schema.js';
import { createFhirContextSource, type FhirContextSource } from './context.js';
import { bundleFilesOf, startFhirTestServer, unreachableFhirUrl, type FhirTestServer } from './testing/fhir-server.js';
import { createSmartTestKey, type SmartTestKey } from './testing/smart-keys.js';

let server: FhirTestServer;
let key: SmartTestKey;
/** Lanell756 Goodwin327: an fdp-hiv patient with 2 Conditions and 326 Observations. */
let lanell: string;
/** Andy Schaden: a smart-r4 patient with 8 Conditions and 174 Observations. */
let andy: string;

const scopeOf = (input: unknown): FhirScope => fhirScopeSchema.parse(input);
/** Observation code/value/effective and Condition code only. */
const labsAndProblems = {
  data: {
    fhir: [
      scopeOf({ resourceType: 'Observation', elements: ['code', 'value[x]', 'effective[x]'], search: { _sort: '-date' }, limit: 25 }),
      scopeOf({ resourceType: 'Condition', elements: ['code'], limit: 10 }),
    ],
  },
};

function source(overrides: Record<string, unknown> = {}): FhirContextSource {
  const config = fhirConfigSchema.parse({ baseUrl: server.baseUrl, clientId: 'phigate-test', privateKey: 'env:SMART_KEY', keyId: key.keyId, timeoutMs: 2_000, deadlineMs: 10_000, ...overrides });
  return createFhirContextSource(config, { fetch: globalThis.fetch, clock: systemClock, secret: (ref) => (ref === 'env:SMART_KEY' ? key.pem : '') });
}

const signal = () => new AbortController().signal;

beforeAll(async () => {
  key = await createSmartTestKey('RS384');
  server = await startFhirTestServer({ bundleDir: sharedDataPath('fhir'), clients: [{ clientId: 'phigate-test', jwks: key.jwks }] });
  lanell = await server.patientIdByFamily('Goodwin327');
  andy = await server.patientIdByFamily('Schaden');
}, 120_000);
afterAll(() => server.close());
afterEach(() => server.setFault({ kind: 'none' }));

describe('FHIR context from the shared Synthea bundles', () => {
  it('loaded every bundle', () => {
    expect(server.loaded.Patient).toBe(20);
    expect(server.loaded.Observation).toBe(1884);
    expect(server.loaded.Condition).toBe(91);
  });

  it('fetches only the allowed types and keeps only the allowed elements', async () => {
    const before = server.requests.length;
    const tokensBefore = server.tokenRequests.length;
    const gathered = await source().gather(`Patient/${andy}`, labsAndProblems, signal());
    const [observations, conditions] = gathered.sections;
    expect(observations?.resources).toHaveLength(25);
    expect(conditions?.resources).toHaveLength(8);
    expect(gathered.counts).toEqual({ Observation: 25, Condition: 8 });
    for (const { resource } of observations?.resources ?? []) {
      for (const k of Object.keys(resource)) expect(['resourceType', 'id', 'code', 'effectiveDateTime', 'effectivePeriod', 'valueQuantity', 'valueCodeableConcept', 'valueString']).toContain(k);
      expect(resource.code).toBeDefined();
    }
    for (const { resource } of conditions?.resources ?? []) expect(Object.keys(resource).sort()).toEqual(['code', 'id', 'resourceType']);
    // Newest first, as the scope's _sort asks.
    const dates = (observations?.resources ?? []).map((r) => String(r.resource.effectiveDateTime ?? ''));
    expect([...dates].sort().reverse()).toEqual(dates);
    // What was asked of the server: the Patient, then only the two searched types, for this patient, paged within the limits.
    const calls = server.requests.slice(before);
    expect(new Set(calls.map((c) => c.path.split('/')[0]))).toEqual(new Set(['Patient', 'Observation', 'Condition']));
    expect(calls.find((c) => c.path === `Patient/${andy}`)).toBeDefined();
    for (const c of calls.filter((x) => x.path !== `Patient/${andy}`)) {
      expect(c.query.patient).toBe(`Patient/${andy}`);
      expect(Number(c.query._count)).toBeLessThanOrEqual(c.path === 'Condition' ? 10 : 25);
      expect(c.status).toBe(200);
    }
    // One token, with exactly the scopes needed.
    const tokens = server.tokenRequests.slice(tokensBefore);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.requestedScopes).toEqual(['system/Condition.rs', 'system/Observation.rs', 'system/Patient.rs']);
  });

  it('pages through a large result up to the limit', async () => {
    const before = server.requests.length;
    const many = { data: { fhir: [scopeOf({ resourceType: 'Observation', elements: ['code'], limit: 120 })] } };
    const gathered = await source({ pageSize: 50 }).gather(`Patient/${lanell}`, many, signal());
    expect(gathered.sections[0]?.resources).toHaveLength(120);
    expect(new Set(gathered.sections[0]?.resources.map((r) => r.resource.id)).size).toBe(120);
    const searches = server.requests.slice(before).filter((c) => c.path === 'Observation');
    expect(searches.map((c) => c.query._offset ?? '0')).toEqual(['0', '50', '100']);
  });

  it('reads the patient\'s identifiers as known PHI', async () => {
    const { patientPhi } = await source().gather(`Patient/${lanell}`, { data: { fhir: [] } }, signal());
    expect(patientPhi.names).toContain('Lanell756 Goodwin327');
    expect(patientPhi.dates).toContain('1967-05-29');
    expect(patientPhi.identifiers).toEqual(expect.arrayContaining([{ value: '999-53-1252', type: 'SSN' }, { value: 'S99916756', type: 'LICENSE' }]));
    expect(patientPhi.identifiers?.find((i) => i.type === 'MRN')).toBeDefined();
    expect(patientPhi.phones).toContain('555-584-2795');
    expect(patientPhi.addresses).toContain('437 MacGyver Passage');
  });

  it('projects the Patient itself when the scope names it, without the narrative or extensions', async () => {
    const scope = { data: { fhir: [scopeOf({ resourceType: 'Patient', elements: ['gender', 'birthDate'] })] } };
    const gathered = await source().gather(`Patient/${lanell}`, scope, signal());
    expect(gathered.sections[0]?.resources.map((r) => r.resource)).toEqual([{ resourceType: 'Patient', id: lanell, gender: 'female', birthDate: '1967-05-29' }]);
  });
});

describe('sensitivity labels', () => {
  it('finds no security labels in the HIV bundles as shipped', () => {
    const files = bundleFilesOf(sharedDataPath('fhir')).filter((f) => f.includes('fdp-hiv-'));
    expect(files).toHaveLength(4);
    let resources = 0;
    for (const file of files) {
      const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entry: { resource: { meta?: { security?: unknown } } }[] };
      for (const entry of bundle.entry) {
        resources += 1;
        expect(entry.resource.meta?.security).toBeUndefined();
      }
    }
    expect(resources).toBeGreaterThan(1000);
  });

  it('reads categories from meta.security before projection drops meta', async () => {
    const hiv = await server.createResource({
      resourceType: 'Observation',
      status: 'final',
      meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }, { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
      code: { text: 'HIV viral load' },
      subject: { reference: `Patient/${lanell}` },
      effectiveDateTime: '2099-01-01',
      valueQuantity: { value: 45, unit: 'copies/mL' },
    });
    await server.createResource({
      resourceType: 'Condition',
      meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'ETH' }] },
      code: { text: 'Opioid use disorder' },
      subject: { reference: `Patient/${lanell}` },
    });
    const gathered = await source().gather(`Patient/${lanell}`, labsAndProblems, signal());
    expect(gathered.sensitivity).toEqual(['hiv', 'substance_use_part2']);
    const labelled = gathered.sections[0]?.resources.find((r) => r.resource.id === hiv.id);
    expect(labelled?.categories).toEqual(['hiv']);
    expect(labelled?.resource).not.toHaveProperty('meta');
    const sud = gathered.sections[1]?.resources.find((r) => r.resource.code !== undefined && JSON.stringify(r.resource.code).includes('Opioid'));
    expect(sud?.categories).toEqual(['substance_use_part2']);
    // Unlabelled resources carry no category.
    expect(gathered.sections[1]?.resources.filter((r) => r.categories.length === 0)).toHaveLength(2);
  });
});

describe('bad input from the FHIR side: typed errors, nothing partial', () => {
  it('an unreachable server is fhir_unavailable', async () => {
    const err = await rejection(source({ baseUrl: await unreachableFhirUrl() }).gather(`Patient/${andy}`, labsAndProblems, signal()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toMatchObject({ stage: 'discovery', reason: 'unreachable' });
  });

  it('a slow server is fhir_timeout within the call time limit', async () => {
    const fhir = source({ timeoutMs: 300 });
    // Authorise first, so the slowness hits a FHIR call rather than the token exchange.
    await fhir.gather(`Patient/${andy}`, { data: { fhir: [] } }, signal());
    server.setFault({ kind: 'slow', delayMs: 3_000 });
    const started = Date.now();
    const err = await rejection(fhir.gather(`Patient/${andy}`, labsAndProblems, signal()));
    expect(err.code).toBe('fhir_timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('the overall deadline bounds the whole gather', async () => {
    const fhir = source({ timeoutMs: 5_000, deadlineMs: 400 });
    await fhir.gather(`Patient/${andy}`, { data: { fhir: [] } }, signal());
    server.setFault({ kind: 'slow', delayMs: 3_000 });
    const err = await rejection(fhir.gather(`Patient/${andy}`, labsAndProblems, signal()));
    expect(err.code).toBe('fhir_timeout');
  });

  it.each([
    ['invalid-json', 'invalid_json'],
    ['wrong-type', 'wrong_resource_type'],
    ['bad-entry', 'malformed_entry'],
    ['other-patient', 'other_patient'],
    ['foreign-next-link', 'foreign_next_link'],
  ] as const)('a malformed answer (%s) is fhir_bad_response', async (mode, reason) => {
    server.setFault({ kind: 'malformed', mode });
    const err = await rejection(source().gather(`Patient/${andy}`, labsAndProblems, signal()));
    expect(err.code).toBe('fhir_bad_response');
    // The Patient read or a search, whichever failed first; the reason is the fault's.
    if (mode !== 'wrong-type' && mode !== 'invalid-json') expect(err.detail).toMatchObject({ stage: 'search', reason });
    else expect(['invalid_json', 'wrong_resource_type', 'not_a_bundle']).toContain(err.detail?.reason);
  });

  it.each([false, true])('an oversized answer (streamed: %s) is context_too_large', async (chunked) => {
    server.setFault({ kind: 'oversized', bytes: 2 * 1024 * 1024, chunked });
    const err = await rejection(source({ maxResponseBytes: 1024 * 1024 }).gather(`Patient/${andy}`, labsAndProblems, signal()));
    expect(err.code).toBe('context_too_large');
    expect(err.detail).toMatchObject({ source: 'fhir', limitBytes: 1024 * 1024 });
  });

  it('503 answers are retried, then succeed', async () => {
    const fhir = source();
    await fhir.gather(`Patient/${andy}`, { data: { fhir: [] } }, signal());
    server.setFault({ kind: 'status', status: 503, times: 2, retryAfter: '0' });
    const gathered = await fhir.gather(`Patient/${andy}`, labsAndProblems, signal());
    expect(gathered.counts).toEqual({ Observation: 25, Condition: 8 });
  });

  it('an unknown patient is fhir_patient_not_found', async () => {
    expect((await rejection(source().gather('Patient/no-such-patient', labsAndProblems, signal()))).code).toBe('fhir_patient_not_found');
  });

  it('a scope that sets a search parameter phigate controls is refused before any call', async () => {
    const before = server.requests.length;
    const widened = { data: { fhir: [scopeOf({ resourceType: 'Observation', elements: ['code'], search: { _revinclude: 'Provenance:target' } })] } };
    const err = await rejection(source().gather(`Patient/${andy}`, widened, signal()));
    expect(err.code).toBe('fhir_scope_invalid');
    expect(err.detail).toEqual({ resourceType: 'Observation', parameters: ['_revinclude'] });
    const other = { data: { fhir: [scopeOf({ resourceType: 'Observation', elements: ['code'], search: { 'patient.name': 'Doe', subject: 'Patient/x' } })] } };
    expect((await rejection(source().gather(`Patient/${andy}`, other, signal()))).detail).toEqual({ resourceType: 'Observation', parameters: ['patient.name', 'subject'] });
    expect(server.requests.length).toBe(before);
  });

  it('a server that grants fewer scopes than needed is fhir_unavailable', async () => {
    const narrow = await createSmartTestKey('RS384', 'narrow');
    server.registerClient({ clientId: 'phigate-narrow', jwks: narrow.jwks, allowedScopes: ['system/Patient.rs', 'system/Observation.rs'] });
    const config = fhirConfigSchema.parse({ baseUrl: server.baseUrl, clientId: 'phigate-narrow', privateKey: 'env:K', keyId: narrow.keyId });
    const fhir = createFhirContextSource(config, { fetch: globalThis.fetch, clock: systemClock, secret: () => narrow.pem });
    const err = await rejection(fhir.gather(`Patient/${andy}`, labsAndProblems, signal()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toMatchObject({ stage: 'token', reason: 'scope_not_granted' });
  });

  it('the caller going away is client_disconnected', async () => {
    server.setFault({ kind: 'slow', delayMs: 1_000 });
    const controller = new AbortController();
    const pending = source().gather(`Patient/${andy}`, labsAndProblems, controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(pending)).code).toBe('client_disconnected');
  });
});
