// SPDX-License-Identifier: Apache-2.0
// Policy as code on a real SQLite store: export → import is a no-op; widening imports are refused
// without the approvals governance asks for and accepted with them; narrowing imports apply directly.
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createAccessPolicy } from '../access/rbac.js';
import { createMemoryAuditSink, type MemoryAuditSink } from '../audit/testing/memory-sink.js';
import { createAuditWriter, type AuditWriter } from '../audit/writer.js';
import { isGatewayError } from '../kernel/errors.js';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { createUserRepo, type UserRepo } from '../store/repos/user-repo.js';
import { createVendorRepo, readRegistryRevision } from '../store/repos/vendor-repo.js';
import type { Database } from '../store/schema.js';
import { defaultCommittee } from './governance-config.js';
import { createPolicyAsCode, formatImportPlan, type PolicyAsCode } from './policy-as-code.js';
import { createRegistryView } from './registry-store.js';
import { adminSpec, sampleVendor } from './testing/registry-fixtures.js';
import { createUseCaseService, type UseCaseAuditEvent, type UseCaseRequest, type UseCaseService } from './use-cases.js';
import { vendorSchema } from './vendor-spec.js';

let db: Kysely<Database>;
let sink: MemoryAuditSink;
let audit: AuditWriter;
let users: UserRepo;
let service: UseCaseService;
let pac: PolicyAsCode;
let clock: number;

const req = (userId: string, roles: string[]): UseCaseRequest => ({ actor: { userId, kind: 'user', roles, authMethod: 'cli' }, requestId: `r-${userId}` });
const admin = req('u-admin', ['admin']);
const cmio = req('u-cmio', ['cmio']);
const ciso = req('u-ciso', ['security_officer']);
const privacy = req('u-po', ['privacy_officer']);

/** The parts of an exported document the tests edit. */
interface VersionDoc {
  number: number;
  state: string;
  spec: Record<string, unknown> & { roles?: string[]; data?: Record<string, unknown> };
  approvals: unknown[];
  [key: string]: unknown;
}
interface VendorDoc {
  legalName: string;
  baa: Record<string, unknown>;
  [key: string]: unknown;
}
interface Doc {
  vendors: VendorDoc[];
  useCases: { id: string; state: string; liveVersion: number | null; versions: VersionDoc[] }[];
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; detail: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    if (isGatewayError(err)) return { code: err.code, detail: { ...(err.detail ?? {}) } };
    throw err;
  }
  throw new Error('expected a refusal');
}

beforeEach(async () => {
  clock = Date.parse('2026-03-01T09:00:00Z');
  db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
  sink = createMemoryAuditSink();
  audit = await createAuditWriter({ sink, writeTimeoutMs: 2000 });
  users = createUserRepo(db);
  for (const [id, roles] of [['u-admin', ['admin']], ['u-cmio', ['cmio']], ['u-ciso', ['security_officer']], ['u-po', ['privacy_officer']], ['u-nurse', ['nurse']]] as const) {
    await users.create({ id, name: id, roles: [...roles], kind: 'user' });
  }
  const common = { db, audit, clock: { now: () => (clock += 1000) }, instanceId: 'test', policy: createAccessPolicy(), committee: defaultCommittee };
  service = createUseCaseService(common);
  pac = createPolicyAsCode({ ...common, users });

  await createVendorRepo(db).upsert(vendorSchema.parse(sampleVendor({ baa: { ...(sampleVendor().baa as object), recordedBy: 'u-po', recordedAt: '2025-01-02T10:00:00Z' }, subprocessors: [{ name: 'Cloudy Hosting', baa: { status: 'signed' } }] })), 0);
  await service.create(admin, { id: 'pa-letters', spec: adminSpec(), reason: 'pilot' });
  await service.submit(admin, 'pa-letters', { reason: 'ready' });
  for (const who of [cmio, ciso, privacy]) await service.approve(who, 'pa-letters', { version: 1, reason: 'ok' });
  await service.goLive(admin, 'pa-letters', { reason: 'approved' });
  await service.create(admin, { id: 'drafty', spec: adminSpec({ name: 'A draft' }) });
});

afterEach(async () => {
  await audit.drain();
  await db.destroy();
});

const exported = async (): Promise<Doc> => parse(await pac.exportYaml(admin)) as Doc;
const live = (doc: Doc) => doc.useCases.find((u) => u.id === 'pa-letters') as Doc['useCases'][number];

/** Appends version 2 (a copy of version 1 with `changes`) and makes it the live one. */
function withNewLiveVersion(doc: Doc, changes: Record<string, unknown>, extra: Record<string, unknown> = {}): Doc {
  const uc = live(doc);
  const v1 = uc.versions[0] as VersionDoc;
  uc.versions[0] = { ...v1, state: 'superseded' };
  uc.versions.push({
    number: 2, state: 'approved', createdBy: 'u-admin', createdAt: '2026-03-02T10:00:00.000Z', reason: 'widen', submittedBy: 'u-admin', submittedAt: '2026-03-02T10:00:00.000Z',
    spec: { ...v1.spec, ...changes }, approvals: [], ...extra,
  });
  uc.liveVersion = 2;
  return doc;
}

const approvals = (roles: [string, string, string][]) => roles.map(([userId, seat, role]) => ({ userId, seat, role, decision: 'approve', reason: 'committee minutes 2026-03', at: '2026-03-02T12:00:00.000Z' }));
const fullCommittee = approvals([['u-cmio', 'chair', 'cmio'], ['u-ciso', 'security', 'security_officer'], ['u-po', 'privacy', 'privacy_officer']]);

describe('registry export', () => {
  it('holds vendors with BAA and subprocessors, use cases with versions, states, approvals and risk, in a stable order', async () => {
    const text = await pac.exportYaml(admin);
    expect(await pac.exportYaml(admin)).toBe(text);
    expect(text.startsWith('apiVersion: phigate.io/v1\nkind: Registry\n')).toBe(true);
    const doc = parse(text) as Doc;
    expect(doc.vendors[0]).toMatchObject({ id: 'acme-ai', baa: { status: 'signed', coveredServices: ['acme-chat'], recordedBy: 'u-po' }, subprocessors: [{ name: 'Cloudy Hosting' }] });
    expect(doc.useCases.map((u) => [u.id, u.state, u.liveVersion])).toEqual([['drafty', 'draft', null], ['pa-letters', 'live', 1]]);
    expect(live(doc).versions[0]).toMatchObject({ number: 1, state: 'approved', risk: { derived: 'low', effective: 'low' }, submittedBy: 'u-admin' });
    expect((live(doc).versions[0]?.approvals as { seat: string }[]).map((a) => a.seat)).toEqual(['chair', 'security', 'privacy']);
    expect(Object.keys(live(doc).versions[0] as object).slice(0, 2)).toEqual(['number', 'state']);
  });

  it('export → import is a no-op diff that writes nothing', async () => {
    const text = await pac.exportYaml(admin);
    const revision = await readRegistryRevision(db);
    const dry = await pac.importYaml(admin, text, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, applied: false, diff: [], widening: [], problems: [] });
    const real = await pac.importYaml(admin, text);
    expect(real).toMatchObject({ applied: false, diff: [], revision });
    expect(await readRegistryRevision(db)).toBe(revision);
    expect(formatImportPlan(real)).toBe('no changes');
    expect(await pac.exportYaml(admin)).toBe(text);
  });
});

describe('registry import', () => {
  it('refuses a widening use-case change without committee approvals, and names the rule', async () => {
    const doc = withNewLiveVersion(await exported(), { roles: ['care_coordinator', 'coder'], data: { ...live(await exported()).versions[0]?.spec.data, freeText: true } });
    const text = stringify(doc);
    const dry = await pac.importYaml(admin, text, { dryRun: true });
    expect(dry.widening.map((w) => [w.subject, w.path, w.rule, w.authorised])).toEqual([['use_case:pa-letters', 'roles', 'roles_added', false]]);
    expect(formatImportPlan(dry)).toContain('WIDENING, NOT APPROVED: use_case:pa-letters roles (roles_added: coder) [committee_missing:chair,security,privacy]');
    expect(dry.diff.map((d) => `${d.kind} ${d.path}`)).toEqual(expect.arrayContaining(['changed liveVersion', 'added versions[2]', 'changed versions[1].state']));
    const revision = await readRegistryRevision(db);
    const refused = await refusal(pac.importYaml(admin, text));
    expect(refused).toEqual({ code: 'registry_import_widening', detail: { widening: ['use_case:pa-letters roles: roles_added (committee_missing:chair,security,privacy)'] } });
    expect(await readRegistryRevision(db)).toBe(revision);
    expect((await createRegistryView(db).snapshot()).liveUseCase('pa-letters')?.version).toBe(1);
  });

  it('accepts the same widening when it carries approvals of current committee members', async () => {
    const doc = withNewLiveVersion(await exported(), { roles: ['care_coordinator', 'coder'] }, { approvals: fullCommittee });
    const report = await pac.importYaml(admin, stringify(doc));
    expect(report.applied).toBe(true);
    expect(report.widening).toEqual([{ subject: 'use_case:pa-letters', path: 'roles', rule: 'roles_added', added: ['coder'], authorised: true, basis: 'committee:chair=u-cmio,security=u-ciso,privacy=u-po' }]);
    const snapshot = await createRegistryView(db).snapshot();
    expect(snapshot.liveUseCase('pa-letters')).toMatchObject({ version: 2, spec: { roles: ['care_coordinator', 'coder'] } });
    const view = await service.get(admin, 'pa-letters');
    expect(view.versions[1]?.approvals.map((a) => [a.userId, a.source])).toEqual([['u-cmio', 'import'], ['u-ciso', 'import'], ['u-po', 'import']]);
    expect((await service.history(admin, 'pa-letters')).at(-1)).toMatchObject({ action: 'import', fromState: 'live', toState: 'live', version: 2, actor: 'u-admin' });
    // The new state exports and re-imports as a no-op.
    expect((await pac.importYaml(admin, await pac.exportYaml(admin))).diff).toEqual([]);
  });

  it('does not count approvals of people who no longer hold the role, nor of the submitter', async () => {
    await users.setRoles('u-ciso', ['nurse']);
    const doc = withNewLiveVersion(await exported(), { roles: ['care_coordinator', 'coder'] }, { approvals: fullCommittee });
    expect(await refusal(pac.importYaml(admin, stringify(doc)))).toMatchObject({ code: 'registry_import_invalid', detail: { problems: ['use_case:pa-letters versions[2].approvals[u-ciso]: approval_role_not_held'] } });
    await users.setRoles('u-ciso', ['security_officer']);
    const bySubmitter = withNewLiveVersion(await exported(), { roles: ['care_coordinator', 'coder'] }, { approvals: fullCommittee, submittedBy: 'u-cmio' });
    expect(await refusal(pac.importYaml(admin, stringify(bySubmitter)))).toMatchObject({ code: 'registry_import_widening', detail: { widening: ['use_case:pa-letters roles: roles_added (committee_missing:chair)'] } });
  });

  it('applies a narrowing change directly', async () => {
    const doc = withNewLiveVersion(await exported(), { purposes: ['COVAUTH'], data: { fhir: [], freeText: false, autoContext: false } });
    const report = await pac.importYaml(admin, stringify(doc));
    expect(report).toMatchObject({ applied: true, widening: [], problems: [] });
    expect((await createRegistryView(db).snapshot()).liveUseCase('pa-letters')?.spec.data.freeText).toBe(false);
  });

  it('suspending or retiring through a file is narrowing; resuming needs the live version still approved', async () => {
    const doc = await exported();
    live(doc).state = 'suspended';
    expect((await pac.importYaml(admin, stringify(doc))).applied).toBe(true);
    expect((await createRegistryView(db).snapshot()).liveUseCase('pa-letters')).toBeUndefined();
    const back = await exported();
    live(back).state = 'live';
    const resumed = await pac.importYaml(admin, stringify(back));
    expect(resumed.widening.map((w) => [w.rule, w.authorised])).toEqual([['use_case_resumed', true]]);
    // A use case left out of the file is retired, with its history kept.
    const without = await exported();
    without.useCases = without.useCases.filter((u) => u.id !== 'drafty');
    const retired = await pac.importYaml(admin, stringify(without));
    expect(retired.counts.useCasesRetired).toBe(1);
    expect((await service.get(admin, 'drafty')).state).toBe('retired');
  });

  it('refuses to rewrite history or skip governance states', async () => {
    const doc = await exported();
    (live(doc).versions[0] as VersionDoc).spec.roles = ['coder'];
    expect(await refusal(pac.importYaml(admin, stringify(doc)))).toMatchObject({ code: 'registry_import_invalid', detail: { problems: ['use_case:pa-letters versions[1].spec: version_spec_immutable'] } });

    const dropped = await exported();
    (live(dropped).versions[0] as VersionDoc).approvals = [];
    expect((await refusal(pac.importYaml(admin, stringify(dropped)))).detail.problems).toHaveLength(3);

    const revived = await exported();
    live(revived).state = 'draft';
    expect(await refusal(pac.importYaml(admin, stringify(revived)))).toMatchObject({ detail: { problems: expect.arrayContaining(['use_case:pa-letters state: state_transition_invalid', 'use_case:pa-letters liveVersion: live_version_before_go_live']) } });

    // A new approved version (not live) must carry approvals.
    const claimed = await exported();
    const uc = live(claimed);
    uc.versions.push({ ...(uc.versions[0] as VersionDoc), number: 2, approvals: [], spec: { ...uc.versions[0]?.spec, roles: ['coder'] } });
    expect(await refusal(pac.importYaml(admin, stringify(claimed)))).toMatchObject({ detail: { problems: ['use_case:pa-letters versions[2].approvals: approval_claim_unsatisfied'] } });
  });

  it('a new use case going live widens from nothing and needs the committee', async () => {
    const doc = await exported();
    const copy = JSON.parse(JSON.stringify(live(doc))) as Doc['useCases'][number];
    copy.id = 'new-letters';
    doc.useCases.push(copy);
    // The copied approvals are real, current committee members: accepted.
    const report = await pac.importYaml(admin, stringify(doc));
    expect(report.widening.map((w) => [w.subject, w.rule, w.authorised])).toEqual([['use_case:new-letters', 'use_case_goes_live', true]]);
    expect(report.counts.useCasesAdded).toBe(1);
    const again = await exported();
    const unapproved = JSON.parse(JSON.stringify(live(again))) as Doc['useCases'][number];
    unapproved.id = 'rogue';
    (unapproved.versions[0] as VersionDoc).approvals = [];
    again.useCases.push(unapproved);
    expect(await refusal(pac.importYaml(admin, stringify(again)))).toMatchObject({ code: 'registry_import_widening', detail: { widening: ['use_case:rogue state: use_case_goes_live (committee_missing:chair,security,privacy)'] } });
  });

  it('vendor BAA widening needs a new recording by someone holding admin:vendors.manage; narrowing applies directly', async () => {
    const extended = await exported();
    (extended.vendors[0] as VendorDoc).baa.expiryDate = '2029-12-31';
    expect(await refusal(pac.importYaml(admin, stringify(extended)))).toEqual({ code: 'registry_import_widening', detail: { widening: ['vendor:acme-ai baa.expiryDate: baa_extended (baa_not_newly_recorded)'] } });

    (extended.vendors[0] as VendorDoc).baa.recordedAt = '2026-03-01T10:00:00Z';
    (extended.vendors[0] as VendorDoc).baa.recordedBy = 'u-nurse';
    expect((await refusal(pac.importYaml(admin, stringify(extended)))).detail).toEqual({ widening: ['vendor:acme-ai baa.expiryDate: baa_extended (recorder_lacks_admin:vendors.manage)'] });

    (extended.vendors[0] as VendorDoc).baa.recordedBy = 'u-po';
    const accepted = await pac.importYaml(admin, stringify(extended));
    expect(accepted.widening).toMatchObject([{ rule: 'baa_extended', authorised: true, basis: 'recorded_by:u-po' }]);
    expect((await createVendorRepo(db).get('acme-ai'))?.vendor.baa.expiryDate).toBe('2029-12-31');

    const terminated = await exported();
    (terminated.vendors[0] as VendorDoc).baa.status = 'terminated';
    const report = await pac.importYaml(admin, stringify(terminated));
    expect(report).toMatchObject({ applied: true, widening: [] });
    expect((await createRegistryView(db).snapshot()).vendor('acme-ai')?.baa.status).toBe('terminated');

    const removed = await exported();
    removed.vendors = [];
    expect((await pac.importYaml(admin, stringify(removed))).counts.vendorsRemoved).toBe(1);
    expect(await createVendorRepo(db).get('acme-ai')).toBeUndefined();
  });

  it('refuses vendor records the vendor service would refuse', async () => {
    const doc = await exported();
    const baa = (doc.vendors[0] as VendorDoc).baa;
    baa.coveredServices = ['acme-chat', 'acme-consumer', 'acme-nothing'];
    baa.expiryDate = '2024-01-01';
    expect(await refusal(pac.importYaml(admin, stringify(doc)))).toEqual({
      code: 'registry_import_invalid',
      detail: { problems: ['vendor:acme-ai baa.coveredServices[acme-consumer]: vendor_service_not_eligible', 'vendor:acme-ai baa.coveredServices[acme-nothing]: vendor_service_unknown', 'vendor:acme-ai baa.expiryDate: baa_dates_invalid'] },
    });
  });

  it('needs admin:usecases.manage (and admin:vendors.manage for vendor changes); a dry run needs only read', async () => {
    const doc = await exported();
    (doc.vendors[0] as VendorDoc).legalName = 'Acme AI Holdings, Inc.';
    const text = stringify(doc);
    expect((await pac.importYaml(cmio, text, { dryRun: true })).diff).toEqual([{ subject: 'vendor:acme-ai', path: 'legalName', kind: 'changed', before: 'Acme AI, Inc.', after: 'Acme AI Holdings, Inc.' }]);
    expect(await refusal(pac.importYaml(cmio, text))).toEqual({ code: 'permission_denied', detail: { permission: 'admin:usecases.manage' } });
    expect(await refusal(pac.importYaml(req('u-x', ['nurse']), text, { dryRun: true }))).toEqual({ code: 'permission_denied', detail: { permission: 'admin:registry.read' } });
    expect(await refusal(pac.exportYaml(req('u-x', ['nurse'])))).toEqual({ code: 'permission_denied', detail: { permission: 'admin:registry.read' } });
  });

  it('refuses malformed files without echoing their content, and audits every import', async () => {
    expect(await refusal(pac.importYaml(admin, 'apiVersion: [unclosed'))).toMatchObject({ code: 'registry_import_invalid', detail: { problem: 'yaml_syntax' } });
    const bad = await refusal(pac.importYaml(admin, stringify({ apiVersion: 'phigate.io/v1', kind: 'Registry', useCases: [{ id: 'Secret Jane Doe', state: 'live', versions: [] }] })));
    expect(bad.code).toBe('registry_import_invalid');
    expect(JSON.stringify(bad)).not.toContain('Jane');
    await pac.importYaml(admin, await pac.exportYaml(admin), { dryRun: true });
    await audit.drain();
    const imports = sink.rows.map((r) => r.event as UseCaseAuditEvent).filter((e) => e.type === 'registry.import');
    expect(imports.map((e) => [e.outcome, e.errorCode ?? null, e.change?.dryRun])).toEqual([
      ['denied', 'registry_import_invalid', false],
      ['denied', 'registry_import_invalid', false],
      ['success', null, true],
    ]);
    expect(JSON.stringify(imports)).not.toContain('Jane');
  });
});
