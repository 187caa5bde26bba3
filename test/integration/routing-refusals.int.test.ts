// SPDX-License-Identifier: Apache-2.0
/**
 * Bad routing input through a real gateway: an endpoint naming a vendor the registry does not
 * know, an unknown model, an unknown use case, a use case that is not live, an expired BAA, a
 * sensitive category on a cloud route, an unknown sensitivity label. Each is a typed refusal with
 * the right status and code, a refusal audit record, and not one request at a vendor server.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { startFakeAnthropicServer } from '../../src/providers/testing/fake-anthropic-server.js';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { createVendorRepo } from '../../src/store/repos/vendor-repo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createRegistryAdmin, dayFromNow, type RegistryAdmin } from '../support/registry-admin.js';

let openaiServer: FakeVendorServer;
let anthropicServer: FakeVendorServer;
let gw: TestGateway;
let admin: RegistryAdmin;
let doctorKey: string;

const spec = (extra: Record<string, unknown> = {}) => ({
  name: 'Routing refusals',
  owner: 'u-owner',
  description: 'Summaries for the refusal tests.',
  classification: 'administrative',
  deploymentPattern: 'baa_covered',
  purposes: ['TREAT'],
  roles: ['physician'],
  vendors: ['openai', 'anthropic', 'ghost-ai'],
  models: [{ name: 'gpt-4o' }, { name: 'ghost-model' }, { name: 'claude' }],
  ...extra,
});

beforeAll(async () => {
  openaiServer = await startFakeOpenAiServer({ apiKey: 'k' });
  anthropicServer = await startFakeAnthropicServer({ apiKey: 'k' });
  gw = await startTestGateway({
    env: { KEY: 'k' },
    config: {
      endpoints: [
        { id: 'openai-covered', kind: 'openai', baseUrl: `${openaiServer.url}/v1`, apiKey: 'env:KEY', vendor: 'openai', service: 'api-enterprise', region: 'us-east-1', models: [{ name: 'gpt-4o' }] },
        { id: 'ghost', kind: 'openai', baseUrl: `${openaiServer.url}/v1`, apiKey: 'env:KEY', vendor: 'ghost-ai', service: 'chat', region: 'us-east-1', models: [{ name: 'ghost-model' }] },
        { id: 'anthropic-expired', kind: 'anthropic', baseUrl: anthropicServer.url, apiKey: 'env:KEY', vendor: 'anthropic', service: 'api-enterprise', region: 'us', models: [{ name: 'claude' }] },
      ],
    },
  });
  admin = await createRegistryAdmin(gw);
  await admin.signBaa('openai', { effectiveDate: '2026-01-01', expiryDate: dayFromNow(400), documentRef: 'contracts://baa', documentSha256: 'cd'.repeat(32), coveredServices: ['api-enterprise'], dataResidency: ['us'] });
  const repo = createVendorRepo(gw.gateway.store.db);
  const anthropic = await repo.get('anthropic');
  if (!anthropic) throw new Error('catalogue vendor anthropic missing');
  await repo.upsert({ ...anthropic.vendor, baa: { ...anthropic.vendor.baa, status: 'signed', effectiveDate: '2024-01-01', expiryDate: '2025-12-31', coveredServices: ['api-enterprise'] } }, anthropic.version);
  await admin.liveUseCase('summaries', spec());
  await admin.liveUseCase('sensitive-summaries', spec({ sensitiveCategories: ['psychotherapy_notes', 'substance_use_part2'] }));
  await admin.liveUseCase('paused', spec());
  await admin.call('POST', '/admin/api/use-cases/paused/suspend', { reason: 'incident review' });
  await admin.call('POST', '/admin/api/use-cases', { id: 'draft-only', spec: spec(), reason: 'not yet reviewed' });

  const store = gw.gateway.store;
  const userId = uuidv7();
  await store.users.create({ id: userId, name: 'dr-refusals', roles: ['physician'], kind: 'user' });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
  doctorKey = key.key;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await openaiServer?.close();
  await anthropicServer?.close();
});

async function chat(model: string, headers: Record<string, string>) {
  const response = await request(`${gw.baseUrl}/chat/completions`, {
    method: 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${doctorKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Summarise: Maria Gonzalez, MRN 84736251, seen 03/04/2021.' }] }),
  });
  const body = (await response.body.json()) as { error?: { code?: string; detail?: Record<string, unknown>; message?: string } };
  return { status: response.statusCode, body, requestId: String(response.headers['x-request-id']) };
}

const cases: [string, string, Record<string, string>, number, string, string | undefined][] = [
  ['an endpoint naming a vendor the registry does not know', 'ghost-model', { 'x-phigate-use-case': 'summaries' }, 422, 'no_baa_covered_endpoint', 'unknown_vendor'],
  ['an unknown model', 'gpt-17', {}, 404, 'model_not_found', undefined],
  ['a model the use case does not list', 'gpt-17', { 'x-phigate-use-case': 'summaries' }, 403, 'model_not_allowed_for_use_case', 'model_not_in_use_case'],
  ['an unknown use case', 'gpt-4o', { 'x-phigate-use-case': 'no-such-use-case' }, 404, 'use_case_not_found', undefined],
  ['a suspended use case', 'gpt-4o', { 'x-phigate-use-case': 'paused' }, 403, 'use_case_not_approved', undefined],
  ['a use case still in draft', 'gpt-4o', { 'x-phigate-use-case': 'draft-only' }, 403, 'use_case_not_approved', undefined],
  ['an expired BAA', 'claude', { 'x-phigate-use-case': 'summaries' }, 403, 'baa_not_in_force', 'baa_expired'],
  ['a sensitive category on a cloud route', 'gpt-4o', { 'x-phigate-use-case': 'sensitive-summaries', 'x-phigate-sensitivity': 'PSYTHPN' }, 403, 'sensitive_data_requires_self_hosted', 'psychotherapy_notes'],
  ['a sensitive category the use case does not allow', 'gpt-4o', { 'x-phigate-use-case': 'summaries', 'x-phigate-sensitivity': '42CFRPart2' }, 403, 'sensitive_category_not_allowed', 'substance_use_part2'],
  ['a sensitive category without a use case', 'gpt-4o', { 'x-phigate-sensitivity': 'GDIS' }, 403, 'sensitive_category_not_allowed', 'genetic'],
  ['an unknown sensitivity label', 'gpt-4o', { 'x-phigate-sensitivity': 'TOP-SECRET' }, 400, 'invalid_header', undefined],
];

describe('routing refusals', () => {
  for (const [name, model, headers, status, code, reason] of cases) {
    it(`answers ${name} with ${status} ${code}, audited, with no vendor request`, async () => {
      const before = openaiServer.requests.length + anthropicServer.requests.length;
      const answer = await chat(model, headers);
      expect([answer.status, answer.body.error?.code]).toEqual([status, code]);
      if (reason !== undefined) expect(answer.body.error?.detail?.reason).toBe(reason);
      // A fixed message: never the request's content.
      expect(JSON.stringify(answer.body)).not.toMatch(/Gonzalez|84736251/);
      expect(openaiServer.requests.length + anthropicServer.requests.length).toBe(before);
      const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['stage', 'outcome', 'body']).where('request_id', '=', answer.requestId).orderBy('seq').execute();
      expect(rows.map((r) => [r.stage, r.outcome])).toEqual([['refused', 'denied']]);
      expect(JSON.parse(rows[0]?.body ?? '{}')).toMatchObject({ errorCode: code, status });
    });
  }

  it('serves the same caller and use case where the registry allows it (the refusals are not blanket)', async () => {
    const before = openaiServer.requests.length;
    const answer = await chat('gpt-4o', { 'x-phigate-use-case': 'summaries' });
    expect(answer.status).toBe(200);
    expect(openaiServer.requests.length).toBe(before + 1);
    // baa_covered, BAA in force: the payload went as sent.
    expect(openaiServer.requests.at(-1)?.rawBody).toContain('Maria Gonzalez');
  });
});
