// SPDX-License-Identifier: Apache-2.0
/**
 * The use-case service, shared by the admin API (console/use-case-routes.ts) and the CLI
 * (`phigate usecases`): create, propose a change, submit, approve or reject, go live, suspend,
 * resume, retire and roll back, under the rules of registry/governance.ts.
 *
 * - Any change to a spec is a new version. The live version keeps serving until a newer one is
 *   approved by the committee and taken live; a rollback serves the last approved one again.
 * - Each call checks the actor's permission by exact name (`admin:usecases.manage`,
 *   `admin:usecases.approve`, `admin:registry.read`), and approvals check the actor's roles
 *   against the committee seats.
 * - Every write is one transaction that also bumps the registry revision, then an audit event
 *   (`usecase.*`), durable before the call returns. Refusals are audited too. Audit records carry
 *   ids, version numbers, states, seats and field names; reasons stay in the registry tables.
 * - Risk is shown on every read: derived from the spec, or the override with its justification.
 */
import { collectSchemaKeys, summarizeZodIssues } from '../gateway/openai/zod-issues.js';
import { adminActions, hasPermission, type AccessPolicy, type AdminAction } from '../access/rbac.js';
import type { AuditEvent } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import {
  createUseCaseRepo,
  type ApprovalRecord,
  type ApprovalSource,
  type TransitionAction,
  type TransitionRecord,
  type UseCaseAggregate,
  type UseCaseChange,
  type UseCaseRepo,
  type UseCaseVersionRecord,
} from '../store/repos/use-case-repo.js';
import type { Database } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { changedTopLevelFields, diffValues } from './diff.js';
import type { CommitteeSeat } from './governance-config.js';
import {
  assertGoLive,
  assertUseCaseTransition,
  assertVersionTransition,
  evaluateApprovals,
  requiredSeats,
  seatForDecision,
  type ApprovalEvaluation,
  type CommitteeDecision,
  type Decision,
} from './governance.js';
import type { UseCaseState } from './registry-view.js';
import { derivedRisk, effectiveRisk, useCaseIdPattern, useCaseSpecSchema, type RiskLevel, type UseCaseSpec } from './use-case-spec.js';

/** Audit event types of the use-case registry. */
export const useCaseEventTypes = {
  create: 'usecase.create',
  propose: 'usecase.propose',
  submit: 'usecase.submit',
  approve: 'usecase.approve',
  reject: 'usecase.reject',
  goLive: 'usecase.golive',
  suspend: 'usecase.suspend',
  resume: 'usecase.resume',
  retire: 'usecase.retire',
  rollback: 'usecase.rollback',
  list: 'usecase.list',
  read: 'usecase.read',
} as const;
export type UseCaseEventType = (typeof useCaseEventTypes)[keyof typeof useCaseEventTypes];

/** Audit event types of the policy-as-code export and import (registry/policy-as-code.ts). */
export const registryEventTypes = {
  export: 'registry.export',
  import: 'registry.import',
} as const;

/** Who acts: a signed-in person, an admin API key, or an operator at the CLI. */
export interface UseCaseActor {
  readonly userId: string;
  readonly kind: 'user' | 'service';
  readonly roles: readonly string[];
  readonly authMethod: string;
  readonly apiKeyId?: string | undefined;
}

export interface UseCaseRequest {
  readonly actor: UseCaseActor;
  readonly requestId: string;
  readonly client?: { readonly ip?: string | undefined; readonly userAgent?: string | undefined } | undefined;
  /** Where decisions are recorded from (default `console`). */
  readonly source?: Exclude<ApprovalSource, 'import'>;
}

/** The risk a reader sees: derived, effective, and the override with its justification when there is one. */
export interface RiskView {
  readonly derived: RiskLevel;
  readonly effective: RiskLevel;
  readonly override?: { readonly level: RiskLevel; readonly justification: string };
}

export interface CommitteeView {
  readonly status: ApprovalEvaluation['status'];
  readonly required: readonly string[];
  readonly filled: Readonly<Record<string, string>>;
  readonly missing: readonly string[];
}

export interface VersionView extends Omit<UseCaseVersionRecord, 'useCaseId'> {
  readonly risk: RiskView;
  readonly approvals: readonly ApprovalRecord[];
  readonly committee: CommitteeView;
}

export interface UseCaseView {
  readonly id: string;
  readonly state: UseCaseState;
  readonly liveVersion: number | null;
  /** The optimistic-concurrency counter; send it back as `expectedVersion` to make sure nothing changed since. */
  readonly version: number;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The risk of the live version, or of the newest version before the first go-live. */
  readonly risk: RiskView;
  readonly versions: readonly VersionView[];
}

export interface UseCaseSummary {
  readonly id: string;
  readonly name: string;
  readonly classification: UseCaseSpec['classification'];
  readonly deploymentPattern: UseCaseSpec['deploymentPattern'];
  readonly state: UseCaseState;
  readonly liveVersion: number | null;
  readonly latestVersion: number;
  /** The newest version while it is draft or submitted. */
  readonly pendingVersion: { readonly number: number; readonly state: 'draft' | 'submitted' } | null;
  readonly risk: RiskView;
  readonly version: number;
  readonly updatedAt: number;
}

interface Common {
  /** Fails with `use_case_version_conflict` unless the use case is still at this version. */
  readonly expectedVersion?: number | undefined;
}

export interface UseCaseService {
  list(req: UseCaseRequest): Promise<readonly UseCaseSummary[]>;
  get(req: UseCaseRequest, id: string): Promise<UseCaseView>;
  history(req: UseCaseRequest, id: string): Promise<readonly TransitionRecord[]>;
  /** A new use case in `draft` with version 1. */
  create(req: UseCaseRequest, input: { readonly id: string; readonly spec: unknown; readonly reason?: string | undefined }): Promise<UseCaseView>;
  /** A new draft version; an unsubmitted draft or a submitted version under review is superseded by it. */
  propose(req: UseCaseRequest, id: string, input: Common & { readonly spec: unknown; readonly reason: string }): Promise<UseCaseView>;
  /** Sends a draft version (default: the open one) to the committee. */
  submit(req: UseCaseRequest, id: string, input: Common & { readonly version?: number | undefined; readonly reason: string }): Promise<UseCaseView>;
  approve(req: UseCaseRequest, id: string, input: Common & { readonly version: number; readonly seat?: string | undefined; readonly reason: string }): Promise<UseCaseView>;
  reject(req: UseCaseRequest, id: string, input: Common & { readonly version: number; readonly seat?: string | undefined; readonly reason: string }): Promise<UseCaseView>;
  /** Serves an approved version (default: the newest approved one). */
  goLive(req: UseCaseRequest, id: string, input: Common & { readonly version?: number | undefined; readonly reason: string }): Promise<UseCaseView>;
  suspend(req: UseCaseRequest, id: string, input: Common & { readonly reason: string }): Promise<UseCaseView>;
  resume(req: UseCaseRequest, id: string, input: Common & { readonly reason: string }): Promise<UseCaseView>;
  retire(req: UseCaseRequest, id: string, input: Common & { readonly reason: string }): Promise<UseCaseView>;
  /** Serves the last approved version before the live one again; the live one is superseded. */
  rollback(req: UseCaseRequest, id: string, input: Common & { readonly reason: string }): Promise<UseCaseView>;
}

export interface UseCaseServiceOptions {
  readonly db: Kysely<Database>;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly policy: AccessPolicy;
  readonly committee: readonly CommitteeSeat[];
}

/** An audit event about a use case: ids, versions, states, seats and field names only. */
export type UseCaseAuditEvent = AuditEvent & {
  readonly subject: { readonly kind: 'use_case' | 'registry'; readonly id: string };
  readonly change?: Readonly<Record<string, string | number | boolean | null | readonly string[]>>;
};

const audited = new WeakSet<object>();

/** Whether the service already wrote the refusal record for this error (routes then write none). */
export function isAuditedRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && audited.has(err);
}

/** Marks an error as audited (for other registry modules that write their own refusal records). */
export function markAudited(err: unknown): void {
  if (typeof err === 'object' && err !== null) audited.add(err);
}

const specKeys = collectSchemaKeys([useCaseSpecSchema]);

/** Parses a spec from a request, file or import; refusals name field paths, never values. */
export function parseUseCaseSpec(input: unknown, param = 'spec'): UseCaseSpec {
  const parsed = useCaseSpecSchema.safeParse(input);
  if (!parsed.success) throw new GatewayError('invalid_request', { param, detail: summarizeZodIssues(parsed.error, { knownKeys: specKeys }) });
  return parsed.data;
}

function checkReason(reason: string | undefined, required: boolean): string | null {
  const text = reason?.trim() ?? '';
  if (text === '') {
    if (required) throw new GatewayError('invalid_request', { param: 'reason', detail: { field: 'reason', problem: 'required' } });
    return null;
  }
  if (text.length > 2000) throw new GatewayError('invalid_request', { param: 'reason', detail: { field: 'reason', problem: 'at most 2000 characters' } });
  return text;
}

/** Risk as shown on reads. */
export function riskOf(spec: UseCaseSpec): RiskView {
  return {
    derived: derivedRisk(spec),
    effective: effectiveRisk(spec),
    ...(spec.riskOverride === undefined ? {} : { override: { level: spec.riskOverride.level, justification: spec.riskOverride.justification } }),
  };
}

/** The committee decisions on one version, as governance evaluates them (role as recorded). */
export function decisionsOf(approvals: readonly ApprovalRecord[], version: number): CommitteeDecision[] {
  return approvals.filter((a) => a.version === version).map((a) => ({ seat: a.seat, userId: a.userId, decision: a.decision, roles: [a.role] }));
}

/** The read model of a use case. */
export function toUseCaseView(aggregate: UseCaseAggregate, committee: readonly CommitteeSeat[]): UseCaseView {
  const { useCase, versions, approvals } = aggregate;
  const versionViews: VersionView[] = versions.map((v) => {
    const facts = { committee, classification: v.spec.classification, submittedBy: v.submittedBy ?? undefined };
    const evaluation = evaluateApprovals(facts, decisionsOf(approvals, v.number));
    const { useCaseId: _unused, ...rest } = v;
    return {
      ...rest,
      risk: riskOf(v.spec),
      approvals: approvals.filter((a) => a.version === v.number),
      committee: { status: evaluation.status, required: requiredSeats(committee, v.spec.classification).map((s) => s.seat), filled: evaluation.filled, missing: evaluation.missing },
    };
  });
  const shown = versions.find((v) => v.number === useCase.liveVersion) ?? versions[versions.length - 1];
  if (!shown) throw new Error('a use case has no versions');
  return { ...useCase, risk: riskOf(shown.spec), versions: versionViews };
}

function summaryOf(aggregate: UseCaseAggregate): UseCaseSummary {
  const { useCase, versions } = aggregate;
  const latest = versions[versions.length - 1];
  if (!latest) throw new Error('a use case has no versions');
  const shown = versions.find((v) => v.number === useCase.liveVersion) ?? latest;
  return {
    id: useCase.id,
    name: shown.spec.name,
    classification: shown.spec.classification,
    deploymentPattern: shown.spec.deploymentPattern,
    state: useCase.state,
    liveVersion: useCase.liveVersion,
    latestVersion: latest.number,
    pendingVersion: latest.state === 'draft' || latest.state === 'submitted' ? { number: latest.number, state: latest.state } : null,
    risk: riskOf(shown.spec),
    version: useCase.version,
    updatedAt: useCase.updatedAt,
  };
}

export function createUseCaseService(options: UseCaseServiceOptions): UseCaseService {
  const { clock, policy, committee } = options;
  const repo: UseCaseRepo = createUseCaseRepo(options.db);

  function event(req: UseCaseRequest, type: string, useCaseId: string, outcome: 'success' | 'denied', extra: { status?: number; errorCode?: string; change?: UseCaseAuditEvent['change'] } = {}): UseCaseAuditEvent {
    const now = clock.now();
    return {
      id: uuidv7(now),
      recordedAt: new Date(now).toISOString(),
      type,
      stage: outcome === 'success' ? 'completed' : 'refused',
      outcome,
      requestId: req.requestId,
      status: extra.status ?? 200,
      errorCode: extra.errorCode,
      actor: { userId: req.actor.userId, kind: req.actor.kind, roles: req.actor.roles, authMethod: req.actor.authMethod, apiKeyId: req.actor.apiKeyId },
      client: req.client,
      instance: options.instanceId,
      ...(useCaseId === '' ? {} : { useCase: useCaseId }),
      subject: { kind: 'use_case', id: useCaseId === '' ? '*' : useCaseId },
      ...(extra.change === undefined ? {} : { change: extra.change }),
    };
  }

  /** Runs one call; a GatewayError it throws is audited as a refusal (once) before it propagates. */
  async function guarded<T>(req: UseCaseRequest, type: UseCaseEventType, useCaseId: string, fn: () => Promise<{ value: T; change?: UseCaseAuditEvent['change'] }>): Promise<T> {
    let result: { value: T; change?: UseCaseAuditEvent['change'] };
    try {
      result = await fn();
    } catch (err) {
      if (err instanceof GatewayError && !isAuditedRefusal(err)) {
        // The id is recorded only when it is well formed: a malformed one is caller text.
        const id = useCaseIdPattern.test(useCaseId) ? useCaseId : '';
        await options.audit.append(event(req, type, id, 'denied', { status: err.status, errorCode: err.code }));
        markAudited(err);
      }
      throw err;
    }
    await options.audit.append(event(req, type, useCaseId, 'success', result.change === undefined ? {} : { change: result.change }));
    return result.value;
  }

  function requirePermission(req: UseCaseRequest, action: AdminAction): void {
    if (!hasPermission(policy, req.actor.roles, action)) throw new GatewayError('permission_denied', { detail: { permission: action } });
  }

  function checkId(id: string): string {
    if (!useCaseIdPattern.test(id)) throw new GatewayError('invalid_request', { param: 'id', detail: { field: 'id', expected: 'lowercase letters, digits, ".", "_" or "-" (at most 64)' } });
    return id;
  }

  async function load(id: string, expectedVersion: number | undefined): Promise<UseCaseAggregate> {
    const aggregate = await repo.get(checkId(id));
    if (!aggregate) throw new GatewayError('use_case_not_found', { detail: { useCase: id } });
    if (expectedVersion !== undefined && aggregate.useCase.version !== expectedVersion) {
      throw new GatewayError('use_case_version_conflict', { detail: { useCase: id, expectedVersion, currentVersion: aggregate.useCase.version } });
    }
    return aggregate;
  }

  function versionOf(aggregate: UseCaseAggregate, number: number): UseCaseVersionRecord {
    const v = aggregate.versions.find((x) => x.number === number);
    if (!v) throw new GatewayError('use_case_version_not_found', { detail: { useCase: aggregate.useCase.id, version: number } });
    return v;
  }

  async function commit(
    req: UseCaseRequest,
    aggregate: UseCaseAggregate,
    action: TransitionAction,
    next: { state: UseCaseState; liveVersion: number | null; version: number | null; reason: string | null } & Pick<UseCaseChange, 'newVersions' | 'versionUpdates' | 'approvals'>,
  ): Promise<UseCaseView> {
    const at = clock.now();
    await repo.apply({
      id: aggregate.useCase.id,
      expectedVersion: aggregate.useCase.version,
      state: next.state,
      liveVersion: next.liveVersion,
      at,
      ...(next.newVersions === undefined ? {} : { newVersions: next.newVersions }),
      ...(next.versionUpdates === undefined ? {} : { versionUpdates: next.versionUpdates }),
      ...(next.approvals === undefined ? {} : { approvals: next.approvals }),
      transitions: [{ version: next.version, action, fromState: aggregate.useCase.state, toState: next.state, actor: req.actor.userId, reason: next.reason }],
    });
    const updated = await repo.get(aggregate.useCase.id);
    if (!updated) throw new GatewayError('use_case_not_found', { detail: { useCase: aggregate.useCase.id } });
    return toUseCaseView(updated, committee);
  }

  const stateChange = (from: UseCaseState, to: UseCaseState, extra: Record<string, string | number | boolean | null | readonly string[]> = {}) => ({ fromState: from, toState: to, ...extra });

  async function decide(req: UseCaseRequest, id: string, input: Common & { version: number; seat?: string | undefined; reason: string }, decision: Decision) {
    requirePermission(req, adminActions.useCasesApprove);
    // Committee seats are held by people; a service account cannot sit on the committee.
    if (req.actor.kind !== 'user') throw new GatewayError('use_case_approval_refused', { detail: { rule: 'people_only' } });
    const reason = checkReason(input.reason, true);
    const aggregate = await load(id, input.expectedVersion);
    const version = versionOf(aggregate, input.version);
    if (version.state !== 'submitted') throw new GatewayError('use_case_invalid_transition', { detail: { action: decision, from: version.state, to: decision === 'approve' ? 'approved' : 'rejected', subject: 'version' } });
    const facts = { committee, classification: version.spec.classification, submittedBy: version.submittedBy ?? undefined };
    const recorded = decisionsOf(aggregate.approvals, version.number);
    const seat = seatForDecision(facts, recorded, req.actor, decision, input.seat);
    const role = committee.find((s) => s.seat === seat)?.role ?? '';
    const at = clock.now();
    const evaluation = evaluateApprovals(facts, [...recorded, { seat, userId: req.actor.userId, decision, roles: [role] }]);
    const from = aggregate.useCase.state;
    let state = from;
    const versionUpdates: NonNullable<UseCaseChange['versionUpdates']>[number][] = [];
    if (evaluation.status === 'approved') {
      assertVersionTransition(version.state, 'approved', decision);
      versionUpdates.push({ number: version.number, state: 'approved', approvedAt: at, decidedAt: at });
      if (from === 'submitted') state = 'approved';
    } else if (evaluation.status === 'rejected') {
      assertVersionTransition(version.state, 'rejected', decision);
      versionUpdates.push({ number: version.number, state: 'rejected', decidedAt: at });
      if (from === 'submitted') state = 'draft';
    }
    if (state !== from) assertUseCaseTransition(from, state, decision);
    const view = await commit(req, aggregate, decision, {
      state,
      liveVersion: aggregate.useCase.liveVersion,
      version: version.number,
      reason,
      versionUpdates,
      approvals: [{ version: version.number, seat, role, userId: req.actor.userId, decision, reason, at, source: req.source ?? 'console' }],
    });
    return { value: view, change: stateChange(from, state, { version: version.number, seat, decision, committee: evaluation.status, missingSeats: evaluation.missing }) };
  }

  async function simple(req: UseCaseRequest, id: string, input: Common & { reason: string }, action: 'suspend' | 'resume' | 'retire', allowed: readonly UseCaseState[], to: UseCaseState) {
    requirePermission(req, adminActions.useCasesManage);
    const reason = checkReason(input.reason, true);
    const aggregate = await load(id, input.expectedVersion);
    const from = aggregate.useCase.state;
    if (!allowed.includes(from)) throw new GatewayError('use_case_invalid_transition', { detail: { action, from, to, subject: 'use_case' } });
    assertUseCaseTransition(from, to, action);
    if (action === 'resume') {
      const live = aggregate.useCase.liveVersion;
      if (live === null) throw new GatewayError('use_case_invalid_transition', { detail: { action, from, to, subject: 'version' } });
      assertGoLive(versionOf(aggregate, live).spec);
    }
    const view = await commit(req, aggregate, action, { state: to, liveVersion: aggregate.useCase.liveVersion, version: aggregate.useCase.liveVersion, reason });
    return { value: view, change: stateChange(from, to, { liveVersion: aggregate.useCase.liveVersion }) };
  }

  return {
    list: (req) =>
      guarded(req, useCaseEventTypes.list, '', async () => {
        requirePermission(req, adminActions.registryRead);
        const all = await repo.list();
        return { value: all.map(summaryOf), change: { count: all.length } };
      }),

    get: (req, id) =>
      guarded(req, useCaseEventTypes.read, id, async () => {
        requirePermission(req, adminActions.registryRead);
        return { value: toUseCaseView(await load(id, undefined), committee) };
      }),

    history: (req, id) =>
      guarded(req, useCaseEventTypes.read, id, async () => {
        requirePermission(req, adminActions.registryRead);
        await load(id, undefined);
        const history = await repo.history(id);
        return { value: history, change: { view: 'history', count: history.length } };
      }),

    create: (req, input) =>
      guarded(req, useCaseEventTypes.create, input.id, async () => {
        requirePermission(req, adminActions.useCasesManage);
        const id = checkId(input.id);
        const spec = parseUseCaseSpec(input.spec);
        const reason = checkReason(input.reason, false);
        const at = clock.now();
        await repo.apply({
          id,
          expectedVersion: 0,
          state: 'draft',
          liveVersion: null,
          createdBy: req.actor.userId,
          at,
          newVersions: [{ number: 1, spec, state: 'draft', createdBy: req.actor.userId, createdAt: at, reason, submittedBy: null, submittedAt: null, approvedAt: null, decidedAt: null }],
          transitions: [{ version: 1, action: 'create', fromState: null, toState: 'draft', actor: req.actor.userId, reason }],
        });
        const created = await repo.get(id);
        if (!created) throw new GatewayError('use_case_not_found', { detail: { useCase: id } });
        return { value: toUseCaseView(created, committee), change: { version: 1, toState: 'draft', classification: spec.classification, deploymentPattern: spec.deploymentPattern, risk: effectiveRisk(spec) } };
      }),

    propose: (req, id, input) =>
      guarded(req, useCaseEventTypes.propose, id, async () => {
        requirePermission(req, adminActions.useCasesManage);
        const reason = checkReason(input.reason, true);
        const spec = parseUseCaseSpec(input.spec);
        const aggregate = await load(id, input.expectedVersion);
        const from = aggregate.useCase.state;
        if (from === 'retired') throw new GatewayError('use_case_invalid_transition', { detail: { action: 'propose', from, to: from, subject: 'use_case' } });
        const open = aggregate.versions.filter((v) => v.state === 'draft' || v.state === 'submitted');
        const latest = aggregate.versions[aggregate.versions.length - 1];
        const base = open[open.length - 1] ?? aggregate.versions.find((v) => v.number === aggregate.useCase.liveVersion) ?? latest;
        if (!latest || !base) throw new Error('a use case has no versions');
        const changes = diffValues(base.spec, spec);
        if (changes.length === 0) throw new GatewayError('invalid_request', { param: 'spec', detail: { reason: 'no_change', baseVersion: base.number } });
        const at = clock.now();
        const number = latest.number + 1;
        const versionUpdates = open.map((v) => {
          assertVersionTransition(v.state, 'superseded', 'propose');
          return { number: v.number, state: 'superseded' as const, decidedAt: at };
        });
        // A use case whose only version was under review goes back to draft with the new one.
        const state: UseCaseState = from === 'submitted' ? 'draft' : from;
        if (state !== from) assertUseCaseTransition(from, state, 'propose');
        const view = await commit(req, aggregate, 'propose', {
          state,
          liveVersion: aggregate.useCase.liveVersion,
          version: number,
          reason,
          newVersions: [{ number, spec, state: 'draft', createdBy: req.actor.userId, createdAt: at, reason, submittedBy: null, submittedAt: null, approvedAt: null, decidedAt: null }],
          versionUpdates,
        });
        return {
          value: view,
          change: stateChange(from, state, { version: number, baseVersion: base.number, changedFields: changedTopLevelFields(changes), supersededVersions: open.map((v) => String(v.number)), risk: effectiveRisk(spec) }),
        };
      }),

    submit: (req, id, input) =>
      guarded(req, useCaseEventTypes.submit, id, async () => {
        requirePermission(req, adminActions.useCasesManage);
        const reason = checkReason(input.reason, true);
        const aggregate = await load(id, input.expectedVersion);
        const from = aggregate.useCase.state;
        const number = input.version ?? aggregate.versions.filter((v) => v.state === 'draft').pop()?.number;
        if (number === undefined) throw new GatewayError('use_case_invalid_transition', { detail: { action: 'submit', from, to: 'submitted', subject: 'version' } });
        const version = versionOf(aggregate, number);
        assertVersionTransition(version.state, 'submitted', 'submit');
        if (from === 'retired') throw new GatewayError('use_case_invalid_transition', { detail: { action: 'submit', from, to: 'submitted', subject: 'use_case' } });
        const state: UseCaseState = from === 'draft' ? 'submitted' : from;
        if (state !== from) assertUseCaseTransition(from, state, 'submit');
        const at = clock.now();
        const view = await commit(req, aggregate, 'submit', {
          state,
          liveVersion: aggregate.useCase.liveVersion,
          version: number,
          reason,
          versionUpdates: [{ number, state: 'submitted', submittedBy: req.actor.userId, submittedAt: at }],
        });
        return { value: view, change: stateChange(from, state, { version: number, requiredSeats: requiredSeats(committee, version.spec.classification).map((s) => s.seat), risk: effectiveRisk(version.spec) }) };
      }),

    approve: (req, id, input) => guarded(req, useCaseEventTypes.approve, id, () => decide(req, id, input, 'approve')),
    reject: (req, id, input) => guarded(req, useCaseEventTypes.reject, id, () => decide(req, id, input, 'reject')),

    goLive: (req, id, input) =>
      guarded(req, useCaseEventTypes.goLive, id, async () => {
        requirePermission(req, adminActions.useCasesManage);
        const reason = checkReason(input.reason, true);
        const aggregate = await load(id, input.expectedVersion);
        const from = aggregate.useCase.state;
        const number = input.version ?? aggregate.versions.filter((v) => v.state === 'approved' && v.number !== aggregate.useCase.liveVersion).pop()?.number;
        if (!(from === 'approved' || from === 'live' || from === 'suspended') || number === undefined) {
          throw new GatewayError('use_case_invalid_transition', { detail: { action: 'golive', from, to: 'live', subject: number === undefined ? 'version' : 'use_case' } });
        }
        const version = versionOf(aggregate, number);
        if (version.state !== 'approved' || number === aggregate.useCase.liveVersion) {
          throw new GatewayError('use_case_invalid_transition', { detail: { action: 'golive', from: version.state, to: 'live', subject: 'version' } });
        }
        if (from !== 'live') assertUseCaseTransition(from, 'live', 'golive');
        assertGoLive(version.spec);
        const at = clock.now();
        // The version that served before, and any approved one older than the new live one, are superseded.
        const previous = aggregate.useCase.liveVersion;
        const superseded = aggregate.versions.filter((v) => v.state === 'approved' && v.number !== number && (v.number === previous || v.number < number));
        const view = await commit(req, aggregate, 'golive', {
          state: 'live',
          liveVersion: number,
          version: number,
          reason,
          versionUpdates: superseded.map((v) => {
            assertVersionTransition(v.state, 'superseded', 'golive');
            return { number: v.number, state: 'superseded' as const, decidedAt: at };
          }),
        });
        return { value: view, change: stateChange(from, 'live', { version: number, previousLiveVersion: aggregate.useCase.liveVersion, risk: effectiveRisk(version.spec) }) };
      }),

    suspend: (req, id, input) => guarded(req, useCaseEventTypes.suspend, id, () => simple(req, id, input, 'suspend', ['live'], 'suspended')),
    resume: (req, id, input) => guarded(req, useCaseEventTypes.resume, id, () => simple(req, id, input, 'resume', ['suspended'], 'live')),
    retire: (req, id, input) =>
      guarded(req, useCaseEventTypes.retire, id, () => simple(req, id, input, 'retire', ['draft', 'submitted', 'approved', 'live', 'suspended'], 'retired')),

    rollback: (req, id, input) =>
      guarded(req, useCaseEventTypes.rollback, id, async () => {
        requirePermission(req, adminActions.useCasesManage);
        const reason = checkReason(input.reason, true);
        const aggregate = await load(id, input.expectedVersion);
        const from = aggregate.useCase.state;
        const live = aggregate.useCase.liveVersion;
        if ((from !== 'live' && from !== 'suspended') || live === null) throw new GatewayError('use_case_invalid_transition', { detail: { action: 'rollback', from, to: from, subject: 'use_case' } });
        const target = aggregate.versions.filter((v) => v.number < live && v.approvedAt !== null && (v.state === 'superseded' || v.state === 'approved')).pop();
        if (!target) throw new GatewayError('use_case_invalid_transition', { detail: { action: 'rollback', from, to: from, subject: 'version', problem: 'no_earlier_approved_version' } });
        const current = versionOf(aggregate, live);
        assertVersionTransition(current.state, 'superseded', 'rollback');
        if (target.state === 'superseded') assertVersionTransition(target.state, 'approved', 'rollback');
        assertGoLive(target.spec);
        const at = clock.now();
        const view = await commit(req, aggregate, 'rollback', {
          state: from,
          liveVersion: target.number,
          version: target.number,
          reason,
          versionUpdates: [
            { number: current.number, state: 'superseded', decidedAt: at },
            ...(target.state === 'superseded' ? [{ number: target.number, state: 'approved' as const }] : []),
          ],
        });
        return { value: view, change: stateChange(from, from, { version: target.number, previousLiveVersion: live, changedFields: changedTopLevelFields(diffValues(current.spec, target.spec)) }) };
      }),
  };
}
