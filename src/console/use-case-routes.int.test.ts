// SPDX-License-Identifier: Apache-2.0
// The use-case admin API and registry import/export through the real gateway (HTTPS, SQLite,
// API keys per role): the lifecycle by the right people, refusals by the wrong ones, and an
// audit record for every call, refusals included.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createRegistryView } from '../registry/registry-store.js';
import { adminSpec } from '../registry/testing/registry-fixtures.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { createUserWithKey } from '../../test/support/registry-admin.js';

let gw: TestGateway;
const keys: Record<string, string> = {};
const ids: Record<string, string> = {};

async function createUser(name: string, roles: string[]): Promise<void> {
  const { id, key } = await createUserWithKey(gw, name, roles);
  keys[name] = key;
  ids[name] = id;
}

/** The parts of answers the tests read. */
interface Body {
  readonly state?: string;
  readonly versions?: readonly { readonly number: number; readonly state: string }[];
  readonly data?: readonly { readonly action?: string }[];
  readonly error?: { readonly code: string; readonly detail?: unknown };
  readonly widening?: unknown;
  readonly [key: string]: unknown;
}

async function call(path: string, key: string | undefined, body?: unknown, method: 'GET' | 'POST' = body === undefined ? 'GET' : 'POST') {
  const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}${path}`, {
    method,
    dispatcher: gw.dispatcher,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.body.text();
  const type = String(response.headers['content-type']);
  return {
    status: response.statusCode,
    type,
    text,
    body: (type.startsWith('application/json') && text !== '' ? JSON.parse(text) : {}) as Body,
    requestId: String(response.headers['x-request-id']),
  };
}

async function auditOf(requestId: string) {
  const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['body']).where('request_id', '=', requestId).orderBy('seq').execute();
  return rows.map((row) => JSON.parse(row.body) as { type: string; outcome: string; errorCode?: string; useCase?: string; change?: Record<string, unknown> });
}

beforeAll(async () => {
  gw = await startTestGateway();
  await createUser('cmio', ['cmio']);
  await createUser('ciso', ['security_officer']);
  await createUser('privacy', ['privacy_officer']);
  await createUser('nurse', ['nurse']);
});

afterAll(async () => {
  await gw.close();
});

describe('use-case admin API', () => {
  it('runs the lifecycle with the right people and audits each step', async () => {
    const created = await call('/admin/api/use-cases', gw.apiKey, { id: 'pa-letters', spec: adminSpec(), reason: 'pilot' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'pa-letters', state: 'draft', version: 1, risk: { derived: 'low', effective: 'low' } });
    expect((await auditOf(created.requestId)).map((e) => [e.type, e.outcome, e.useCase])).toEqual([['usecase.create', 'success', 'pa-letters']]);

    const proposed = await call('/admin/api/use-cases/pa-letters/versions', gw.apiKey, { spec: adminSpec({ roles: ['care_coordinator', 'coder'] }), reason: 'coders too', expectedVersion: 1 });
    expect(proposed.status).toBe(201);
    expect(proposed.body.versions?.map((v) => [v.number, v.state])).toEqual([[1, 'superseded'], [2, 'draft']]);
    expect((await call('/admin/api/use-cases/pa-letters/submit', gw.apiKey, { reason: 'ready' })).body.state).toBe('submitted');

    for (const who of ['cmio', 'ciso', 'privacy']) {
      const res = await call('/admin/api/use-cases/pa-letters/approve', keys[who], { version: 2, reason: 'committee 2026-03' });
      expect(res.status, who).toBe(200);
    }
    const live = await call('/admin/api/use-cases/pa-letters/go-live', gw.apiKey, { reason: 'approved' });
    expect(live.body).toMatchObject({ state: 'live', liveVersion: 2 });

    const got = await call('/admin/api/use-cases/pa-letters', keys.cmio);
    expect(got.body.versions?.[1]).toMatchObject({ state: 'approved', committee: { status: 'approved', missing: [] }, risk: { effective: 'low' } });
    expect((await auditOf(got.requestId)).map((e) => e.type)).toEqual(['usecase.read']);
    const list = await call('/admin/api/use-cases', keys.privacy);
    expect(list.body.data).toMatchObject([{ id: 'pa-letters', state: 'live', liveVersion: 2, risk: { effective: 'low' } }]);
    const history = await call('/admin/api/use-cases/pa-letters/history', gw.apiKey);
    expect(history.body.data?.map((h) => h.action)).toEqual(['create', 'propose', 'submit', 'approve', 'approve', 'approve', 'golive']);

    // A registry view over the gateway's store sees the live version on its next snapshot.
    expect((await createRegistryView(gw.gateway.store.db).snapshot()).liveUseCase('pa-letters')).toMatchObject({ version: 2 });

    expect((await call('/admin/api/use-cases/pa-letters/suspend', gw.apiKey, { reason: 'incident review' })).body.state).toBe('suspended');
    expect((await call('/admin/api/use-cases/pa-letters/resume', gw.apiKey, { reason: 'closed' })).body.state).toBe('live');
    const rollback = await call('/admin/api/use-cases/pa-letters/rollback', gw.apiKey, { reason: 'x' });
    expect(rollback.status).toBe(409);
    expect(rollback.body.error).toMatchObject({ code: 'use_case_invalid_transition', detail: { problem: 'no_earlier_approved_version' } });
  });

  it('refuses the wrong people and bad input with typed errors, each audited', async () => {
    const anonymous = await call('/admin/api/use-cases', undefined);
    expect(anonymous.status).toBe(401);
    expect((await auditOf(anonymous.requestId)).map((e) => [e.type, e.outcome, e.errorCode])).toEqual([['usecase.list', 'denied', 'unauthenticated']]);

    const nurse = await call('/admin/api/use-cases', keys.nurse, { id: 'x', spec: adminSpec() });
    expect([nurse.status, nurse.body.error?.code, nurse.body.error?.detail]).toEqual([403, 'permission_denied', { permission: 'admin:usecases.manage' }]);
    expect((await auditOf(nurse.requestId)).map((e) => [e.type, e.outcome, e.errorCode])).toEqual([['usecase.create', 'denied', 'permission_denied']]);

    const selfApproval = await call('/admin/api/use-cases/pa-letters/approve', gw.apiKey, { version: 2, reason: 'x' });
    expect([selfApproval.status, selfApproval.body.error?.code]).toEqual([403, 'permission_denied']);

    const badJson = await call('/admin/api/use-cases/pa-letters/suspend', gw.apiKey, '{not json');
    expect([badJson.status, badJson.body.error?.code]).toEqual([400, 'invalid_json']);
    expect((await auditOf(badJson.requestId)).map((e) => [e.type, e.errorCode])).toEqual([['usecase.suspend', 'invalid_json']]);

    const extra = await call('/admin/api/use-cases/pa-letters/suspend', gw.apiKey, { reason: 'x', patient: 'Patient/123' });
    expect(extra.body.error).toMatchObject({ code: 'invalid_request', detail: { field: '(body)' } });
    expect(extra.text).not.toContain('Patient/123');

    const missing = await call('/admin/api/use-cases/nope', gw.apiKey);
    expect([missing.status, missing.body.error?.code]).toEqual([404, 'use_case_not_found']);
    const badSpec = await call('/admin/api/use-cases', gw.apiKey, { id: 'bad', spec: { ...adminSpec(), classification: 'Jane Doe DOB 1970-01-01' } });
    expect([badSpec.status, badSpec.body.error?.code]).toEqual([400, 'invalid_request']);
    expect(badSpec.text).not.toContain('Jane');
    const conflict = await call('/admin/api/use-cases/pa-letters/suspend', gw.apiKey, { reason: 'x', expectedVersion: 1 });
    expect([conflict.status, conflict.body.error?.code]).toEqual([409, 'use_case_version_conflict']);
  });
});

describe('registry as code over the admin API', () => {
  it('exports YAML, imports it as a no-op, and refuses an unapproved widening', async () => {
    const exported = await call('/admin/api/registry/export', keys.privacy);
    expect(exported.status).toBe(200);
    expect(exported.type).toContain('application/yaml');
    expect((await auditOf(exported.requestId)).map((e) => e.type)).toEqual(['registry.export']);
    interface VersionDoc { number: number; state: string; spec: Record<string, unknown>; approvals: unknown[] }
    const doc = parse(exported.text) as { useCases: { id: string; liveVersion: number; versions: VersionDoc[] }[] };

    const same = await call('/admin/api/registry/import', gw.apiKey, { yaml: exported.text, dryRun: true });
    expect(same.body).toMatchObject({ dryRun: true, applied: false, diff: [], widening: [], problems: [] });

    const uc = doc.useCases.find((u) => u.id === 'pa-letters');
    if (!uc) throw new Error('missing use case');
    const last = uc.versions[uc.versions.length - 1] as VersionDoc;
    uc.versions[uc.versions.length - 1] = { ...last, state: 'superseded' };
    uc.versions.push({ ...last, number: last.number + 1, approvals: [], spec: { ...last.spec, vendors: ['acme-ai', 'other-ai'] } });
    uc.liveVersion = last.number + 1;
    const yaml = stringify(doc);
    const dry = await call('/admin/api/registry/import', keys.cmio, { yaml, dryRun: true });
    expect(dry.body.widening).toMatchObject([{ subject: 'use_case:pa-letters', rule: 'vendors_added', authorised: false }]);
    const refused = await call('/admin/api/registry/import', gw.apiKey, { yaml });
    expect([refused.status, refused.body.error?.code]).toEqual([403, 'registry_import_widening']);
    expect((await auditOf(refused.requestId)).map((e) => [e.type, e.outcome, e.errorCode, e.change?.unapprovedWidening])).toEqual([['registry.import', 'denied', 'registry_import_widening', 1]]);
    const byCmio = await call('/admin/api/registry/import', keys.cmio, { yaml });
    expect([byCmio.status, byCmio.body.error?.code]).toEqual([403, 'permission_denied']);
  });
});
