// SPDX-License-Identifier: Apache-2.0
/**
 * Clinical safeguards and the human review queue through the real gateway (HTTPS, SQLite file,
 * local key file, audit chain), with the official OpenAI and Anthropic SDKs as clients. Use
 * cases go live through the governance API. A decision-support answer arrives labelled; a
 * treatment-affecting answer is held, a second physician claims it and approves it with an
 * edit, and the requester fetches the edited answer. The whole trail is in the audit log, the
 * chain verifies, and neither the answer nor the edit is in the database file in clear.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { ValidateFunction } from 'ajv';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuditPublicKeys } from '../../src/audit/checkpoints.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { cdsSpec } from '../../src/registry/testing/registry-fixtures.js';
import { clinicalLabel, type PhigateAnnotation } from '../../src/review/clinical-label.js';
import { loadR4Validator } from '../../src/review/testing/fhir-r4-validator.js';
import { startTestGateway, trustingFetch, type TestGateway } from '../support/gateway.js';
import { createUserWithKey } from '../support/registry-admin.js';

let gw: TestGateway;
let validateProvenance: ValidateFunction;
const keys: Record<string, string> = {};
const ids: Record<string, string> = {};
const patient = 'Patient/e2e-review-1';
// Distinctive synthetic text: the echo model answers with the payload, so the held answer contains it.
const prompt = 'Titrate metformin for eGFR 41 (marker zqxv-held-answer).';
const edited = 'Reduce metformin to 500 mg twice daily; recheck eGFR in 4 weeks (marker zqxv-edited).';

async function createUser(name: string, roles: string[]): Promise<void> {
  const { id, key } = await createUserWithKey(gw, name, roles);
  keys[name] = key;
  ids[name] = id;
}

async function call(path: string, key: string | undefined, body?: unknown, method: 'GET' | 'POST' = body === undefined ? 'GET' : 'POST') {
  const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}${path}`, {
    method,
    dispatcher: gw.dispatcher,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, type: String(response.headers['content-type']), body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>, text, requestId: String(response.headers['x-request-id']) };
}

async function goLive(id: string, spec: Record<string, unknown>): Promise<void> {
  expect((await call('/admin/api/use-cases', gw.apiKey, { id, spec, reason: 'pilot' })).status).toBe(201);
  expect((await call(`/admin/api/use-cases/${id}/submit`, gw.apiKey, { reason: 'ready' })).status).toBe(200);
  for (const who of ['cmio', 'ciso', 'privacy', 'champion']) expect((await call(`/admin/api/use-cases/${id}/approve`, keys[who], { version: 1, reason: 'committee' })).status, who).toBe(200);
  expect((await call(`/admin/api/use-cases/${id}/go-live`, gw.apiKey, { reason: 'approved' })).body).toMatchObject({ state: 'live', liveVersion: 1 });
}

const headers = (useCase: string) => ({ 'x-phigate-patient': patient, 'x-phigate-purpose': 'TREAT', 'x-phigate-use-case': useCase });
const openai = (key: string) => new OpenAI({ baseURL: gw.baseUrl, apiKey: key, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
const annotationOf = (value: unknown): PhigateAnnotation => (value as { phigate: PhigateAnnotation }).phigate;

async function auditRows() {
  const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['body']).orderBy('seq').execute();
  return rows.map((row) => ({ body: row.body, event: JSON.parse(row.body) as { type: string; stage: string; outcome: string; requestId: string; actor?: { userId: string }; patientHash?: string; errorCode?: string; detail?: Record<string, unknown> } }));
}

beforeAll(async () => {
  gw = await startTestGateway();
  validateProvenance = loadR4Validator('Provenance');
  for (const [name, roles] of [['dr-ask', ['physician']], ['dr-review', ['physician']], ['nurse-n', ['nurse']], ['cmio', ['cmio']], ['ciso', ['security_officer']], ['privacy', ['privacy_officer']], ['champion', ['clinical_champion']]] as const) {
    await createUser(name, [...roles]);
  }
  for (const user of ['dr-ask', 'dr-review', 'nurse-n']) expect((await call('/admin/api/access/care-team', gw.apiKey, { user, patient, role: 'attending' })).status).toBe(201);
  const base = { vendors: [], models: [{ name: 'echo' }], data: { freeText: true }, roles: ['physician', 'nurse'] };
  await goLive('ddx-e2e', cdsSpec(base));
  await goLive('titration-e2e', cdsSpec({ ...base, output: { clinicalLabel: true, humanReview: true } }));
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

describe('decision-support answers through the OpenAI and Anthropic SDKs', () => {
  it('carry the label on the first line and the annotation in phigate, plain and streamed', async () => {
    const client = openai(keys['dr-ask'] ?? '');
    const completion = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'Differential for fever and cough?' }] }, { headers: headers('ddx-e2e') });
    expect(completion.choices[0]?.message.content?.split('\n')[0]).toBe(clinicalLabel);
    expect(annotationOf(completion)).toMatchObject({ label: clinicalLabel, citations: [], use_case: { id: 'ddx-e2e', version: 1 }, source_attributes: { developer: 'Acme AI, Inc.', intended_use: expect.any(String) } });
    // The echo model states no confidence, so there is none.
    expect(annotationOf(completion)).not.toHaveProperty('confidence');

    const stream = await client.chat.completions.create({ model: 'echo', stream: true, messages: [{ role: 'user', content: 'Differential for fever?' }] }, { headers: headers('ddx-e2e') });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.content).toBe(`${clinicalLabel}\n\n`);
    expect(annotationOf(chunks[0])).toMatchObject({ label: clinicalLabel });
    expect(chunks.filter((c) => (c as { phigate?: unknown }).phigate !== undefined)).toHaveLength(2);

    const json = await client.chat.completions.create({ model: 'echo', response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'As JSON please' }] }, { headers: headers('ddx-e2e') });
    expect(() => JSON.parse(json.choices[0]?.message.content ?? '')).not.toThrow();
    expect(annotationOf(json).label).toBe(clinicalLabel);

    const anthropic = new Anthropic({ baseURL: gw.baseUrl.replace(/\/v1$/, ''), apiKey: keys['dr-ask'], fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'echo', max_tokens: 200, messages: [{ role: 'user', content: 'Differential?' }] }, { headers: headers('ddx-e2e') });
    const block = message.content[0];
    expect(block?.type === 'text' ? block.text.split('\n')[0] : undefined).toBe(clinicalLabel);
  });
});

describe('a treatment-affecting answer: held, reviewed with an edit, fetched by the requester', () => {
  it('runs the whole road with the official SDK, every step audited', async () => {
    const client = openai(keys['dr-ask'] ?? '');
    const held = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: prompt }] }, { headers: headers('titration-e2e') });
    const review = annotationOf(held).review;
    expect(review).toMatchObject({ status: 'pending' });
    const id = review?.id ?? '';
    expect(held.choices[0]?.message.content).toContain(`Review id: ${id}`);
    expect(JSON.stringify(held)).not.toContain('zqxv');

    // A stream is held too: one placeholder chunk, nothing of the answer.
    const stream = await client.chat.completions.create({ model: 'echo', stream: true, messages: [{ role: 'user', content: prompt }] }, { headers: headers('titration-e2e') });
    const streamed = [];
    for await (const chunk of stream) streamed.push(chunk);
    expect(streamed).toHaveLength(1);
    expect(JSON.stringify(streamed)).not.toContain('zqxv');
    expect(annotationOf(streamed[0]).review?.status).toBe('pending');

    // Pending for the requester; invisible to everyone else.
    const pending = await client.get<Record<string, unknown>>(`/reviews/${id}`);
    expect(pending).toMatchObject({ object: 'phigate.review', id, status: 'pending', completion: null });
    expect((await call(`/v1/reviews/${id}`, keys['dr-review'])).status).toBe(404);

    // The reviewer's queue: the requester cannot review their own answer, a nurse lacks the permission.
    const listed = await call('/admin/api/reviews', keys['dr-review']);
    expect((listed.body.data as { id: string }[]).map((i) => i.id)).toEqual([id, annotationOf(streamed[0]).review?.id]);
    expect((await call(`/admin/api/reviews/${id}/claim`, keys['dr-ask'], {})).body).toMatchObject({ error: { code: 'review_self_decision' } });
    expect((await call(`/admin/api/reviews/${id}/claim`, keys['nurse-n'], {})).status).toBe(403);
    const shown = await call(`/admin/api/reviews/${id}`, keys['dr-review']);
    expect(shown.body).toMatchObject({ id, status: 'queued', patient, purpose: 'TREAT', useCaseId: 'titration-e2e' });
    expect(JSON.stringify(shown.body)).toContain('zqxv-held-answer');

    const claimed = await call(`/admin/api/reviews/${id}/claim`, keys['dr-review'], {});
    expect(claimed.body).toMatchObject({ status: 'claimed', version: 2 });
    const stale = await call(`/admin/api/reviews/${id}/edit`, keys['dr-review'], { content: edited, version: 1 });
    expect(stale.body).toMatchObject({ error: { code: 'review_version_conflict' } });
    const bad = await call(`/admin/api/reviews/${id}/edit`, keys['dr-review'], { content: '', version: 2 });
    expect(bad.status).toBe(400);
    const decided = await call(`/admin/api/reviews/${id}/edit`, keys['dr-review'], { content: edited, version: 2 });
    expect(decided.body).toMatchObject({ status: 'edited', decidedBy: ids['dr-review'], version: 3 });

    // The requester fetches the reviewed answer through the SDK.
    const released = await client.get<{ status: string; completion: OpenAI.Chat.Completions.ChatCompletion & { phigate: PhigateAnnotation } }>(`/reviews/${id}`);
    expect(released.status).toBe('edited');
    expect(released.completion.object).toBe('chat.completion');
    expect(released.completion.choices[0]?.message.content).toBe(`${clinicalLabel}\n\n${edited}`);
    expect(released.completion.phigate).toMatchObject({ label: clinicalLabel, review: { id, status: 'edited', reviewed_by: ids['dr-review'] }, use_case: { id: 'titration-e2e', version: 1 } });

    // The Provenance of the decision, valid FHIR R4.
    const provenance = await call(`/admin/api/reviews/${id}/provenance`, keys['dr-review']);
    expect(provenance.type).toContain('application/fhir+json');
    expect(validateProvenance(provenance.body) ? [] : validateProvenance.errors).toEqual([]);
    expect(provenance.body).toMatchObject({ resourceType: 'Provenance', activity: { coding: [{ code: 'UPDATE' }] }, policy: ['urn:phigate:use-case:titration-e2e:v1'] });
    expect((await call(`/admin/api/reviews/${id}/provenance`, keys.ciso)).status).toBe(200);

    // The whole trail, with who did each step.
    const trail = (await auditRows()).map((r) => r.event).filter((e) => e.type.startsWith('review.') && (e.detail?.reviewId === id || e.requestId === held._request_id));
    expect(trail.map((e) => [e.type, e.outcome, e.actor?.userId])).toEqual([
      ['review.create', 'success', ids['dr-ask']],
      ['review.fetch', 'success', ids['dr-ask']],
      ['review.fetch', 'denied', ids['dr-review']],
      ['review.claim', 'denied', ids['dr-ask']],
      ['review.claim', 'denied', ids['nurse-n']],
      ['review.read', 'success', ids['dr-review']],
      ['review.claim', 'success', ids['dr-review']],
      ['review.edit', 'denied', ids['dr-review']],
      ['review.edit', 'denied', ids['dr-review']],
      ['review.edit', 'success', ids['dr-review']],
      ['review.fetch', 'success', ids['dr-ask']],
      ['review.provenance', 'success', ids['dr-review']],
      ['review.provenance', 'success', ids.ciso],
    ]);
    const rows = await auditRows();
    // The request that was held: disclosure before the model, completion after, and the hold in between.
    const requestTrail = rows.map((r) => r.event).filter((e) => e.requestId === held._request_id).map((e) => [e.type, e.stage]);
    expect(requestTrail).toEqual([
      ['chat.completion', 'disclosure'],
      ['review.create', 'completed'],
      ['chat.completion', 'completed'],
    ]);
    for (const row of rows) for (const secret of ['zqxv', patient]) expect(row.body).not.toContain(secret);
    const report = await verifyAuditLog({ db: gw.gateway.store.db, publicKeys: await loadAuditPublicKeys(gw.gateway.store.db) });
    expect(report.failure).toBeUndefined();
    expect(report.ok).toBe(true);
  });

  it('over HTTP: claim the next item, give it back, approve one and reject another; an Anthropic caller gets a Message back', async () => {
    const anthropic = new Anthropic({ baseURL: gw.baseUrl.replace(/\/v1$/, ''), apiKey: keys['dr-ask'], fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'echo', max_tokens: 200, messages: [{ role: 'user', content: prompt }] }, { headers: headers('titration-e2e') });
    const text = message.content[0]?.type === 'text' ? message.content[0].text : '';
    const anthropicId = /Review id: ([0-9a-f-]{36})/.exec(text)?.[1] ?? '';
    expect(anthropicId).not.toBe('');
    expect(text).not.toContain('zqxv');

    const reviewer = keys['dr-review'];
    // The stream held in the test above is the oldest open item.
    const next = await call('/admin/api/reviews/claim', reviewer, {});
    const streamedId = (next.body.data as { id: string }).id;
    expect(next.body.data).toMatchObject({ status: 'claimed', claimedBy: ids['dr-review'] });
    const mine = await call('/admin/api/reviews?mine=true', reviewer);
    expect((mine.body.data as { id: string }[]).map((i) => i.id)).toEqual([streamedId]);
    expect((await call(`/admin/api/reviews/${streamedId}/unclaim`, reviewer, { version: 2 })).body).toMatchObject({ status: 'queued', version: 3 });
    expect((await call(`/admin/api/reviews/${streamedId}/claim`, reviewer, {})).body).toMatchObject({ status: 'claimed', version: 4 });
    expect((await call(`/admin/api/reviews/${streamedId}/reject`, reviewer, { reason: 'Duplicate of an answer already reviewed.' })).body).toMatchObject({ status: 'rejected' });
    const rejected = await call(`/v1/reviews/${streamedId}`, keys['dr-ask']);
    expect(rejected.body).toMatchObject({ status: 'rejected', completion: null, rejection: { reason: 'Duplicate of an answer already reviewed.' } });

    expect((await call(`/admin/api/reviews/${anthropicId}/claim`, reviewer, {})).status).toBe(200);
    expect((await call(`/admin/api/reviews/${anthropicId}/approve`, reviewer, {})).body).toMatchObject({ status: 'approved' });
    const fetched = await call(`/v1/reviews/${anthropicId}`, keys['dr-ask']);
    const completion = fetched.body.completion as { type: string; role: string; content: { type: string; text: string }[]; phigate: PhigateAnnotation };
    expect(completion).toMatchObject({ type: 'message', role: 'assistant' });
    expect(completion.content[0]?.text.split('\n')[0]).toBe(clinicalLabel);
    expect(completion.content[0]?.text).toContain('zqxv-held-answer');
    expect(completion.phigate).toMatchObject({ label: clinicalLabel, review: { id: anthropicId, status: 'approved' } });
    expect((await call('/admin/api/reviews?status=queued,claimed', reviewer)).body.data).toEqual([]);
    expect((await call('/admin/api/reviews?status=bogus', reviewer)).status).toBe(400);
  });

  it('keeps neither the held answer nor the edit in the database files in clear', async () => {
    await gw.gateway.store.db.selectFrom('review_items').select('id').execute();
    const files = readdirSync(gw.home).filter((name) => name.startsWith('phigate.db'));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((name) => readFileSync(join(gw.home, name))));
    // The search can succeed: values stored in clear (the use case id of the held rows) are found.
    expect(bytes.includes(Buffer.from('titration-e2e'))).toBe(true);
    for (const marker of ['zqxv-held-answer', 'zqxv-edited', 'Titrate metformin', 'e2e-review-1']) expect(bytes.includes(Buffer.from(marker)), marker).toBe(false);
    // The control: the ciphertext columns are there.
    const row = await gw.gateway.store.db.selectFrom('review_items').select(['answer_enc', 'edited_enc']).where('status', '=', 'edited').executeTakeFirst();
    expect(row?.answer_enc).toMatch(/^v1\./);
    expect(row?.edited_enc).toMatch(/^v1\./);
  });

  it('refuses unknown callers and ids with typed errors, each audited', async () => {
    const anonymous = await call('/v1/reviews/01a3185c-5001-7247-bd2c-5fcc2fcc81e5', undefined);
    expect(anonymous.status).toBe(401);
    const odd = await call('/v1/reviews/Patient%2F123', keys['dr-ask']);
    expect([odd.status, (odd.body.error as { code?: string }).code]).toEqual([404, 'review_not_found']);
    const adminAnon = await call('/admin/api/reviews', undefined);
    expect(adminAnon.status).toBe(401);
    const rows = (await auditRows()).map((r) => r.event);
    expect(rows.find((e) => e.requestId === anonymous.requestId)).toMatchObject({ type: 'review.fetch', outcome: 'denied', errorCode: 'unauthenticated' });
    expect(rows.find((e) => e.requestId === odd.requestId)).toMatchObject({ type: 'review.fetch', outcome: 'denied', errorCode: 'review_not_found', detail: { reviewId: 'invalid' } });
    expect(rows.find((e) => e.requestId === adminAnon.requestId)).toMatchObject({ type: 'review.list', outcome: 'denied', errorCode: 'unauthenticated' });
    expect(JSON.stringify(rows)).not.toContain('Patient/123');
  });
});
