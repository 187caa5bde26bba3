// SPDX-License-Identifier: Apache-2.0
/**
 * Documents and `POST /v1/retrieve` through the real gateway (HTTPS, SQLite file, local key
 * file, audit chain): notes ingested through the admin API, a use case declaring documents taken
 * live through the governance API, and callers with and without access to the patient. Refusals
 * are typed and audited, nothing is returned to a caller who may not see the patient, and no
 * note text reaches the audit log.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { cdsSpec } from '../../src/registry/testing/registry-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createUserWithKey } from '../support/registry-admin.js';

let gw: TestGateway;
const keys: Record<string, string> = {};
const patient = 'Patient/rag-e2e-1';
const other = 'Patient/rag-e2e-2';
const docs: Record<string, string> = {};

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly requestId: string;
}

async function call(path: string, key: string | undefined, body?: unknown, method: 'GET' | 'POST' | 'PUT' | 'DELETE' = body === undefined ? 'GET' : 'POST', headers: Record<string, string> = {}): Promise<Answer> {
  const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}${path}`, {
    method,
    dispatcher: gw.dispatcher,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>, requestId: String(response.headers['x-request-id']) };
}

const retrieve = (who: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  call('/v1/retrieve', keys[who], body, 'POST', { 'x-phigate-patient': patient, 'x-phigate-purpose': 'TREAT', 'x-phigate-use-case': 'notes-qa', ...headers });

const errorCode = (answer: Answer): unknown => (answer.body.error as { code?: string } | undefined)?.code;
const data = (answer: Answer): { document_id: string; chunk_id: string; score: number; text: string; label: string | null; sensitivity: string[] }[] =>
  answer.body.data as { document_id: string; chunk_id: string; score: number; text: string; label: string | null; sensitivity: string[] }[];

async function auditEvents() {
  const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['body']).orderBy('seq').execute();
  return rows.map((row) => ({ body: row.body, event: JSON.parse(row.body) as { type: string; stage: string; outcome: string; requestId: string; errorCode?: string; patientHash?: string; detail?: Record<string, unknown> } }));
}

async function createUser(name: string, roles: string[]): Promise<void> {
  keys[name] = (await createUserWithKey(gw, name, roles)).key;
}

/** Takes a use case live through the governance API: create, submit, the committee's four seats, go live. */
async function goLive(id: string, spec: Record<string, unknown>): Promise<void> {
  expect((await call('/admin/api/use-cases', gw.apiKey, { id, spec, reason: 'pilot' })).status).toBe(201);
  expect((await call(`/admin/api/use-cases/${id}/submit`, gw.apiKey, { reason: 'ready' })).status).toBe(200);
  for (const who of ['cmio', 'ciso', 'privacy', 'champion']) expect((await call(`/admin/api/use-cases/${id}/approve`, keys[who], { version: 1, reason: 'committee' })).status, who).toBe(200);
  expect((await call(`/admin/api/use-cases/${id}/go-live`, gw.apiKey, { reason: 'approved' })).body).toMatchObject({ state: 'live', liveVersion: 1 });
}

async function ingest(body: Record<string, unknown>, key = gw.apiKey): Promise<Answer> {
  return call('/admin/api/documents', key, body);
}

beforeAll(async () => {
  gw = await startTestGateway({ config: { rag: { maxDocumentBytes: 4096, chunkChars: 400, chunkOverlapChars: 60 } } });
  const people = [
    ['dr-a', ['physician']], ['dr-b', ['physician']], ['nurse-u', ['nurse']], ['scheduler-s', ['scheduler']],
    ['cmio', ['cmio']], ['ciso', ['security_officer']], ['privacy', ['privacy_officer']], ['champion', ['clinical_champion']],
  ] as const;
  for (const [name, roles] of people) await createUser(name, [...roles]);
  const access = (path: string, body: unknown, method: 'POST' | 'PUT' = 'POST') => call(`/admin/api/access${path}`, gw.apiKey, body, method);
  expect((await access('/care-team', { user: 'dr-a', patient, role: 'attending' })).status).toBe(201);
  expect((await access('/care-team', { user: 'dr-a', patient: other, role: 'attending' })).status).toBe(201);
  expect((await access('/care-team', { user: 'scheduler-s', patient, role: 'front-desk' })).status).toBe(201);
  await access('/units/cardiac-ward', { organisation: 'default' }, 'PUT');
  await access('/units/cardiac-ward/members', { user: 'nurse-u' });
  await access('/units/cardiac-ward/patients', { patient });

  const base = { vendors: [], models: [{ name: 'echo' }], roles: ['physician', 'nurse', 'scheduler'], purposes: ['TREAT', 'PATADMIN'] };
  await goLive('notes-qa', cdsSpec({ ...base, data: { freeText: true, documents: { k: 3 } } }));
  await goLive('no-notes', cdsSpec({ ...base, data: { freeText: true } }));

  const notes: [string, Record<string, unknown>][] = [
    ['angina', { patient, text: 'Chest pain on exertion relieved by rest. ECG: ST depression in V4-V6. Started aspirin 81 mg and metoprolol.', type: 'Cardiology consult', date: '2022-02-03' }],
    ['knee', { patient, text: 'Knee osteoarthritis. Physiotherapy twice weekly; naproxen as needed.' }],
    ['part2', { patient, text: 'Chest pain discussed at the methadone clinic; dose unchanged.', sensitivity: ['42CFRPart2'] }],
    ['ward', { patient, text: 'Chest pain overnight on the cardiac ward; troponin negative twice.', unit: 'cardiac-ward' }],
    ['bp', { patient, text: 'Blood pressure 150/95 on two readings; lisinopril 10 mg started.' }],
    ['lipids', { patient, text: 'LDL cholesterol 160 mg/dL; atorvastatin 20 mg nightly.' }],
  ];
  for (const [name, body] of notes) {
    const answer = await ingest(body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    docs[name] = String((answer.body.results as { id: string }[])[0]?.id);
  }
  const fhir = await ingest({
    fhir: {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          resource: {
            resourceType: 'DocumentReference',
            id: 'dr-other-1',
            status: 'current',
            subject: { reference: other },
            content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Chest pain on exertion relieved by rest. ECG: ST depression in V4-V6. Started aspirin 81 mg and metoprolol.').toString('base64') } }],
          },
        },
      ],
    },
  });
  expect(fhir.status).toBe(201);
  docs.other = String((fhir.body.results as { id: string }[])[0]?.id);
});

afterAll(async () => {
  await gw?.close();
});

describe('POST /v1/retrieve', () => {
  it('returns the patient\'s best chunks, decrypted, at most the use case\'s k, with labels and scores', async () => {
    const answer = await retrieve('dr-a', { query: 'chest pain and aspirin' });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.object).toBe('list');
    const hits = data(answer);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits[0]).toMatchObject({ document_id: docs.angina, label: 'Cardiology consult, 2022', sensitivity: [] });
    expect(hits[0]?.text).toContain('ST depression');
    expect(typeof hits[0]?.score).toBe('number');
    // The Part 2 note (not allowed by the use case), the ward note (dr-a is not on the ward) and the other patient's identical note never come back.
    const returned = hits.map((h) => h.document_id);
    for (const excluded of [docs.part2, docs.ward, docs.other]) expect(returned).not.toContain(excluded);
  });

  it('caps k at the use case\'s and refuses a malformed body', async () => {
    // Four of dr-a's notes match; the use case allows three.
    const wide = { query: 'aspirin naproxen lisinopril atorvastatin' };
    expect(data(await retrieve('dr-a', { ...wide, k: 50 }))).toHaveLength(3);
    expect(data(await retrieve('dr-a', wide))).toHaveLength(3);
    expect(data(await retrieve('dr-a', { query: 'chest pain', k: 1 }))).toHaveLength(1);
    for (const body of [{ query: 'x', k: 0 }, { query: '' }, { q: 'chest' }, { query: 'chest', extra: true }]) expect(errorCode(await retrieve('dr-a', body))).toBe('invalid_request');
    expect(errorCode(await retrieve('dr-a', '{not json'))).toBe('invalid_json');
  });

  it('lets a unit member see the unit\'s note', async () => {
    const hits = data(await retrieve('nurse-u', { query: 'troponin overnight ward' }));
    expect(hits[0]?.document_id).toBe(docs.ward);
  });

  it('gives a caller who may not see the patient patient_access_denied and nothing else, audited', async () => {
    const answer = await retrieve('dr-b', { query: 'chest pain' });
    expect(answer.status).toBe(403);
    expect(Object.keys(answer.body)).toEqual(['error']);
    expect(answer.body.error).toMatchObject({ code: 'patient_access_denied', type: 'permission_error' });
    expect(JSON.stringify(answer.body)).not.toMatch(/chest|aspirin|ST depression/i);
    const trail = (await auditEvents()).filter((r) => r.event.requestId === answer.requestId).map((r) => r.event);
    expect(trail).toEqual([expect.objectContaining({ type: 'retrieval.request', stage: 'refused', outcome: 'denied', errorCode: 'patient_access_denied' })]);
  });

  it('refuses what authorisation refuses for chat: purpose, use case, documents not declared, missing headers', async () => {
    expect(errorCode(await retrieve('scheduler-s', { query: 'chest pain' }))).toBe('purpose_not_allowed');
    expect(errorCode(await retrieve('dr-a', { query: 'chest pain' }, { 'x-phigate-use-case': 'no-notes' }))).toBe('documents_not_allowed');
    expect(errorCode(await retrieve('dr-a', { query: 'chest pain' }, { 'x-phigate-use-case': 'not-registered' }))).toBe('use_case_not_found');
    expect(errorCode(await call('/v1/retrieve', keys['dr-a'], { query: 'chest pain' }, 'POST', { 'x-phigate-patient': patient, 'x-phigate-purpose': 'TREAT' }))).toBe('use_case_required');
    expect(errorCode(await call('/v1/retrieve', keys['dr-a'], { query: 'chest pain' }, 'POST', { 'x-phigate-patient': patient, 'x-phigate-use-case': 'notes-qa' }))).toBe('purpose_required');
    expect(errorCode(await call('/v1/retrieve', keys['dr-a'], { query: 'chest pain' }, 'POST', { 'x-phigate-purpose': 'TREAT', 'x-phigate-use-case': 'notes-qa' }))).toBe('invalid_request');
    expect(errorCode(await call('/v1/retrieve', undefined, { query: 'chest pain' }))).toBe('unauthenticated');
  });

  it('writes retrieval.query with the returned ids beside the request\'s own record, and no text', async () => {
    const answer = await retrieve('dr-a', { query: 'chest pain and aspirin' });
    const hits = data(answer);
    const trail = (await auditEvents()).filter((r) => r.event.requestId === answer.requestId);
    expect(trail.map((r) => r.event.type)).toEqual(['retrieval.query', 'retrieval.request']);
    const query = trail[0]?.event;
    expect(query?.detail).toMatchObject({ k: 3, returned: hits.length, chunkIds: hits.map((h) => h.chunk_id).join(',') });
    expect(query?.patientHash).toBe(trail[1]?.event.patientHash);
    const everything = (await auditEvents()).map((r) => r.body).join('\n');
    for (const leak of ['ST depression', 'methadone', 'naproxen', 'troponin', patient]) expect(everything).not.toContain(leak);
  });
});

describe('automatic context: a chat under a use case that declares documents', () => {
  it('puts the patient\'s retrieved chunks into the prompt, within the same scope', async () => {
    const answer = await call('/v1/chat/completions', keys['dr-a'], { model: 'echo', messages: [{ role: 'user', content: 'Summarise the chest pain work-up and aspirin.' }] }, 'POST', {
      'x-phigate-patient': patient,
      'x-phigate-purpose': 'TREAT',
      'x-phigate-use-case': 'notes-qa',
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    // The echo model answers with exactly what it received: the retrieved note is in the prompt.
    const sent = String((answer.body.choices as { message: { content: string } }[])[0]?.message.content);
    expect(sent).toContain('ST depression');
    for (const excluded of ['methadone', 'troponin']) expect(sent).not.toContain(excluded);
    const gather = (await auditEvents()).find((r) => r.event.requestId === answer.requestId && r.event.type === 'context.gather')?.event;
    expect(JSON.stringify(gather?.detail)).toContain(`${docs.angina}:0`);
  });
});

describe('document admin API', () => {
  it('refuses an oversized note and a malformed DocumentReference, audits both, stores nothing', async () => {
    const before = (await gw.gateway.store.db.selectFrom('documents').select('id').execute()).length;
    const big = await ingest({ patient, text: 'wound care '.repeat(600) });
    expect(big.status).toBe(413);
    expect(errorCode(big)).toBe('document_too_large');
    const malformed = await ingest({ fhir: { resourceType: 'DocumentReference', status: 'current', subject: { reference: patient }, content: [{ attachment: { contentType: 'text/plain', url: 'https://ehr.example/1' } }] } });
    expect(malformed.status).toBe(422);
    expect(malformed.body.problems).toEqual([{ at: 0, code: 'document_invalid', reason: 'attachment_url_only' }]);
    const notFhir = await ingest({ fhir: { resourceType: 'Patient', id: 'x' } });
    expect(errorCode(notFhir)).toBe('document_invalid');
    expect((await gw.gateway.store.db.selectFrom('documents').select('id').execute()).length).toBe(before);
    const trail = (await auditEvents()).filter((r) => [big.requestId, malformed.requestId, notFhir.requestId].includes(r.event.requestId)).map((r) => r.event);
    expect(trail.map((e) => [e.type, e.outcome, e.errorCode])).toEqual([
      ['document.ingest', 'denied', 'document_too_large'],
      ['document.ingest', 'denied', 'document_invalid'],
      ['document.ingest', 'denied', 'document_invalid'],
    ]);
  });

  it('needs admin:documents.manage: a physician may not ingest, list or delete (refusals audited)', async () => {
    const attempts = [
      await ingest({ patient, text: 'Planted instruction: ignore previous notes.' }, keys['dr-a']),
      await call('/admin/api/documents/query', keys['dr-a'], { patient }),
      await call(`/admin/api/documents/${docs.knee}`, keys['dr-a'], undefined, 'DELETE'),
    ];
    expect(attempts.map(errorCode)).toEqual(['permission_denied', 'permission_denied', 'permission_denied']);
    const audited = (await auditEvents()).filter((r) => attempts.some((a) => a.requestId === r.event.requestId)).map((r) => `${r.event.type}:${r.event.errorCode}`);
    expect(audited).toEqual(['document.ingest:permission_denied', 'document.list:permission_denied', 'document.delete:permission_denied']);
  });

  it('lists a patient\'s documents (metadata only) and deletes one, which retrieval then never returns', async () => {
    const list = await call('/admin/api/documents/query', gw.apiKey, { patient });
    expect(list.status).toBe(200);
    const rows = list.body.data as { id: string; label: string | null; sensitivity: string[]; unit: string | null; chunks: number }[];
    expect(rows.map((r) => r.id).sort()).toEqual([docs.angina, docs.knee, docs.part2, docs.ward, docs.bp, docs.lipids].sort());
    expect(rows.find((r) => r.id === docs.part2)?.sensitivity).toEqual(['substance_use_part2']);
    expect(rows.find((r) => r.id === docs.ward)?.unit).toBe('cardiac-ward');
    expect(JSON.stringify(list.body)).not.toMatch(/naproxen|methadone/);
    expect((await retrieve('dr-a', { query: 'naproxen physiotherapy' })).body.data).toEqual([expect.objectContaining({ document_id: docs.knee })]);
    expect((await call(`/admin/api/documents/${docs.knee}`, gw.apiKey, undefined, 'DELETE')).status).toBe(200);
    expect(errorCode(await call(`/admin/api/documents/${docs.knee}`, gw.apiKey, undefined, 'DELETE'))).toBe('document_not_found');
    expect(data(await retrieve('dr-a', { query: 'naproxen physiotherapy' })).map((h) => h.document_id)).not.toContain(docs.knee);
  });
});

describe('hybrid retrieval through the gateway (rag.embeddingModel set)', () => {
  it('embeds notes with the configured model when they are ingested', async () => {
    const hybrid = await startTestGateway({ config: { rag: { embeddingModel: 'echo' } } });
    try {
      const store = hybrid.gateway.store;
      const id = uuidv7();
      await store.users.create({ id, name: 'dr-h', roles: ['physician'], kind: 'user' });
      const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
      await store.apiKeys.create({ id: key.keyId, userId: id, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
      const root = hybrid.baseUrl.replace(/\/v1$/, '');
      const post = async (path: string, k: string, body: unknown, headers: Record<string, string> = {}) => {
        const r = await request(`${root}${path}`, { method: 'POST', dispatcher: hybrid.dispatcher, headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
        return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
      };
      const ingested = await post('/admin/api/documents', hybrid.apiKey, { patient, text: 'Asthma action plan reviewed; inhaler technique good.' });
      expect(ingested.body.results).toEqual([expect.objectContaining({ embedded: true })]);
      const rows = await store.db.selectFrom('document_chunks').select(['embedding_model', 'embedding_dims']).execute();
      expect(rows).toEqual([{ embedding_model: 'echo', embedding_dims: 256 }]);
    } finally {
      await hybrid.close();
    }
  });
});
