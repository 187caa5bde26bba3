// SPDX-License-Identifier: Apache-2.0
/**
 * Inference content through a real gateway: a use case that keeps content
 * (`inferenceLogRetentionDays` > 0) gets the prompt as sent and the answer as released in the
 * content log, plain and streamed, encrypted (no plaintext anywhere in the database file); a use
 * case that keeps none gets no rows at all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceContentLog } from '../../src/audit/retention.js';
import { createKms } from '../../src/crypto/kms/index.js';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createRegistryAdmin, createUserWithKey, dayFromNow } from '../support/registry-admin.js';

let vendor: FakeVendorServer;
let gw: TestGateway;
let doctor: { readonly id: string; readonly key: string };

const spec = (retentionDays: number) => ({
  name: 'Visit summaries',
  owner: 'u-owner',
  description: 'Summaries of visit notes.',
  classification: 'administrative',
  deploymentPattern: 'baa_covered',
  purposes: ['TREAT'],
  roles: ['physician'],
  vendors: ['openai'],
  models: [{ name: 'gpt-4o' }],
  inferenceLogRetentionDays: retentionDays,
});

const prompt = 'Summarise: Maria Gonzalez, MRN 84736251, seen 03/04/2021 for a wellness visit.';
const reply = 'Wellness visit went fine; next review scheduled in twelve months.';

beforeAll(async () => {
  vendor = await startFakeOpenAiServer({ apiKey: 'k' });
  gw = await startTestGateway({
    env: { KEY: 'k' },
    config: {
      endpoints: [{ id: 'openai-covered', kind: 'openai', baseUrl: `${vendor.url}/v1`, apiKey: 'env:KEY', vendor: 'openai', service: 'api-enterprise', region: 'us-east-1', models: [{ name: 'gpt-4o' }] }],
    },
  });
  const admin = await createRegistryAdmin(gw);
  await admin.signBaa('openai', { effectiveDate: '2026-01-01', expiryDate: dayFromNow(400), documentRef: 'contracts://baa', documentSha256: 'cd'.repeat(32), coveredServices: ['api-enterprise'], dataResidency: ['us'] });
  await admin.liveUseCase('kept-summaries', spec(14));
  await admin.liveUseCase('plain-summaries', spec(0));
  doctor = await createUserWithKey(gw, 'dr-content', ['physician']);
  const assigned = await admin.call('POST', '/admin/api/access/care-team', { user: doctor.id, patient: 'Patient/p-4471', role: 'attending' });
  if (assigned.status !== 201) throw new Error(`care-team assignment: ${assigned.status} ${JSON.stringify(assigned.body)}`);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await vendor?.close();
});

async function chat(useCase: string, stream = false) {
  vendor.script({ text: reply });
  const response = await request(`${gw.baseUrl}/chat/completions`, {
    method: 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${doctor.key}`, 'content-type': 'application/json', 'x-phigate-use-case': useCase, 'x-phigate-patient': 'Patient/p-4471', 'x-phigate-purpose': 'TREAT' },
    body: JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: prompt }] }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text, requestId: String(response.headers['x-request-id']) };
}

const rowsOf = (requestId: string) => gw.gateway.store.db.selectFrom('inference_content_log').selectAll().where('request_id', '=', requestId).orderBy('id').execute();

describe('inference content log', () => {
  it('keeps the prompt and answer of a use case with retention, encrypted, and nothing for one without', async () => {
    const kept = await chat('kept-summaries');
    const streamed = await chat('kept-summaries', true);
    const plain = await chat('plain-summaries');
    expect([kept.status, streamed.status, plain.status], kept.text).toEqual([200, 200, 200]);
    expect(kept.text).toContain(reply);
    expect(streamed.text).toContain('[DONE]');

    expect(await rowsOf(plain.requestId)).toEqual([]);
    const rows = [...(await rowsOf(kept.requestId)), ...(await rowsOf(streamed.requestId))];
    expect(rows.map((r) => [r.kind, r.use_case, r.actor_id, r.retention_days])).toEqual([
      ['prompt', 'kept-summaries', doctor.id, 14],
      ['response', 'kept-summaries', doctor.id, 14],
      ['prompt', 'kept-summaries', doctor.id, 14],
      ['response', 'kept-summaries', doctor.id, 14],
    ]);
    // The audit log's keyed patient hash, so legal holds and the accounting join on it.
    const audit = await gw.gateway.store.db.selectFrom('audit_events').select('patient_hash').where('request_id', '=', kept.requestId).executeTakeFirstOrThrow();
    expect(rows.every((r) => r.patient_hash !== null && r.patient_hash === audit.patient_hash)).toBe(true);

    // Readable with the gateway's KMS: the prompt as the vendor received it, the answer as released.
    const kms = await createKms(gw.gateway.config.kms, { baseDir: gw.home, env: {} });
    const log = createInferenceContentLog({ db: gw.gateway.store.db, kms, now: () => Date.now() });
    const [keptPrompt, keptAnswer, , streamedAnswer] = await Promise.all(rows.map((r) => log.read(r.id)));
    expect(JSON.parse(keptPrompt ?? '{}')).toMatchObject({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] });
    expect(vendor.requests.at(-3)?.rawBody).toContain('Maria Gonzalez');
    expect(JSON.parse(keptAnswer ?? '{}')).toMatchObject({ choices: [{ message: { content: reply } }] });
    expect(streamedAnswer).toBe(reply);

    // No plaintext in the database file (or its write-ahead log).
    const file = join(gw.home, 'phigate.db');
    const bytes = [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('');
    expect(bytes.length).toBeGreaterThan(0);
    for (const plaintext of ['Gonzalez', '84736251', 'twelve months']) expect(bytes).not.toContain(plaintext);
  });
});
