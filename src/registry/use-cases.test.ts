// SPDX-License-Identifier: Apache-2.0
// The use-case service on a real SQLite store with a fixed clock: the whole lifecycle, the
// committee rules, go-live checks, rollback, optimistic concurrency, and what the audit log holds.
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccessPolicy } from '../access/rbac.js';
import type { UseCaseAuditEvent } from './use-cases.js';
import { createAuditWriter, type AuditWriter } from '../audit/writer.js';
import { createMemoryAuditSink, type MemoryAuditSink } from '../audit/testing/memory-sink.js';
import { isGatewayError } from '../kernel/errors.js';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { readRegistryRevision } from '../store/repos/vendor-repo.js';
import type { Database } from '../store/schema.js';
import { defaultCommittee } from './governance-config.js';
import { createRegistryView } from './registry-store.js';
import { adminSpec, cdsSpec } from './testing/registry-fixtures.js';
import { createUseCaseService, type UseCaseActor, type UseCaseRequest, type UseCaseService } from './use-cases.js';

let db: Kysely<Database>;
let sink: MemoryAuditSink;
let audit: AuditWriter;
let service: UseCaseService;
let clock: number;

const actor = (userId: string, roles: string[], kind: UseCaseActor['kind'] = 'user'): UseCaseRequest => ({
  actor: { userId, kind, roles, authMethod: 'api_key' },
  requestId: `req-${userId}`,
});
const admin = actor('u-admin', ['admin']);
const admin2 = actor('u-admin2', ['admin']);
const cmio = actor('u-cmio', ['cmio']);
const ciso = actor('u-ciso', ['security_officer']);
const privacy = actor('u-po', ['privacy_officer']);
const champion = actor('u-champ', ['clinical_champion']);

async function code(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    if (isGatewayError(err)) return { code: err.code, ...(err.detail ?? {}) };
    throw err;
  }
  return 'no error';
}

/** The audit events written so far, as their PHI-free summaries. */
async function events(): Promise<UseCaseAuditEvent[]> {
  await audit.drain();
  return sink.rows.map((r) => r.event as UseCaseAuditEvent);
}

async function approveAll(id: string, version: number, clinical = false): Promise<void> {
  for (const who of [cmio, ciso, privacy, ...(clinical ? [champion] : [])]) await service.approve(who, id, { version, reason: 'reviewed at committee' });
}

beforeEach(async () => {
  clock = 1_800_000_000_000;
  db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
  sink = createMemoryAuditSink();
  audit = await createAuditWriter({ sink, writeTimeoutMs: 2000 });
  service = createUseCaseService({ db, audit, clock: { now: () => (clock += 1000) }, instanceId: 'test', policy: createAccessPolicy(), committee: defaultCommittee });
});

afterEach(async () => {
  await audit.drain();
  await db.destroy();
});

describe('use-case lifecycle', () => {
  it('create → submit → committee approval → live, with risk shown and every step audited', async () => {
    const created = await service.create(admin, { id: 'pa-letters', spec: adminSpec(), reason: 'pilot in revenue cycle' });
    expect(created).toMatchObject({ id: 'pa-letters', state: 'draft', liveVersion: null, version: 1, risk: { derived: 'low', effective: 'low' } });
    expect(created.versions[0]).toMatchObject({ number: 1, state: 'draft', createdBy: 'u-admin', committee: { status: 'pending', required: ['chair', 'security', 'privacy'] } });

    await service.submit(admin, 'pa-letters', { reason: 'ready for committee' });
    await service.approve(cmio, 'pa-letters', { version: 1, reason: 'fits the AI strategy' });
    await service.approve(ciso, 'pa-letters', { version: 1, reason: 'no PHI leaves' });
    const approved = await service.approve(privacy, 'pa-letters', { version: 1, reason: 'minimum necessary met' });
    expect(approved.state).toBe('approved');
    expect(approved.versions[0]?.approvedAt).toBe(approved.versions[0]?.approvals[2]?.at);
    expect(approved.versions[0]).toMatchObject({ state: 'approved', committee: { status: 'approved', filled: { chair: 'u-cmio', security: 'u-ciso', privacy: 'u-po' }, missing: [] } });
    expect(approved.versions[0]?.approvals.map((a) => [a.seat, a.role, a.userId, a.decision, a.reason])).toEqual([
      ['chair', 'cmio', 'u-cmio', 'approve', 'fits the AI strategy'],
      ['security', 'security_officer', 'u-ciso', 'approve', 'no PHI leaves'],
      ['privacy', 'privacy_officer', 'u-po', 'approve', 'minimum necessary met'],
    ]);

    const live = await service.goLive(admin, 'pa-letters', { reason: 'committee approved 2027-01-15' });
    expect(live).toMatchObject({ state: 'live', liveVersion: 1 });

    const history = await service.history(admin, 'pa-letters');
    expect(history.map((h) => [h.action, h.fromState, h.toState, h.version, h.actor])).toEqual([
      ['create', null, 'draft', 1, 'u-admin'],
      ['submit', 'draft', 'submitted', 1, 'u-admin'],
      ['approve', 'submitted', 'submitted', 1, 'u-cmio'],
      ['approve', 'submitted', 'submitted', 1, 'u-ciso'],
      ['approve', 'submitted', 'approved', 1, 'u-po'],
      ['golive', 'approved', 'live', 1, 'u-admin'],
    ]);
    expect(history[5]?.reason).toBe('committee approved 2027-01-15');

    const written = await events();
    expect(written.map((e) => e.type)).toEqual([
      'usecase.create', 'usecase.submit', 'usecase.approve', 'usecase.approve', 'usecase.approve', 'usecase.golive', 'usecase.read',
    ]);
    expect(written[4]).toMatchObject({ useCase: 'pa-letters', outcome: 'success', actor: { userId: 'u-po' }, change: { version: 1, seat: 'privacy', decision: 'approve', committee: 'approved', fromState: 'submitted', toState: 'approved' } });
    // Reasons live in the registry tables, never in the audit log.
    const text = JSON.stringify(written);
    for (const reason of ['pilot in revenue cycle', 'fits the AI strategy', 'minimum necessary met', 'committee approved']) expect(text).not.toContain(reason);
  });

  it('a clinical use case needs the clinical champion; the submitter and a second seat holder cannot approve', async () => {
    await service.create(admin, { id: 'ddx', spec: cdsSpec() });
    await service.submit(actor('u-cmio', ['cmio', 'admin']), 'ddx', { reason: 'submitted by the chair' });
    // The chair submitted, so the chair cannot approve it.
    expect(await code(service.approve(cmio, 'ddx', { version: 1, reason: 'x' }))).toEqual({ code: 'use_case_approval_refused', rule: 'submitter_cannot_decide' });
    await service.approve(actor('u-cmio2', ['cmio']), 'ddx', { version: 1, reason: 'ok' });
    await service.approve(ciso, 'ddx', { version: 1, reason: 'ok' });
    await service.approve(privacy, 'ddx', { version: 1, reason: 'ok' });
    // A person holding two seat roles fills only one seat.
    expect(await code(service.approve(actor('u-po', ['privacy_officer', 'clinical_champion']), 'ddx', { version: 1, reason: 'again' }))).toEqual({ code: 'use_case_approval_refused', rule: 'already_decided' });
    expect(await code(service.approve(actor('u-cmio3', ['cmio']), 'ddx', { version: 1, reason: 'x' }))).toEqual({ code: 'use_case_approval_refused', rule: 'seat_filled' });
    expect((await service.get(admin, 'ddx')).versions[0]?.committee).toMatchObject({ status: 'pending', missing: ['clinical_champion'] });
    const done = await service.approve(champion, 'ddx', { version: 1, reason: 'clinically sound' });
    expect(done).toMatchObject({ state: 'approved', risk: { derived: 'medium', effective: 'medium' } });
  });

  it('checks permissions by exact name and refuses service accounts on the committee, auditing each refusal', async () => {
    expect(await code(service.create(cmio, { id: 'x', spec: adminSpec() }))).toEqual({ code: 'permission_denied', permission: 'admin:usecases.manage' });
    await service.create(admin, { id: 'x', spec: adminSpec() });
    await service.submit(admin, 'x', { reason: 'go' });
    expect(await code(service.approve(admin, 'x', { version: 1, reason: 'self' }))).toEqual({ code: 'permission_denied', permission: 'admin:usecases.approve' });
    expect(await code(service.approve(actor('svc', ['cmio'], 'service'), 'x', { version: 1, reason: 'bot' }))).toEqual({ code: 'use_case_approval_refused', rule: 'people_only' });
    expect(await code(service.list(actor('u-nurse', ['nurse'])))).toEqual({ code: 'permission_denied', permission: 'admin:registry.read' });
    const refused = (await events()).filter((e) => e.outcome === 'denied');
    expect(refused.map((e) => [e.type, e.errorCode, e.status, e.stage])).toEqual([
      ['usecase.create', 'permission_denied', 403, 'refused'],
      ['usecase.approve', 'permission_denied', 403, 'refused'],
      ['usecase.approve', 'use_case_approval_refused', 403, 'refused'],
      ['usecase.list', 'permission_denied', 403, 'refused'],
    ]);
  });

  it('any rejection rejects the version and sends a first submission back to draft', async () => {
    await service.create(admin, { id: 'x', spec: adminSpec() });
    await service.submit(admin, 'x', { reason: 'go' });
    await service.approve(cmio, 'x', { version: 1, reason: 'ok' });
    const rejected = await service.reject(privacy, 'x', { version: 1, reason: 'retention terms unclear' });
    expect(rejected).toMatchObject({ state: 'draft', versions: [{ state: 'rejected', committee: { status: 'rejected' } }] });
    expect(await code(service.approve(ciso, 'x', { version: 1, reason: 'late' }))).toMatchObject({ code: 'use_case_invalid_transition', from: 'rejected' });
    expect(await code(service.submit(admin, 'x', { version: 1, reason: 'again' }))).toMatchObject({ code: 'use_case_invalid_transition', from: 'rejected', to: 'submitted' });
    const v2 = await service.propose(admin, 'x', { spec: adminSpec({ inferenceLogRetentionDays: 0, purposes: ['COVAUTH', 'HPAYMT'] }), reason: 'address retention' });
    expect(v2.versions.map((v) => [v.number, v.state])).toEqual([[1, 'rejected'], [2, 'draft']]);
  });

  it('a change is a new version: the live one serves until the new one is approved and taken live', async () => {
    const view = createRegistryView(db);
    await service.create(admin, { id: 'x', spec: adminSpec() });
    await service.submit(admin, 'x', { reason: 'go' });
    await approveAll('x', 1);
    await service.goLive(admin, 'x', { reason: 'go' });
    expect((await view.snapshot()).liveUseCase('x')).toMatchObject({ version: 1, spec: { roles: ['care_coordinator'] } });

    expect(await code(service.propose(admin, 'x', { spec: adminSpec(), reason: 'same' }))).toEqual({ code: 'invalid_request', reason: 'no_change', baseVersion: 1 });
    await service.propose(admin, 'x', { spec: adminSpec({ roles: ['care_coordinator', 'coder'] }), reason: 'coders too' });
    // A second proposal supersedes the unsubmitted draft.
    const v3 = await service.propose(admin, 'x', { spec: adminSpec({ roles: ['care_coordinator', 'coder'], purposes: ['COVAUTH', 'HPAYMT'] }), reason: 'and billing' });
    expect(v3.versions.map((v) => [v.number, v.state])).toEqual([[1, 'approved'], [2, 'superseded'], [3, 'draft']]);
    expect(v3).toMatchObject({ state: 'live', liveVersion: 1 });
    expect((await view.snapshot()).liveUseCase('x')?.version).toBe(1);

    await service.submit(admin, 'x', { reason: 'go' });
    expect(await code(service.goLive(admin, 'x', { version: 3, reason: 'too early' }))).toMatchObject({ code: 'use_case_invalid_transition', from: 'submitted' });
    await approveAll('x', 3);
    expect((await view.snapshot()).liveUseCase('x')?.version).toBe(1);
    const switched = await service.goLive(admin, 'x', { reason: 'committee approved v3' });
    expect(switched).toMatchObject({ state: 'live', liveVersion: 3 });
    expect(switched.versions.map((v) => [v.number, v.state])).toEqual([[1, 'superseded'], [2, 'superseded'], [3, 'approved']]);
    expect((await view.snapshot()).liveUseCase('x')).toMatchObject({ version: 3, spec: { purposes: ['COVAUTH', 'HPAYMT'] } });

    const propose = (await events()).find((e) => e.type === 'usecase.propose' && e.change?.version === 3);
    expect(propose?.change).toMatchObject({ baseVersion: 2, changedFields: ['purposes'], supersededVersions: ['2'] });
  });

  it('rolls back one step to the last approved version, and no further than there is one', async () => {
    await service.create(admin, { id: 'x', spec: adminSpec() });
    await service.submit(admin, 'x', { reason: 'go' });
    await approveAll('x', 1);
    await service.goLive(admin, 'x', { reason: 'go' });
    expect(await code(service.rollback(admin, 'x', { reason: 'nothing to go back to' }))).toMatchObject({ code: 'use_case_invalid_transition', problem: 'no_earlier_approved_version' });
    await service.propose(admin, 'x', { spec: adminSpec({ models: [{ name: 'acme-large', upstream: 'acme-large-2025-09-01' }] }), reason: 'new model pin' });
    await service.submit(admin, 'x', { reason: 'go' });
    await approveAll('x', 2);
    await service.goLive(admin, 'x', { reason: 'go' });
    const back = await service.rollback(admin, 'x', { reason: 'new pin drifts on letters' });
    expect(back).toMatchObject({ state: 'live', liveVersion: 1 });
    expect(back.versions.map((v) => [v.number, v.state])).toEqual([[1, 'approved'], [2, 'superseded']]);
    const snapshot = await createRegistryView(db).snapshot();
    expect(snapshot.liveUseCase('x')?.spec.models).toEqual([{ name: 'acme-large', upstream: 'acme-large-2025-06-01' }]);
    expect((await events()).find((e) => e.type === 'usecase.rollback' && e.outcome === 'success')?.change).toMatchObject({ version: 1, previousLiveVersion: 2, changedFields: ['models'] });
  });

  it('suspends, resumes and retires; retired is final', async () => {
    await service.create(admin, { id: 'x', spec: adminSpec() });
    expect(await code(service.suspend(admin, 'x', { reason: 'x' }))).toMatchObject({ code: 'use_case_invalid_transition', from: 'draft', to: 'suspended' });
    await service.submit(admin, 'x', { reason: 'go' });
    await approveAll('x', 1);
    await service.goLive(admin, 'x', { reason: 'go' });
    const view = createRegistryView(db);
    expect((await service.suspend(admin, 'x', { reason: 'incident 42 under review' })).state).toBe('suspended');
    expect((await view.snapshot()).liveUseCase('x')).toBeUndefined();
    expect((await view.snapshot()).useCaseState('x')).toBe('suspended');
    expect((await service.resume(admin, 'x', { reason: 'incident closed' })).state).toBe('live');
    expect((await view.snapshot()).liveUseCase('x')?.version).toBe(1);
    expect((await service.retire(admin, 'x', { reason: 'replaced by vendor feature' })).state).toBe('retired');
    expect((await view.snapshot()).liveUseCase('x')).toBeUndefined();
    expect(await code(service.resume(admin, 'x', { reason: 'x' }))).toMatchObject({ code: 'use_case_invalid_transition', from: 'retired' });
    expect(await code(service.propose(admin, 'x', { spec: adminSpec({ roles: ['coder'] }), reason: 'x' }))).toMatchObject({ code: 'use_case_invalid_transition', from: 'retired' });
    expect(await code(service.suspend(admin, 'x', { reason: '   ' }))).toMatchObject({ code: 'invalid_request', field: 'reason', problem: 'required' });
  });

  it('go-live checks: decision support needs its assessment and HTI-1 source attributes', async () => {
    await service.create(admin, { id: 'ddx', spec: cdsSpec({ regulatory: {}, sourceAttributes: undefined }) });
    await service.submit(admin, 'ddx', { reason: 'go' });
    await approveAll('ddx', 1, true);
    expect(await code(service.goLive(admin, 'ddx', { reason: 'go' }))).toEqual({ code: 'use_case_go_live_blocked', problems: ['regulatory_assessment_required', 'source_attributes_required'] });
    expect((await service.get(admin, 'ddx')).state).toBe('approved');

    await service.create(admin, { id: 'auto', spec: cdsSpec({ classification: 'autonomous_clinical_action', regulatory: {} }) });
    await service.submit(admin, 'auto', { reason: 'go' });
    await approveAll('auto', 1, true);
    expect(await code(service.goLive(admin, 'auto', { reason: 'go' }))).toEqual({ code: 'use_case_go_live_blocked', problems: ['fda_clearance_required'] });
    expect((await service.get(admin, 'auto')).risk).toEqual({ derived: 'high', effective: 'high' });
  });

  it('shows a risk override with its justification on every read', async () => {
    const justification = 'Outputs are reviewed by two coders before any claim is filed.';
    await service.create(admin, { id: 'x', spec: adminSpec({ deploymentPattern: 'baa_covered', riskOverride: { level: 'low', justification } }) });
    const expected = { derived: 'medium', effective: 'low', override: { level: 'low', justification } };
    expect((await service.get(admin, 'x')).risk).toEqual(expected);
    expect((await service.list(admin))[0]?.risk).toEqual(expected);
    expect((await service.get(admin, 'x')).versions[0]?.risk).toEqual(expected);
  });

  it('refuses bad input with typed errors naming fields, never values', async () => {
    expect(await code(service.create(admin, { id: 'Bad Id!', spec: adminSpec() }))).toMatchObject({ code: 'invalid_request', field: 'id' });
    const bad = await code(service.create(admin, { id: 'x', spec: { ...adminSpec(), classification: 'secret-plan-for-Jane-Doe' } }));
    expect(bad).toMatchObject({ code: 'invalid_request' });
    expect(JSON.stringify(bad)).not.toContain('Jane');
    expect(await code(service.get(admin, 'missing'))).toEqual({ code: 'use_case_not_found', useCase: 'missing' });
    await service.create(admin, { id: 'x', spec: adminSpec() });
    expect(await code(service.create(admin, { id: 'x', spec: adminSpec() }))).toEqual({ code: 'use_case_exists', useCase: 'x' });
    expect(await code(service.approve(cmio, 'x', { version: 7, reason: 'x' }))).toEqual({ code: 'use_case_version_not_found', useCase: 'x', version: 7 });
    // The refusal of a malformed id is audited without the id.
    const refused = (await events()).find((e) => e.type === 'usecase.create' && e.outcome === 'denied');
    expect(refused?.useCase).toBeUndefined();
    expect(JSON.stringify(refused)).not.toContain('Bad Id');
  });

  it('optimistic concurrency: a write naming an old version is refused, and the registry revision moves once per change', async () => {
    const created = await service.create(admin, { id: 'x', spec: adminSpec() });
    const revision = await readRegistryRevision(db);
    await service.propose(admin, 'x', { spec: adminSpec({ roles: ['coder'] }), reason: 'a', expectedVersion: created.version });
    expect(await readRegistryRevision(db)).toBe(revision + 1);
    expect(await code(service.propose(admin2, 'x', { spec: adminSpec({ roles: ['scheduler'] }), reason: 'b', expectedVersion: created.version }))).toEqual({
      code: 'use_case_version_conflict', useCase: 'x', expectedVersion: 1, currentVersion: 2,
    });
    expect(await readRegistryRevision(db)).toBe(revision + 1);
    // Two concurrent writers on the same read: one wins, the other is refused.
    const results = await Promise.allSettled([
      service.submit(admin, 'x', { reason: 'a', expectedVersion: 2 }),
      service.retire(admin2, 'x', { reason: 'b', expectedVersion: 2 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
