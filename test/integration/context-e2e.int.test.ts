// SPDX-License-Identifier: Apache-2.0
/**
 * Minimum-necessary context end to end: a real gateway (HTTPS, SQLite file, key file, audit
 * chain) configured with the local FHIR server (Medplum's FhirRouter loaded with every Synthea
 * bundle in ../shared/data/fhir, behind SMART Backend Services), a use case created, approved by
 * the committee and taken live through the governance API, the patient's notes ingested through
 * the document API, and a request through the official `openai` SDK naming the patient. The echo
 * model answers with what it received: the use case's template with exactly the allowed FHIR
 * elements and the k best notes, and nothing else.
 *
 * Bad input from the EHR side (slow, malformed, oversized, another patient) is refused with a
 * typed error, audited, and no vendor is called.
 */
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { startFhirTestServer, type FhirTestServer } from '../../src/fhir/testing/fhir-server.js';
import { createSmartTestKey, type SmartTestKey } from '../../src/fhir/testing/smart-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { cdsSpec } from '../../src/registry/testing/registry-fixtures.js';
import { sharedDataPath } from '../support/shared-data.js';
import { startTestGateway, trustingFetch, type TestGateway } from '../support/gateway.js';

let fhir: FhirTestServer;
let key: SmartTestKey;
let gw: TestGateway;
const keys: Record<string, string> = {};
/** Lanell756 Goodwin327 (fdp-hiv bundle): Tuberculosis and Coronary Heart Disease, 326 Observations, 62 notes. */
let patient: string;
/** Another patient, on nobody's care team. */
let stranger: string;
let notesIngested = 0;

const template = 'You assist the treating clinician on ward rounds. Use only this context:\n\n{{context}}\n\nAnswer in three sentences.';
const wardSummary = cdsSpec({
  name: 'Ward round summary',
  description: 'Summarises recent results, the problem list and relevant notes for the treating clinician.',
  deploymentPattern: 'private',
  vendors: [],
  models: [{ name: 'echo' }],
  roles: ['physician'],
  data: {
    fhir: [
      { resourceType: 'Observation', elements: ['code', 'value[x]', 'effective[x]'], search: { _sort: '-date' }, limit: 5 },
      { resourceType: 'Condition', elements: ['code'], limit: 10 },
    ],
    autoContext: true,
    documents: { k: 2 },
  },
  promptTemplate: template,
});

async function createUser(name: string, roles: string[]): Promise<void> {
  const store = gw.gateway.store;
  const id = uuidv7();
  await store.users.create({ id, name, roles, kind: 'user' });
  const apiKey = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: apiKey.keyId, userId: id, secretHash: apiKey.secretHash, roles, useCases: [] });
  keys[name] = apiKey.key;
}

async function call(path: string, apiKey: string, body: unknown) {
  const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}${path}`, {
    method: 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

async function auditEvents() {
  const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['body']).orderBy('seq').execute();
  return rows.map((row) => ({ body: row.body, event: JSON.parse(row.body) as { type: string; stage: string; outcome: string; requestId: string; errorCode?: string; detail?: Record<string, unknown> } }));
}

const client = () => new OpenAI({ baseURL: gw.baseUrl, apiKey: keys['dr-ward'] ?? '', fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
const headers = (who: string) => ({ 'x-phigate-patient': who, 'x-phigate-purpose': 'TREAT', 'x-phigate-use-case': 'ward-summary' });
const question = 'How is the tuberculosis treatment going, and which immunizations were given?';

/** Synthetic notes (no real person). The podiatry note answers nothing in the question, so it must not be among the k = 2. */
const typedNotes = [
  { type: 'Progress note', date: '2021-04-12', text: 'Tuberculosis treatment, month two: rifampin, isoniazid, pyrazinamide and ethambutol taken daily under observation. Cough improving; sputum smear negative. Continue the intensive phase and recheck liver enzymes in two weeks.' },
  { type: 'Podiatry note', date: '2021-02-01', text: 'Routine foot care. Toenails trimmed, skin intact, no ulcers or calluses. Pedal pulses present. Return in six months.' },
];

/**
 * What the echo model received, from its answer: after the clinical label line, with the output
 * filter's escaping of bracketed markers (`\\[1]`) undone.
 */
function received(content: string | null | undefined): { messages: { role: string; content: string }[] } {
  const text = (content ?? '').replace(/\\([[\]])/g, '$1');
  return JSON.parse(text.slice(text.indexOf('{'))) as { messages: { role: string; content: string }[] };
}

beforeAll(async () => {
  key = await createSmartTestKey('ES384');
  fhir = await startFhirTestServer({ bundleDir: sharedDataPath('fhir'), clients: [{ clientId: 'phigate-e2e', jwks: key.jwks }] });
  patient = `Patient/${await fhir.patientIdByFamily('Goodwin327')}`;
  stranger = `Patient/${await fhir.patientIdByFamily('Keeling57')}`;
  gw = await startTestGateway({
    config: { fhir: { baseUrl: fhir.baseUrl, clientId: 'phigate-e2e', privateKey: 'env:E2E_SMART_KEY', keyId: key.keyId, algorithm: 'ES384', timeoutMs: 3_000, maxResponseBytes: 2 * 1024 * 1024 } },
    env: { E2E_SMART_KEY: key.pem },
  });
  for (const [name, roles] of [['dr-ward', ['physician']], ['cmio', ['cmio']], ['ciso', ['security_officer']], ['privacy', ['privacy_officer']], ['champion', ['clinical_champion']]] as const) await createUser(name, [...roles]);
  expect((await call('/admin/api/access/care-team', gw.apiKey, { user: 'dr-ward', patient, role: 'attending' })).status).toBe(201);
  // The use case, through the governance API: create, submit, four committee seats, go live.
  expect((await call('/admin/api/use-cases', gw.apiKey, { id: 'ward-summary', spec: wardSummary, reason: 'ward pilot' })).status).toBe(201);
  expect((await call('/admin/api/use-cases/ward-summary/submit', gw.apiKey, { reason: 'ready' })).status).toBe(200);
  for (const who of ['cmio', 'ciso', 'privacy', 'champion']) expect((await call('/admin/api/use-cases/ward-summary/approve', keys[who] ?? '', { version: 1, reason: 'committee' })).status, who).toBe(200);
  expect((await call('/admin/api/use-cases/ward-summary/go-live', gw.apiKey, { reason: 'approved' })).body).toMatchObject({ state: 'live', liveVersion: 1 });
  // The patient's notes through the document API: the EHR's current DocumentReference (inline text), and two typed notes.
  const current = await fhir.repo.searchResources({ resourceType: 'DocumentReference', filters: [{ code: 'subject', operator: 'eq', value: patient }, { code: 'status', operator: 'eq', value: 'current' }] });
  expect(current).toHaveLength(1);
  expect((await call('/admin/api/documents', gw.apiKey, { fhir: current, patient })).status).toBe(201);
  for (const note of typedNotes) expect((await call('/admin/api/documents', gw.apiKey, { patient, ...note })).status).toBe(201);
  notesIngested = current.length + typedNotes.length;
}, 180_000);

afterAll(async () => {
  await gw?.close();
  await fhir?.close();
});
afterEach(() => fhir.setFault({ kind: 'none' }));

describe('a use case that pulls FHIR context and retrieves notes', () => {
  it('sends the model exactly the minimum-necessary context, first, in the use case template', async () => {
    expect(notesIngested).toBe(3);
    const fhirCallsBefore = fhir.requests.length;
    const completion = await client().chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: question }] }, { headers: headers(patient) });
    const { messages } = received(completion.choices[0]?.message.content);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toEqual({ role: 'user', content: question });
    const system = messages[0];
    expect(system?.role).toBe('system');
    const text = system?.content ?? '';
    expect(text.startsWith('You assist the treating clinician on ward rounds. Use only this context:\n\nPatient record (FHIR):\nObservation (5):\n')).toBe(true);
    expect(text.endsWith('\n\nAnswer in three sentences.')).toBe(true);

    const lines = text.split('\n');
    const at = (header: string): number => lines.indexOf(header);
    const observations = lines.slice(at('Observation (5):') + 1, at('Condition (2):'));
    const conditions = lines.slice(at('Condition (2):') + 1, at('') === -1 ? undefined : lines.indexOf('', at('Condition (2):')));
    expect(observations).toHaveLength(5);
    // Only code, value[x] and effective[x] of each Observation; only code of each Condition.
    for (const line of observations) expect(line).toMatch(/^- code: [^|]+( \| value(Quantity|CodeableConcept|String|Boolean|Integer): [^|]+)? \| effective(DateTime|Period|Instant): [^|]+$/);
    expect(conditions).toEqual(['- code: Tuberculosis (SNOMED 112141AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)', '- code: Coronary Heart Disease (SNOMED 53741008)']);
    // The two best notes for the question, numbered for citation.
    const notesAt = at('Notes (retrieved excerpts, best first):');
    expect(notesAt).toBeGreaterThan(0);
    expect(lines.filter((l) => /^\[\d\]( .*)?$/.test(l)).map((l) => l.slice(0, 3))).toEqual(['[1]', '[2]']);
    const notesBlock = lines.slice(notesAt).join('\n');
    expect(notesBlock).toContain('[1] Progress note, 2021\nTuberculosis treatment, month two');
    expect(notesBlock).toContain('immunizations');
    expect(notesBlock).not.toContain('Toenails');
    // Nothing else from the record: no references, identifiers, narrative or extensions.
    const beforeNotes = lines.slice(0, notesAt).join('\n');
    expect(beforeNotes).not.toMatch(/Patient\/|Encounter|subject|category|Goodwin|Lanell|999-53-1252|extension|div/);

    // What phigate asked the EHR for: this patient's Patient, Observations and Conditions, nothing else.
    const fhirCalls = fhir.requests.slice(fhirCallsBefore);
    expect(new Set(fhirCalls.map((c) => c.path.split('/')[0]))).toEqual(new Set(['Patient', 'Observation', 'Condition']));
    expect(fhirCalls.every((c) => c.path === patient || c.query.patient === patient)).toBe(true);
    expect(fhirCalls.every((c) => c.scopes.join(' ') === 'system/Condition.rs system/Observation.rs system/Patient.rs')).toBe(true);

    // The trail: context gathered (types, counts, chunk ids), retrieval, disclosure and completion; no content in any record.
    const all = await auditEvents();
    const gathered = all.filter((r) => r.event.type === 'context.gather').at(-1);
    expect(gathered?.event).toMatchObject({ stage: 'completed', outcome: 'success', detail: { fhirResources: 'Condition:2,Observation:5', fhirResourceCount: 7, chunkCount: 2, useCaseVersion: 1 } });
    const requestId = gathered?.event.requestId;
    const types = all.filter((r) => r.event.requestId === requestId).map((r) => `${r.event.type}:${r.event.stage}`);
    expect(types).toEqual(expect.arrayContaining(['context.gather:completed', 'chat.completion:disclosure', 'chat.completion:completed']));
    expect(types.indexOf('context.gather:completed')).toBeLessThan(types.indexOf('chat.completion:disclosure'));
    for (const row of all.filter((r) => r.event.requestId === requestId)) expect(row.body).not.toMatch(/Tuberculosis|Goodwin|tuberculosis treatment plan/);
  });
});

describe('bad input from the EHR: typed error, audited, no vendor call', () => {
  async function refused(who: string, expected: { status: number; code: string }): Promise<void> {
    const before = (await auditEvents()).length;
    const err = await client()
      .chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: question }] }, { headers: headers(who) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status, JSON.stringify(apiError.error)).toBe(expected.status);
    expect(apiError.code).toBe(expected.code);
    const added = (await auditEvents()).slice(before);
    // Refused before any disclosure: no vendor was called.
    expect(added.some((r) => r.event.type === 'chat.completion' && r.event.stage === 'disclosure')).toBe(false);
    expect(added.find((r) => r.event.type === 'chat.completion')?.event).toMatchObject({ stage: 'refused', errorCode: expected.code });
    if (expected.code !== 'patient_access_denied') expect(added.find((r) => r.event.type === 'context.gather')?.event).toMatchObject({ stage: 'refused', errorCode: expected.code });
  }

  it('a slow FHIR server', async () => {
    fhir.setFault({ kind: 'slow', delayMs: 8_000 });
    await refused(patient, { status: 504, code: 'fhir_timeout' });
  });

  it('a malformed FHIR answer', async () => {
    fhir.setFault({ kind: 'malformed', mode: 'bad-entry' });
    await refused(patient, { status: 502, code: 'fhir_bad_response' });
  });

  it("another patient's resources in the answer", async () => {
    fhir.setFault({ kind: 'malformed', mode: 'other-patient' });
    await refused(patient, { status: 502, code: 'fhir_bad_response' });
  });

  it('an oversized FHIR answer', async () => {
    fhir.setFault({ kind: 'oversized', bytes: 3 * 1024 * 1024, chunked: true });
    await refused(patient, { status: 422, code: 'context_too_large' });
  });

  it('a patient the caller may not see: refused before anything is fetched', async () => {
    const before = fhir.requests.length;
    await refused(stranger, { status: 403, code: 'patient_access_denied' });
    expect(fhir.requests.slice(before).some((c) => c.path === stranger || c.query.patient === stranger)).toBe(false);
  });
});
