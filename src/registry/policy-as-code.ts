// SPDX-License-Identifier: Apache-2.0
/**
 * Policy as code: the whole registry (vendors with their BAA records and subprocessors; use cases
 * with every version, state and committee decision) as one YAML document, and its import.
 *
 * Export is stable: keys in a fixed order (`apiVersion`, `kind`, `id`, `number`, `name`, …, then
 * alphabetical), lists sorted by id or number, times as ISO 8601 UTC, so the file diffs well in
 * version control and an export imported unchanged is a no-op.
 *
 * Import shows what would change, field path by field path, and then applies everything in one
 * transaction with one registry-revision bump, or nothing. Rules:
 * - version specs, authors and decisions are history: an existing version's spec cannot change
 *   (add a version and point `liveVersion` at it) and recorded decisions cannot be dropped;
 * - states move only along the governance transition tables (registry/governance.ts), and a
 *   live version must pass the go-live checks; vendor records pass the vendor service's own
 *   checks (a BAA covers only services offered with one; expiry not before the effective date);
 * - an import that widens PHI access (registry/widening.ts) is refused unless it carries the
 *   approvals governance asks for: for a use case, the serving version's decisions satisfy the
 *   committee rules for existing, active users who hold those roles now; for a vendor's BAA, the
 *   BAA is newly recorded (`recordedAt` changed) by an active user holding `admin:vendors.manage`;
 * - a version that claims to be approved must carry such approvals too, except the serving
 *   version of a change that only narrows access, which applies directly;
 * - a use case left out of the file is retired (its history stays); a vendor left out is removed.
 *
 * The file holds no PHI: the registry is governed configuration. Audit records of an import
 * carry counts, ids and rule names.
 */
import type { Kysely, Transaction } from 'kysely';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { adminActions, hasPermission, type AccessPolicy } from '../access/rbac.js';
import type { AuditWriter } from '../audit/writer.js';
import { collectSchemaKeys, summarizeZodIssues } from '../gateway/openai/zod-issues.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError, type ErrorCode } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import { affected, toJsonText } from '../store/dialect.js';
import {
  applyUseCaseChange,
  createUseCaseRepo,
  type ApprovalRecord,
  type NewApproval,
  type NewVersion,
  type UseCaseAggregate,
  type UseCaseChange,
  type UseCaseVersionRecord,
} from '../store/repos/use-case-repo.js';
import { bumpRegistryRevision, createVendorRepo, readRegistryRevision, type VendorRecord } from '../store/repos/vendor-repo.js';
import type { UserRecord } from '../store/repos/user-repo.js';
import type { Database } from '../store/schema.js';
import { diffValues, type FieldChange } from './diff.js';
import type { CommitteeSeat } from './governance-config.js';
import { canReachUseCaseState, canTransitionVersion, evaluateApprovals, goLiveProblems } from './governance.js';
import { useCaseStates, versionStates, type UseCaseState, type VersionState } from './registry-view.js';
import { useCaseId, useCaseSpecSchema, type UseCaseSpec } from './use-case-spec.js';
import { markAudited, registryEventTypes, riskOf, type UseCaseAuditEvent, type UseCaseRequest } from './use-cases.js';
import { vendorSchema, type Vendor } from './vendor-spec.js';
import { useCaseSpecWidening, vendorWidening, type WideningFinding } from './widening.js';

export const registryApiVersion = 'phigate.io/v1';

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const userRef = z.string().min(1).max(128);
const reasonText = z.string().max(2000).nullable().default(null);

const approvalFileSchema = z.strictObject({
  userId: userRef,
  seat: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  role: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  decision: z.enum(['approve', 'reject']),
  reason: reasonText,
  at: isoTime,
  source: z.enum(['console', 'cli', 'import']).default('import'),
});

const versionFileSchema = z.strictObject({
  number: z.number().int().min(1).max(100_000),
  state: z.enum(versionStates),
  createdBy: userRef,
  createdAt: isoTime,
  reason: reasonText,
  submittedBy: userRef.nullable().default(null),
  submittedAt: isoTime.nullable().default(null),
  approvedAt: isoTime.nullable().default(null),
  decidedAt: isoTime.nullable().default(null),
  /** Shown on export; computed from the spec, ignored on import. */
  risk: z.unknown().optional(),
  spec: useCaseSpecSchema,
  approvals: z.array(approvalFileSchema).default([]),
});

const useCaseFileSchema = z.strictObject({
  id: useCaseId,
  state: z.enum(useCaseStates),
  liveVersion: z.number().int().min(1).nullable().default(null),
  createdBy: userRef.optional(),
  createdAt: isoTime.optional(),
  /** Shown on export; computed from the serving spec, ignored on import. */
  risk: z.unknown().optional(),
  versions: z.array(versionFileSchema).min(1),
});

export const registryFileSchema = z
  .strictObject({
    apiVersion: z.literal(registryApiVersion),
    kind: z.literal('Registry'),
    vendors: z.array(vendorSchema).default([]),
    useCases: z.array(useCaseFileSchema).default([]),
  })
  .superRefine((file, ctx) => {
    const seen = (ids: readonly string[], path: string) => {
      const set = new Set<string>();
      ids.forEach((id, index) => {
        if (set.has(id)) ctx.addIssue({ code: 'custom', path: [path, index, 'id'], message: 'duplicate id' });
        set.add(id);
      });
    };
    seen(file.vendors.map((v) => v.id), 'vendors');
    seen(file.useCases.map((u) => u.id), 'useCases');
  });
export type RegistryFile = z.output<typeof registryFileSchema>;
type UseCaseFile = RegistryFile['useCases'][number];
type VersionFile = UseCaseFile['versions'][number];

/** Everything in the registry, as loaded from the store. */
export interface RegistryContents {
  readonly vendors: readonly VendorRecord[];
  readonly useCases: readonly UseCaseAggregate[];
}

/** Loads the registry for an export or an import plan. */
export async function loadRegistryContents(db: Kysely<Database>): Promise<RegistryContents> {
  const [vendors, useCases] = await Promise.all([createVendorRepo(db).list(), createUseCaseRepo(db).list()]);
  return { vendors, useCases };
}

const keyPriority = ['apiVersion', 'kind', 'id', 'number', 'name', 'legalName', 'state', 'liveVersion'];

/** Objects with keys in the fixed export order, undefined members dropped (recursively). */
function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const rank = (key: string) => {
    const i = keyPriority.indexOf(key);
    return i === -1 ? keyPriority.length : i;
  };
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, ordered(v)]));
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

interface DocApproval {
  readonly userId: string;
  readonly seat: string;
  readonly role: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly at: string;
  readonly source: string;
}

function docVersion(v: Omit<UseCaseVersionRecord, 'useCaseId'>, approvals: readonly DocApproval[]) {
  return {
    number: v.number,
    state: v.state,
    createdBy: v.createdBy,
    createdAt: iso(v.createdAt),
    reason: v.reason,
    submittedBy: v.submittedBy,
    submittedAt: iso(v.submittedAt),
    approvedAt: iso(v.approvedAt),
    decidedAt: iso(v.decidedAt),
    risk: riskOf(v.spec),
    spec: v.spec,
    approvals,
  };
}

const docApproval = (a: Omit<ApprovalRecord, 'id' | 'useCaseId' | 'version'>): DocApproval => ({
  userId: a.userId,
  seat: a.seat,
  role: a.role,
  decision: a.decision,
  reason: a.reason,
  at: new Date(a.at).toISOString(),
  source: a.source,
});

function docUseCaseFromStore(aggregate: UseCaseAggregate) {
  const { useCase, versions, approvals } = aggregate;
  const shown = versions.find((v) => v.number === useCase.liveVersion) ?? versions[versions.length - 1];
  return {
    id: useCase.id,
    state: useCase.state,
    liveVersion: useCase.liveVersion,
    createdBy: useCase.createdBy,
    createdAt: iso(useCase.createdAt),
    risk: shown === undefined ? undefined : riskOf(shown.spec),
    versions: versions.map((v) => docVersion(v, approvals.filter((a) => a.version === v.number).map(docApproval))),
  };
}

function docUseCaseFromFile(u: UseCaseFile, stored: UseCaseAggregate | undefined) {
  const shown = u.versions.find((v) => v.number === u.liveVersion) ?? u.versions[u.versions.length - 1];
  return {
    id: u.id,
    state: u.state,
    liveVersion: u.liveVersion,
    // Creation facts of a use case already stored are the store's; a file cannot rewrite them.
    createdBy: stored?.useCase.createdBy ?? u.createdBy,
    createdAt: iso(stored?.useCase.createdAt ?? u.createdAt ?? null),
    risk: shown === undefined ? undefined : riskOf(shown.spec),
    versions: [...u.versions].sort((a, b) => a.number - b.number).map((v) => docVersion(v, v.approvals.map(docApproval))),
  };
}

/** The registry as the export document (plain data in export order). */
export function toRegistryDocument(contents: RegistryContents): unknown {
  return ordered({
    apiVersion: registryApiVersion,
    kind: 'Registry',
    vendors: [...contents.vendors].sort((a, b) => (a.vendor.id < b.vendor.id ? -1 : 1)).map((r) => r.vendor),
    useCases: [...contents.useCases].sort((a, b) => (a.useCase.id < b.useCase.id ? -1 : 1)).map(docUseCaseFromStore),
  });
}

/** The registry as YAML. */
export function exportRegistryYaml(contents: RegistryContents): string {
  return stringify(toRegistryDocument(contents), { lineWidth: 0, aliasDuplicateObjects: false });
}

const fileKeys = collectSchemaKeys([registryFileSchema, vendorSchema, useCaseSpecSchema, versionFileSchema, approvalFileSchema, useCaseFileSchema]);

/** Parses a registry YAML file; refusals name lines and field paths, never values. */
export function parseRegistryYaml(text: string): RegistryFile {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new GatewayError('registry_import_invalid', { detail: { problem: 'yaml_syntax', line: first?.linePos?.[0]?.line ?? 0, errors: doc.errors.length } });
  }
  let data: unknown;
  try {
    // Anchors and aliases are allowed, but a bounded number, so a small file cannot expand without limit.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new GatewayError('registry_import_invalid', { detail: { problem: 'yaml_aliases' } });
  }
  const parsed = registryFileSchema.safeParse(data);
  if (!parsed.success) throw new GatewayError('registry_import_invalid', { detail: summarizeZodIssues(parsed.error, { knownKeys: fileKeys, maxIssues: 10 }) });
  return parsed.data;
}

/** One difference between the store and the file. */
export interface RegistryDiffEntry extends FieldChange {
  /** `vendor:<id>` or `use_case:<id>`. */
  readonly subject: string;
}

export interface ImportFinding extends WideningFinding {
  /** Whether the file carries what this widening needs. */
  readonly authorised: boolean;
  /** What authorises it (`committee:<seat>=<user>,…`, `recorded_by:<user>`) or what is missing. */
  readonly basis: string;
}

export interface ImportProblem {
  readonly subject: string;
  readonly path: string;
  readonly problem: string;
}

type VendorOp =
  | { readonly kind: 'insert'; readonly vendor: Vendor }
  | { readonly kind: 'update'; readonly vendor: Vendor; readonly expectedVersion: number }
  | { readonly kind: 'delete'; readonly id: string; readonly expectedVersion: number };

export interface ImportPlan {
  readonly diff: readonly RegistryDiffEntry[];
  readonly widening: readonly ImportFinding[];
  readonly problems: readonly ImportProblem[];
  readonly counts: {
    readonly vendorsAdded: number;
    readonly vendorsChanged: number;
    readonly vendorsRemoved: number;
    readonly useCasesAdded: number;
    readonly useCasesChanged: number;
    readonly useCasesRetired: number;
  };
  readonly vendorOps: readonly VendorOp[];
  readonly useCaseOps: readonly UseCaseChange[];
}

export interface ImportContext {
  readonly committee: readonly CommitteeSeat[];
  readonly policy: AccessPolicy;
  /** Every user, by id (approvals and BAA recorders are checked against them). */
  readonly users: ReadonlyMap<string, UserRecord>;
  /** The person importing (recorded as the actor of each lifecycle change). */
  readonly actor: string;
  readonly now: number;
}

function activeUser(ctx: ImportContext, id: string | undefined): UserRecord | undefined {
  if (id === undefined) return undefined;
  const user = ctx.users.get(id);
  return user && user.disabledAt === null && user.kind === 'user' ? user : undefined;
}

/** Whether a version state can be reached from another along the version table. */
function versionReachable(from: VersionState, to: VersionState): boolean {
  const seen = new Set<VersionState>([from]);
  const queue: VersionState[] = [from];
  while (queue.length > 0) {
    const state = queue.shift() as VersionState;
    if (state === to) return true;
    for (const next of versionStates) {
      if (!seen.has(next) && canTransitionVersion(state, next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

const sameApproval = (a: { userId: string; seat: string; decision: string }, b: { userId: string; seat: string; decision: string }) =>
  a.userId === b.userId && a.seat === b.seat && a.decision === b.decision;

/** The committee verdict on a file version's decisions, with the roles people hold now. */
function committeeVerdict(ctx: ImportContext, version: VersionFile): { approved: boolean; basis: string } {
  const decisions = version.approvals.map((a) => {
    const user = activeUser(ctx, a.userId);
    // The role must still be held; a departed or demoted member's approval does not count.
    return { seat: a.seat, userId: a.userId, decision: a.decision, roles: user && user.roles.includes(a.role) ? [a.role] : [] };
  });
  const evaluation = evaluateApprovals({ committee: ctx.committee, classification: version.spec.classification, submittedBy: version.submittedBy ?? undefined }, decisions);
  if (evaluation.status === 'approved') {
    return { approved: true, basis: `committee:${Object.entries(evaluation.filled).map(([seat, user]) => `${seat}=${user}`).join(',')}` };
  }
  return { approved: false, basis: evaluation.status === 'rejected' ? 'committee:rejected' : `committee_missing:${evaluation.missing.join(',')}` };
}

/** The spec serving traffic under a state and live version, if any. */
function servingSpec(state: UseCaseState, liveVersion: number | null, specOf: (n: number) => UseCaseSpec | undefined): UseCaseSpec | undefined {
  return state === 'live' && liveVersion !== null ? specOf(liveVersion) : undefined;
}

function planUseCase(
  ctx: ImportContext,
  file: UseCaseFile,
  stored: UseCaseAggregate | undefined,
  out: { problems: ImportProblem[]; widening: ImportFinding[] },
): UseCaseChange | undefined {
  const subject = `use_case:${file.id}`;
  const problem = (path: string, what: string) => out.problems.push({ subject, path, problem: what });
  const versions = [...file.versions].sort((a, b) => a.number - b.number);
  versions.forEach((v, i) => {
    if (v.number !== i + 1) problem(`versions[${v.number}]`, 'version_numbers_not_contiguous');
  });
  const fileVersion = (n: number) => versions.find((v) => v.number === n);
  const storedVersion = (n: number) => stored?.versions.find((v) => v.number === n);

  // History is immutable.
  for (const sv of stored?.versions ?? []) {
    const fv = fileVersion(sv.number);
    const path = `versions[${sv.number}]`;
    if (!fv) {
      problem(path, 'version_history_missing');
      continue;
    }
    if (diffValues(sv.spec, fv.spec).length > 0) problem(`${path}.spec`, 'version_spec_immutable');
    if (sv.createdBy !== fv.createdBy || sv.createdAt !== fv.createdAt || sv.reason !== fv.reason) problem(path, 'version_history_changed');
    if (sv.state !== fv.state && !versionReachable(sv.state, fv.state)) problem(`${path}.state`, 'version_transition_invalid');
    for (const a of stored?.approvals.filter((x) => x.version === sv.number) ?? []) {
      if (!fv.approvals.some((b) => sameApproval(a, b))) problem(`${path}.approvals[${a.userId}]`, 'approval_history_missing');
    }
  }
  for (const fv of versions) {
    if (!storedVersion(fv.number) && !versionReachable('draft', fv.state)) problem(`versions[${fv.number}].state`, 'version_transition_invalid');
  }

  // New decisions must come from active people who hold the role, in a seat the committee has.
  const newApprovals: NewApproval[] = [];
  for (const fv of versions) {
    const storedApprovals = stored?.approvals.filter((a) => a.version === fv.number) ?? [];
    for (const a of fv.approvals) {
      if (storedApprovals.some((b) => sameApproval(a, b))) continue;
      const path = `versions[${fv.number}].approvals[${a.userId}]`;
      const user = activeUser(ctx, a.userId);
      if (!user) problem(path, 'approval_user_unknown');
      else if (!user.roles.includes(a.role)) problem(path, 'approval_role_not_held');
      if (!ctx.committee.some((s) => s.seat === a.seat && s.role === a.role)) problem(path, 'approval_seat_unknown');
      newApprovals.push({ version: fv.number, seat: a.seat, role: a.role, userId: a.userId, decision: a.decision, reason: a.reason, at: a.at, source: 'import' });
    }
  }

  // Use-case state and its live version.
  const from: UseCaseState = stored?.useCase.state ?? 'draft';
  if (from !== file.state && !canReachUseCaseState(from, file.state)) problem('state', 'state_transition_invalid');
  const live = file.liveVersion === null ? undefined : fileVersion(file.liveVersion);
  if (file.state === 'live' || file.state === 'suspended') {
    if (!live) problem('liveVersion', 'live_version_missing');
    else {
      if (live.state !== 'approved') problem('liveVersion', 'live_version_not_approved');
      for (const p of goLiveProblems(live.spec)) problem(`versions[${live.number}].spec`, p);
    }
  } else if (file.state !== 'retired' && file.liveVersion !== null) problem('liveVersion', 'live_version_before_go_live');

  // Widening of what serves traffic.
  const before = stored ? servingSpec(stored.useCase.state, stored.useCase.liveVersion, (n) => storedVersion(n)?.spec) : undefined;
  const after = servingSpec(file.state, file.liveVersion, (n) => fileVersion(n)?.spec);
  const findings: WideningFinding[] = [];
  if (after) {
    if (!before) {
      findings.push({ subject, path: 'state', rule: stored?.useCase.state === 'suspended' ? 'use_case_resumed' : 'use_case_goes_live' });
      const lastLive = stored?.useCase.liveVersion ?? null;
      const lastServed = lastLive === null ? undefined : storedVersion(lastLive)?.spec;
      if (lastServed) findings.push(...useCaseSpecWidening(file.id, lastServed, after));
    } else findings.push(...useCaseSpecWidening(file.id, before, after));
  }
  const verdict = live ? committeeVerdict(ctx, live) : { approved: false, basis: 'no_live_version' };
  for (const f of findings) out.widening.push({ ...f, authorised: verdict.approved, basis: verdict.basis });

  // A version newly claiming approval must carry it. The serving version is judged by the widening
  // findings above instead: approvals when it widens, nothing when it only narrows.
  for (const fv of versions) {
    const claims = fv.state === 'approved' || (fv.state === 'superseded' && fv.approvedAt !== null);
    const sv = storedVersion(fv.number);
    if (!claims || (sv && sv.approvedAt !== null)) continue;
    const serving = live?.number === fv.number && after !== undefined;
    if (serving && findings.length === 0) continue;
    // The committee rule "the submitter cannot approve" needs to know who submitted.
    if (fv.submittedBy === null) problem(`versions[${fv.number}].submittedBy`, 'submitter_missing');
    if (!serving && !committeeVerdict(ctx, fv).approved) problem(`versions[${fv.number}].approvals`, 'approval_claim_unsatisfied');
  }

  // The change to apply.
  const newVersions: NewVersion[] = versions
    .filter((v) => !storedVersion(v.number))
    .map((v) => ({
      number: v.number,
      spec: v.spec,
      state: v.state,
      createdBy: v.createdBy,
      createdAt: v.createdAt,
      reason: v.reason,
      submittedBy: v.submittedBy,
      submittedAt: v.submittedAt,
      approvedAt: v.approvedAt ?? (v.state === 'approved' ? ctx.now : null),
      decidedAt: v.decidedAt,
    }));
  const versionUpdates = versions.flatMap((v) => {
    const sv = storedVersion(v.number);
    if (!sv) return [];
    const approvedAt = v.approvedAt ?? (v.state === 'approved' && sv.approvedAt === null ? ctx.now : sv.approvedAt);
    const changed = sv.state !== v.state || sv.submittedBy !== v.submittedBy || sv.submittedAt !== v.submittedAt || sv.approvedAt !== approvedAt || sv.decidedAt !== v.decidedAt;
    return changed ? [{ number: v.number, state: v.state, submittedBy: v.submittedBy, submittedAt: v.submittedAt, approvedAt, decidedAt: v.decidedAt }] : [];
  });
  const stateChanged = !stored || stored.useCase.state !== file.state || stored.useCase.liveVersion !== file.liveVersion;
  if (stored && !stateChanged && newVersions.length === 0 && versionUpdates.length === 0 && newApprovals.length === 0) return undefined;
  return {
    id: file.id,
    expectedVersion: stored?.useCase.version ?? 0,
    state: file.state,
    liveVersion: file.liveVersion,
    ...(stored ? {} : { createdBy: file.createdBy ?? ctx.actor }),
    at: ctx.now,
    newVersions,
    versionUpdates,
    approvals: newApprovals,
    transitions: [{ version: file.liveVersion, action: 'import', fromState: stored?.useCase.state ?? null, toState: file.state, actor: ctx.actor, reason: null }],
  };
}

/** What the vendor service would refuse in a record: BAA coverage of services the vendor does not offer a BAA for, impossible dates. */
function vendorProblems(vendor: Vendor): ImportProblem[] {
  const subject = `vendor:${vendor.id}`;
  const out: ImportProblem[] = [];
  for (const id of vendor.baa.coveredServices) {
    const service = vendor.services.find((s) => s.id === id);
    if (!service) out.push({ subject, path: `baa.coveredServices[${id}]`, problem: 'vendor_service_unknown' });
    else if (service.eligibility !== 'baa_available') out.push({ subject, path: `baa.coveredServices[${id}]`, problem: 'vendor_service_not_eligible' });
  }
  for (const sub of vendor.subprocessors) {
    for (const id of sub.services) if (!vendor.services.some((s) => s.id === id)) out.push({ subject, path: `subprocessors[${sub.name}].services[${id}]`, problem: 'vendor_service_unknown' });
  }
  const { effectiveDate, expiryDate } = vendor.baa;
  if (effectiveDate !== undefined && expiryDate !== undefined && expiryDate < effectiveDate) out.push({ subject, path: 'baa.expiryDate', problem: 'baa_dates_invalid' });
  return out;
}

/**
 * What importing `file` over `current` would do: the diff, the widening findings (authorised or
 * not), the problems that make it invalid, and the operations to apply. Pure.
 */
export function planImport(file: RegistryFile, current: RegistryContents, ctx: ImportContext): ImportPlan {
  const diff: RegistryDiffEntry[] = [];
  const problems: ImportProblem[] = [];
  const widening: ImportFinding[] = [];
  const vendorOps: VendorOp[] = [];
  const useCaseOps: UseCaseChange[] = [];
  const counts = { vendorsAdded: 0, vendorsChanged: 0, vendorsRemoved: 0, useCasesAdded: 0, useCasesChanged: 0, useCasesRetired: 0 };

  const storedVendors = new Map(current.vendors.map((r) => [r.vendor.id, r]));
  for (const vendor of [...file.vendors].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const subject = `vendor:${vendor.id}`;
    const stored = storedVendors.get(vendor.id);
    const changes = stored ? diffValues(stored.vendor, vendor) : [];
    if (stored && changes.length === 0) continue;
    if (stored) {
      diff.push(...changes.map((c) => ({ subject, ...c })));
      vendorOps.push({ kind: 'update', vendor, expectedVersion: stored.version });
      counts.vendorsChanged += 1;
    } else {
      diff.push({ subject, path: '', kind: 'added', after: { legalName: vendor.legalName, baa: vendor.baa.status } });
      vendorOps.push({ kind: 'insert', vendor });
      counts.vendorsAdded += 1;
    }
    problems.push(...vendorProblems(vendor));
    const findings = vendorWidening(stored?.vendor, vendor);
    if (findings.length > 0) {
      const recorder = activeUser(ctx, vendor.baa.recordedBy);
      const newlyRecorded = vendor.baa.recordedAt !== undefined && vendor.baa.recordedAt !== stored?.vendor.baa.recordedAt;
      const authorised = recorder !== undefined && hasPermission(ctx.policy, recorder.roles, adminActions.vendorsManage) && newlyRecorded;
      const basis = authorised
        ? `recorded_by:${recorder.id}`
        : !newlyRecorded
          ? 'baa_not_newly_recorded'
          : recorder === undefined
            ? 'recorder_unknown'
            : 'recorder_lacks_admin:vendors.manage';
      for (const f of findings) widening.push({ ...f, authorised, basis });
    }
  }
  const fileVendorIds = new Set(file.vendors.map((v) => v.id));
  for (const stored of current.vendors) {
    if (fileVendorIds.has(stored.vendor.id)) continue;
    diff.push({ subject: `vendor:${stored.vendor.id}`, path: '', kind: 'removed', before: { legalName: stored.vendor.legalName, baa: stored.vendor.baa.status } });
    vendorOps.push({ kind: 'delete', id: stored.vendor.id, expectedVersion: stored.version });
    counts.vendorsRemoved += 1;
  }

  const storedUseCases = new Map(current.useCases.map((a) => [a.useCase.id, a]));
  for (const useCase of [...file.useCases].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const subject = `use_case:${useCase.id}`;
    const stored = storedUseCases.get(useCase.id);
    if (stored) {
      const changes = diffValues(docUseCaseFromStore(stored), docUseCaseFromFile(useCase, stored));
      diff.push(...changes.map((c) => ({ subject, ...c })));
    } else {
      diff.push({ subject, path: '', kind: 'added', after: { state: useCase.state, liveVersion: useCase.liveVersion, versions: useCase.versions.length } });
    }
    const op = planUseCase(ctx, useCase, stored, { problems, widening });
    if (op) {
      useCaseOps.push(op);
      if (stored) counts.useCasesChanged += 1;
      else counts.useCasesAdded += 1;
    }
  }
  const fileUseCaseIds = new Set(file.useCases.map((u) => u.id));
  for (const stored of current.useCases) {
    const { useCase } = stored;
    if (fileUseCaseIds.has(useCase.id) || useCase.state === 'retired') continue;
    diff.push({ subject: `use_case:${useCase.id}`, path: 'state', kind: 'changed', before: useCase.state, after: 'retired' });
    useCaseOps.push({
      id: useCase.id,
      expectedVersion: useCase.version,
      state: 'retired',
      liveVersion: useCase.liveVersion,
      at: ctx.now,
      transitions: [{ version: useCase.liveVersion, action: 'import', fromState: useCase.state, toState: 'retired', actor: ctx.actor, reason: null }],
    });
    counts.useCasesRetired += 1;
  }
  return { diff, widening, problems, counts, vendorOps, useCaseOps };
}

async function applyVendorOp(trx: Transaction<Database>, op: VendorOp, at: number): Promise<void> {
  if (op.kind === 'insert') {
    const result = await trx
      .insertInto('vendors')
      .values({ id: op.vendor.id, spec: toJsonText(op.vendor), version: 1, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    if (affected(result) !== 1) throw new GatewayError('vendor_exists', { detail: { vendor: op.vendor.id } });
    return;
  }
  const id = op.kind === 'update' ? op.vendor.id : op.id;
  const result =
    op.kind === 'update'
      ? await trx.updateTable('vendors').set({ spec: toJsonText(op.vendor), version: op.expectedVersion + 1, updated_at: at }).where('id', '=', id).where('version', '=', op.expectedVersion).executeTakeFirst()
      : await trx.deleteFrom('vendors').where('id', '=', id).where('version', '=', op.expectedVersion).executeTakeFirst();
  if (affected(result) !== 1) throw new GatewayError('vendor_version_conflict', { detail: { vendor: id, expectedVersion: op.expectedVersion } });
}

/** Applies a plan in one transaction with one revision bump; returns the new revision (unchanged when the plan is empty). */
export async function applyImportPlan(db: Kysely<Database>, plan: ImportPlan, at: number): Promise<number> {
  if (plan.vendorOps.length === 0 && plan.useCaseOps.length === 0) return readRegistryRevision(db);
  return db.transaction().execute(async (trx) => {
    for (const op of plan.vendorOps) await applyVendorOp(trx, op, at);
    for (const op of plan.useCaseOps) await applyUseCaseChange(trx, op);
    return bumpRegistryRevision(trx, at);
  });
}

/** A readable diff, one line per change (ids, field paths and registry values; no PHI). */
export function formatImportPlan(plan: Pick<ImportPlan, 'diff' | 'widening' | 'problems'>): string {
  const show = (value: unknown): string => {
    const text = value === undefined ? '∅' : JSON.stringify(value);
    return text.length > 100 ? `${text.slice(0, 97)}...` : text;
  };
  const lines: string[] = [];
  for (const d of plan.diff) {
    const where = d.path === '' ? d.subject : `${d.subject} ${d.path}`;
    if (d.kind === 'added') lines.push(`+ ${where}: ${show(d.after)}`);
    else if (d.kind === 'removed') lines.push(`- ${where}: ${show(d.before)}`);
    else lines.push(`~ ${where}: ${show(d.before)} → ${show(d.after)}`);
  }
  if (lines.length === 0) lines.push('no changes');
  for (const w of plan.widening) lines.push(`${w.authorised ? 'widening, approved' : 'WIDENING, NOT APPROVED'}: ${w.subject} ${w.path} (${w.rule}${w.added ? `: ${w.added.join(', ')}` : ''}) [${w.basis}]`);
  for (const p of plan.problems) lines.push(`PROBLEM: ${p.subject} ${p.path}: ${p.problem}`);
  return lines.join('\n');
}

/** What an import (or a dry run) reports. */
export interface ImportReport {
  readonly dryRun: boolean;
  readonly applied: boolean;
  readonly diff: readonly RegistryDiffEntry[];
  readonly widening: readonly ImportFinding[];
  readonly problems: readonly ImportProblem[];
  readonly counts: ImportPlan['counts'];
  readonly revision: number;
}

export interface PolicyAsCodeOptions {
  readonly db: Kysely<Database>;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly policy: AccessPolicy;
  readonly committee: readonly CommitteeSeat[];
  readonly users: { list(): Promise<readonly UserRecord[]> };
}

export interface PolicyAsCode {
  /** The registry as YAML (`admin:registry.read`). */
  exportYaml(req: UseCaseRequest): Promise<string>;
  /**
   * Compares a file with the registry and, unless `dryRun`, applies it. A dry run needs
   * `admin:registry.read`; an import needs `admin:usecases.manage`, and `admin:vendors.manage`
   * as well when it changes vendors. Refused with `registry_import_invalid` or
   * `registry_import_widening` (detail lists paths and rules); nothing is applied then.
   */
  importYaml(req: UseCaseRequest, text: string, options?: { readonly dryRun?: boolean }): Promise<ImportReport>;
}

const cap = (lines: readonly string[]): string[] => (lines.length > 50 ? [...lines.slice(0, 50), `… ${lines.length - 50} more`] : [...lines]);

export function createPolicyAsCode(options: PolicyAsCodeOptions): PolicyAsCode {
  const { db, clock } = options;

  async function record(req: UseCaseRequest, type: string, outcome: 'success' | 'denied', change: UseCaseAuditEvent['change'], error?: { status: number; code: ErrorCode }): Promise<void> {
    const now = clock.now();
    const event: UseCaseAuditEvent = {
      id: uuidv7(now),
      recordedAt: new Date(now).toISOString(),
      type,
      stage: outcome === 'success' ? 'completed' : 'refused',
      outcome,
      requestId: req.requestId,
      status: error?.status ?? 200,
      errorCode: error?.code,
      actor: { userId: req.actor.userId, kind: req.actor.kind, roles: req.actor.roles, authMethod: req.actor.authMethod, apiKeyId: req.actor.apiKeyId },
      client: req.client,
      instance: options.instanceId,
      subject: { kind: 'registry', id: 'registry' },
      ...(change === undefined ? {} : { change }),
    };
    await options.audit.append(event);
  }

  function require(req: UseCaseRequest, action: (typeof adminActions)[keyof typeof adminActions]): void {
    if (!hasPermission(options.policy, req.actor.roles, action)) throw new GatewayError('permission_denied', { detail: { permission: action } });
  }

  async function refused<T>(req: UseCaseRequest, type: string, change: () => UseCaseAuditEvent['change'], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GatewayError) {
        await record(req, type, 'denied', change(), { status: err.status, code: err.code });
        markAudited(err);
      }
      throw err;
    }
  }

  return {
    exportYaml: (req) =>
      refused(req, registryEventTypes.export, () => undefined, async () => {
        require(req, adminActions.registryRead);
        const contents = await loadRegistryContents(db);
        const yaml = exportRegistryYaml(contents);
        await record(req, registryEventTypes.export, 'success', { vendors: contents.vendors.length, useCases: contents.useCases.length });
        return yaml;
      }),

    importYaml(req, text, importOptions = {}) {
      const dryRun = importOptions.dryRun === true;
      let summary: UseCaseAuditEvent['change'] = { dryRun };
      return refused(req, registryEventTypes.import, () => summary, async () => {
        require(req, dryRun ? adminActions.registryRead : adminActions.useCasesManage);
        const file = parseRegistryYaml(text);
        const now = clock.now();
        const [contents, users] = await Promise.all([loadRegistryContents(db), options.users.list()]);
        const plan = planImport(file, contents, { committee: options.committee, policy: options.policy, users: new Map(users.map((u) => [u.id, u])), actor: req.actor.userId, now });
        const unapproved = plan.widening.filter((w) => !w.authorised);
        summary = {
          dryRun,
          ...plan.counts,
          changes: plan.diff.length,
          problems: plan.problems.length,
          wideningRules: [...new Set(plan.widening.map((w) => w.rule))].sort(),
          unapprovedWidening: unapproved.length,
          vendors: [...new Set(plan.vendorOps.map((op) => (op.kind === 'delete' ? op.id : op.vendor.id)))],
          useCases: plan.useCaseOps.map((op) => op.id),
        };
        const report = (applied: boolean, revision: number): ImportReport => ({ dryRun, applied, diff: plan.diff, widening: plan.widening, problems: plan.problems, counts: plan.counts, revision });
        if (dryRun) {
          await record(req, registryEventTypes.import, 'success', summary);
          return report(false, await readRegistryRevision(db));
        }
        if (plan.vendorOps.length > 0) require(req, adminActions.vendorsManage);
        if (plan.problems.length > 0) {
          throw new GatewayError('registry_import_invalid', { detail: { problems: cap(plan.problems.map((p) => `${p.subject} ${p.path}: ${p.problem}`)) } });
        }
        if (unapproved.length > 0) {
          throw new GatewayError('registry_import_widening', { detail: { widening: cap(unapproved.map((w) => `${w.subject} ${w.path}: ${w.rule} (${w.basis})`)) } });
        }
        const revision = await applyImportPlan(db, plan, now);
        await record(req, registryEventTypes.import, 'success', summary);
        return report(plan.vendorOps.length + plan.useCaseOps.length > 0, revision);
      });
    },
  };
}
