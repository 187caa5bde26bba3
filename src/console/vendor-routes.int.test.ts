// SPDX-License-Identifier: Apache-2.0
/**
 * The vendor registry admin API through a real gateway (HTTPS, SQLite state folder, audit chain):
 * the seeded catalogue, recording, amending and terminating a BAA, optimistic versions,
 * subprocessors, custom vendors, the expiring list, permissions by role, and an audit record for
 * every call, refusals included, that never carries the document reference.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueVendors } from '../registry/vendor-catalogue.js';
import { readRegistryRevision } from '../store/repos/vendor-repo.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { createUserWithKey } from '../../test/support/registry-admin.js';

let gw: TestGateway;
const keys: Record<string, string> = {};
const sha = 'e3'.repeat(32);
/** A UTC day this many days from now (the gateway runs on the real clock). */
const dayFromNow = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

async function createUser(name: string, roles: string[]): Promise<void> {
  keys[name] = (await createUserWithKey(gw, name, roles)).key;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly requestId: string;
}

async function call(method: 'GET' | 'POST' | 'PUT', path: string, key: string | undefined, body?: unknown, raw?: string): Promise<Answer> {
  const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}/admin/api/vendors${path}`, {
    method,
    dispatcher: gw.dispatcher,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { body: raw ?? JSON.stringify(body ?? {}) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>, requestId: String(response.headers['x-request-id']) };
}

const admin = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => call(method, path, gw.apiKey, body);
const code = (answer: Answer): unknown => (answer.body.error as { code?: string } | undefined)?.code;

async function auditOf(requestId: string): Promise<Record<string, unknown>[]> {
  const rows = await gw.gateway.store.db.selectFrom('audit_events').select('body').where('request_id', '=', requestId).orderBy('seq').execute();
  return rows.map((row) => JSON.parse(row.body) as Record<string, unknown>);
}

const signature = (overrides: Record<string, unknown> = {}) => ({
  effectiveDate: '2026-01-01',
  expiryDate: dayFromNow(800),
  documentRef: 'contracts://legal/openai-baa-7781',
  documentSha256: sha,
  coveredServices: ['api-enterprise'],
  zeroDataRetention: true,
  noTrainingOnCustomerData: true,
  dataResidency: ['us'],
  ...overrides,
});

beforeAll(async () => {
  gw = await startTestGateway({
    env: { OPENAI_KEY: 'sk-test' },
    config: {
      endpoints: [
        { id: 'echo', kind: 'echo', models: [{ name: 'echo', capabilities: ['chat', 'embeddings'] }] },
        { id: 'oai-us', kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'env:OPENAI_KEY', vendor: 'openai', service: 'api-enterprise', region: 'us-east-1', models: [{ name: 'gpt-4o' }] },
      ],
    },
  });
  await createUser('doc', ['physician']);
  await createUser('chair', ['cmio']);
  await createUser('privacy', ['privacy_officer']);
}, 60_000);
afterAll(() => gw?.close());

describe('vendor registry admin API', () => {
  it('lists the seeded catalogue, every BAA unsigned', async () => {
    const answer = await admin('GET', '');
    expect(answer.status).toBe(200);
    const data = answer.body.data as { id: string; baa: { status: string }; version: number }[];
    expect(data.map((v) => v.id)).toEqual(catalogueVendors.map((v) => v.id).sort());
    expect(data.every((v) => v.baa.status === 'not_signed' && v.version === 1)).toBe(true);
    expect(await auditOf(answer.requestId)).toEqual([expect.objectContaining({ type: 'vendor.list', outcome: 'success', change: { count: catalogueVendors.length } })]);
  });

  it('records a BAA, shows coverage with the configured endpoint, amends it, and refuses a stale version', async () => {
    const revision = await readRegistryRevision(gw.gateway.store.db);
    const signed = await call('POST', '/openai/baa', keys.privacy, { ...signature(), version: 1 });
    expect(signed.status).toBe(200);
    expect(signed.body).toMatchObject({ id: 'openai', version: 2, baa: { status: 'signed', coveredServices: ['api-enterprise'], recordedBy: expect.any(String) } });
    expect(await readRegistryRevision(gw.gateway.store.db)).toBe(revision + 1);

    const view = await call('GET', '/openai', keys.chair);
    expect(view.status).toBe(200);
    const services = view.body.services as { serviceId: string; coverage: { covered: boolean; reason: string }; endpoints: Record<string, unknown>[] }[];
    expect(services.find((s) => s.serviceId === 'api-enterprise')).toMatchObject({
      coverage: { covered: true, reason: 'covered' },
      endpoints: [{ id: 'oai-us', kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', region: 'us-east-1', models: ['gpt-4o'], selfHosted: false, residency: 'inside' }],
    });
    expect(services.find((s) => s.serviceId === 'chatgpt-consumer')?.coverage.reason).toBe('never_eligible');

    const amended = await admin('POST', '/openai/baa', { amend: true, expiryDate: dayFromNow(700), version: 2 });
    expect(amended.status).toBe(200);
    expect(amended.body).toMatchObject({ version: 3, baa: { expiryDate: dayFromNow(700), documentRef: 'contracts://legal/openai-baa-7781' } });
    const stale = await admin('POST', '/openai/baa', { amend: true, expiryDate: dayFromNow(600), version: 2 });
    expect([stale.status, code(stale)]).toEqual([409, 'vendor_version_conflict']);
    expect(await auditOf(stale.requestId)).toEqual([expect.objectContaining({ type: 'vendor.baa_amend', outcome: 'denied', errorCode: 'vendor_version_conflict', vendor: 'openai' })]);

    const events = [...(await auditOf(signed.requestId)), ...(await auditOf(amended.requestId)), ...(await auditOf(view.requestId))];
    expect(events.map((e) => [e.type, e.outcome])).toEqual([['vendor.baa_sign', 'success'], ['vendor.baa_amend', 'success'], ['vendor.read', 'success']]);
    expect(JSON.stringify(events)).not.toContain('contracts://');
  });

  it('refuses impossible records and bad input with typed errors, each audited', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/openai/baa', signature({ coveredServices: ['chatgpt-consumer'] }), 422, 'vendor_service_not_eligible'],
      ['/openai/baa', signature({ coveredServices: ['sora'] }), 422, 'vendor_service_unknown'],
      ['/openai/baa', signature({ effectiveDate: '2026-06-01', expiryDate: '2026-05-01' }), 422, 'baa_dates_invalid'],
      ['/openai/baa', signature({ documentSha256: 'not-a-hash' }), 400, 'invalid_request'],
      ['/openai/baa', { ...signature(), version: 'two' }, 400, 'invalid_request'],
      ['/openai/baa/terminate', { reason: 'because' }, 400, 'invalid_request'],
      ['/nobody/baa', signature(), 404, 'vendor_not_found'],
      ['/vapi/baa/terminate', { reason: 'other' }, 409, 'baa_not_signed'],
    ];
    for (const [path, body, status, errorCode] of cases) {
      const answer = await admin('POST', path, body);
      expect({ path, status: answer.status, code: code(answer) }).toEqual({ path, status, code: errorCode });
      expect(await auditOf(answer.requestId)).toEqual([expect.objectContaining({ outcome: 'denied', stage: 'refused', status, errorCode })]);
    }
    const notJson = await call('POST', '/openai/baa', gw.apiKey, undefined, '{"effectiveDate":');
    expect([notJson.status, code(notJson)]).toEqual([400, 'invalid_json']);
    expect(await auditOf(notJson.requestId)).toEqual([expect.objectContaining({ type: 'vendor.baa_sign', outcome: 'denied' })]);
    const array = await call('PUT', '/openai/subprocessors', gw.apiKey, undefined, '[1,2]');
    expect([array.status, code(array)]).toEqual([400, 'invalid_request']);
    const badDays = await admin('GET', '/expiring?days=soon');
    expect([badDays.status, code(badDays)]).toEqual([400, 'invalid_request']);
    expect(await auditOf(badDays.requestId)).toEqual([expect.objectContaining({ type: 'vendor.expiring_list', outcome: 'denied' })]);
  });

  it('checks permissions by role, and audits refusals (unauthenticated ones too)', async () => {
    const physician = await call('GET', '', keys.doc);
    expect([physician.status, code(physician)]).toEqual([403, 'permission_denied']);
    expect(await auditOf(physician.requestId)).toEqual([expect.objectContaining({ type: 'vendor.list', outcome: 'denied', actor: expect.objectContaining({ roles: ['physician'] }) })]);
    const chairWrite = await call('POST', '/anthropic/baa', keys.chair, signature());
    expect([chairWrite.status, code(chairWrite)]).toEqual([403, 'permission_denied']);
    const anonymous = await call('GET', '/openai', undefined);
    expect([anonymous.status, code(anonymous)]).toEqual([401, 'unauthenticated']);
    expect(await auditOf(anonymous.requestId)).toEqual([expect.objectContaining({ type: 'vendor.read', outcome: 'denied', errorCode: 'unauthenticated', vendor: 'openai' })]);
    expect((await call('GET', '/anthropic', keys.chair)).status).toBe(200);
  });

  it('records subprocessors, adds a custom vendor, lists expiring BAAs and terminates', async () => {
    const subs = await admin('PUT', '/openai/subprocessors', { subprocessors: [{ name: 'Cloud Host', services: ['api-enterprise'], baa: { status: 'not_signed' } }] });
    expect(subs.status).toBe(200);
    const blocked = await admin('GET', '/openai');
    expect((blocked.body.services as { serviceId: string; coverage: { reason: string } }[])[0]?.coverage.reason).toBe('subprocessor_not_covered');
    await admin('PUT', '/openai/subprocessors', { subprocessors: [{ name: 'Cloud Host', baa: { status: 'signed', expiryDate: dayFromNow(20) } }] });

    const created = await call('POST', '', keys.privacy, { id: 'scribe-co', legalName: 'Scribe Co LLC', services: [{ id: 'ambient', name: 'Ambient scribe', category: 'transcription', eligibility: 'baa_available' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'scribe-co', catalogue: false, version: 1, baa: { status: 'not_signed' } });
    expect(code(await call('POST', '', keys.privacy, { id: 'google', legalName: 'Not Google', services: [{ id: 'x', name: 'x', category: 'llm', eligibility: 'none' }] }))).toBe('vendor_exists');

    const soon = await admin('GET', '/expiring');
    expect(soon.status).toBe(200);
    expect(soon.body).toEqual({ days: 30, data: [{ vendorId: 'openai', kind: 'subprocessor', subprocessor: 'Cloud Host', expiryDate: dayFromNow(20), daysToExpiry: 20 }] });
    const later = await admin('GET', '/expiring?days=3660');
    expect((later.body.data as { kind: string; expiryDate: string }[]).map((e) => [e.kind, e.expiryDate])).toEqual([
      ['subprocessor', dayFromNow(20)],
      ['vendor', dayFromNow(700)],
    ]);

    const terminated = await call('POST', '/openai/baa/terminate', keys.privacy, { reason: 'contract_ended' });
    expect(terminated.status).toBe(200);
    expect(terminated.body).toMatchObject({ baa: { status: 'terminated' } });
    const after = await admin('GET', '/openai');
    expect((after.body.services as { coverage: { reason: string } }[])[0]?.coverage.reason).toBe('baa_terminated');
    expect(await auditOf(terminated.requestId)).toEqual([expect.objectContaining({ type: 'vendor.baa_terminate', change: expect.objectContaining({ reason: 'contract_ended', status: 'terminated' }) })]);
  });
});
