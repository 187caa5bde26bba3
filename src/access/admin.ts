// SPDX-License-Identifier: Apache-2.0
/**
 * Access administration, shared by the admin API (console/access-routes.ts) and the CLI
 * (`phigate careteam`, `phigate breakglass`): care-team assignments and imports, units,
 * access profiles, break-glass sessions and their review. Each call checks the actor's
 * permission by exact name, makes the change, and appends an audit event (durable before the
 * call returns). Audit events carry ids and the keyed patient hash, never a patient id or a
 * break-glass reason.
 */
import type { AuditWriter } from '../audit/writer.js';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import type { AccessIncident, BreakGlassSession, BreakGlassSessionDetail, ReviewOutcome, ReviewStatus } from '../store/repos/break-glass-repo.js';
import type { AccessProfile, CareTeamAssignment } from '../store/repos/care-team-repo.js';
import type { UserRepo } from '../store/repos/user-repo.js';
import { accessAuditEvent, accessAuditEventTypes, type AccessAuditEventType } from './audit.js';
import { validateBreakGlassRequest } from './break-glass.js';
import { decideAccess } from './decision.js';
import { applyImport, createUserResolver, normalisePatientRef, planCsvImport, planFhirImport, type ImportProblem } from './patient-access.js';
import { adminActions, hasPermission, requestActions, type AdminAction } from './rbac.js';
import type { AccessService } from './service.js';
import type { PurposeOfUse } from '../gateway/headers.js';
import { purposeOfUseCodes } from '../gateway/headers.js';
import type { AccessDeps } from './service.js';

export interface AccessActor {
  readonly userId: string;
  readonly kind: 'user' | 'service';
  readonly roles: readonly string[];
  readonly authMethod: string;
  readonly apiKeyId?: string | undefined;
}

export interface AccessAdminRequest {
  readonly actor: AccessActor;
  readonly requestId: string;
}

export interface ImportResult {
  readonly imported: number;
  readonly skipped: number;
  readonly problems: readonly ImportProblem[];
  readonly ids: readonly string[];
}

export interface AccessAdmin {
  assign(req: AccessAdminRequest, input: { user: string; patient: string; role: string; startAt?: number | undefined; endAt?: number | null | undefined }): Promise<CareTeamAssignment>;
  endAssignment(req: AccessAdminRequest, id: string): Promise<void>;
  listAssignments(req: AccessAdminRequest, filter: { user?: string | undefined; patient?: string | undefined; activeOnly?: boolean | undefined }): Promise<readonly CareTeamAssignment[]>;
  importCsv(req: AccessAdminRequest, text: string): Promise<ImportResult>;
  importFhir(req: AccessAdminRequest, json: unknown): Promise<ImportResult>;
  setProfile(req: AccessAdminRequest, user: string, changes: { organisation?: string | undefined; npi?: string | null | undefined; breakGlassEligible?: boolean | undefined }): Promise<AccessProfile>;
  setUnit(req: AccessAdminRequest, unitId: string, organisation: string): Promise<void>;
  addUnitMember(req: AccessAdminRequest, unitId: string, user: string): Promise<void>;
  endUnitMember(req: AccessAdminRequest, unitId: string, user: string): Promise<void>;
  placePatient(req: AccessAdminRequest, unitId: string, patient: string): Promise<void>;
  endPatientPlacement(req: AccessAdminRequest, unitId: string, patient: string): Promise<void>;
  /** Self-service: the actor opens break-glass for themself. */
  startBreakGlass(req: AccessAdminRequest, input: { patient: string; category: string; reason: string; purpose: string; minutes?: number | undefined }): Promise<BreakGlassSession>;
  /** Ends a running session: its owner, or a reviewer. */
  endBreakGlass(req: AccessAdminRequest, id: string): Promise<void>;
  listBreakGlass(req: AccessAdminRequest, status?: ReviewStatus): Promise<readonly BreakGlassSessionDetail[]>;
  review(req: AccessAdminRequest, id: string, outcome: ReviewOutcome, note?: string): Promise<BreakGlassSession>;
  listIncidents(req: AccessAdminRequest): Promise<readonly AccessIncident[]>;
}

export interface AccessAdminDeps extends AccessDeps {
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly store: AccessDeps['store'] & { readonly users: Pick<UserRepo, 'findById' | 'findByName'> };
  readonly clock: Clock;
}

const unitPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function createAccessAdmin(deps: AccessAdminDeps, service: AccessService): AccessAdmin {
  const { careTeams, breakGlass, policy } = service;
  const users = createUserResolver(deps.store.users, careTeams);

  function require(req: AccessAdminRequest, action: AdminAction): void {
    if (!hasPermission(policy, req.actor.roles, action)) throw new GatewayError('permission_denied', { detail: { permission: action } });
  }

  async function audit(req: AccessAdminRequest, type: AccessAuditEventType, detail: Record<string, string | number | boolean | null>, patient?: string): Promise<void> {
    await deps.audit.append(
      accessAuditEvent({
        type,
        now: deps.clock.now(),
        requestId: req.requestId,
        instance: deps.instanceId,
        actor: req.actor,
        patientHash: patient === undefined ? undefined : deps.keyedHash(patient, 'audit-patient'),
        detail,
      }),
    );
  }

  async function userIdOf(value: string): Promise<string> {
    const id = await users.byIdOrName(value);
    if (id === undefined) throw new GatewayError('invalid_request', { detail: { field: 'user', problem: 'no such user' } });
    return id;
  }

  function patientOf(value: string): string {
    const patient = normalisePatientRef(value);
    if (patient === undefined) throw new GatewayError('invalid_request', { detail: { field: 'patient', expected: 'Patient/<id>' } });
    return patient;
  }

  function unitOf(value: string): string {
    if (!unitPattern.test(value)) throw new GatewayError('invalid_request', { detail: { field: 'unit', expected: '1-128 letters, digits, ".", "_", ":" or "-"' } });
    return value;
  }

  async function runImport(req: AccessAdminRequest, format: 'csv' | 'fhir', plan: Awaited<ReturnType<typeof planCsvImport>>): Promise<ImportResult> {
    const ids = await applyImport(careTeams, plan, format, req.actor.userId);
    await audit(req, accessAuditEventTypes.careTeamImport, { format, imported: ids.length, skipped: plan.skipped, problems: plan.problems.length });
    return { imported: ids.length, skipped: plan.skipped, problems: plan.problems, ids };
  }

  return {
    async assign(req, input) {
      require(req, adminActions.careTeamManage);
      const userId = await userIdOf(input.user);
      const patient = patientOf(input.patient);
      if (!/^[A-Za-z0-9 _.-]{1,64}$/.test(input.role)) throw new GatewayError('invalid_request', { detail: { field: 'role' } });
      const startAt = input.startAt ?? deps.clock.now();
      if (input.endAt != null && input.endAt <= startAt) throw new GatewayError('invalid_request', { detail: { field: 'end', problem: 'end must be after start' } });
      const created = await careTeams.assign({ userId, patient, teamRole: input.role, startAt, endAt: input.endAt ?? null, source: req.actor.authMethod === 'cli' ? 'cli' : 'api', createdBy: req.actor.userId });
      await audit(req, accessAuditEventTypes.careTeamAssign, { assignmentId: created.id, userId, teamRole: created.teamRole, startAt: created.startAt, endAt: created.endAt }, patient);
      return created;
    },
    async endAssignment(req, id) {
      require(req, adminActions.careTeamManage);
      const existing = await careTeams.findById(id);
      if (existing === undefined || !(await careTeams.end(id))) throw new GatewayError('invalid_request', { detail: { field: 'id', problem: 'no open assignment with this id' } });
      await audit(req, accessAuditEventTypes.careTeamEnd, { assignmentId: id, userId: existing.userId }, existing.patient);
    },
    async listAssignments(req, filter) {
      require(req, adminActions.careTeamRead);
      return careTeams.list({
        ...(filter.user === undefined ? {} : { userId: await userIdOf(filter.user) }),
        ...(filter.patient === undefined ? {} : { patient: patientOf(filter.patient) }),
        ...(filter.activeOnly ? { activeAt: deps.clock.now() } : {}),
      });
    },
    async importCsv(req, text) {
      require(req, adminActions.careTeamManage);
      return runImport(req, 'csv', await planCsvImport(text, users, deps.clock.now()));
    },
    async importFhir(req, json) {
      require(req, adminActions.careTeamManage);
      return runImport(req, 'fhir', await planFhirImport(json, users, deps.clock.now()));
    },
    async setProfile(req, user, changes) {
      require(req, adminActions.accessProfilesManage);
      const userId = await userIdOf(user);
      if (changes.organisation !== undefined && !unitPattern.test(changes.organisation)) throw new GatewayError('invalid_request', { detail: { field: 'organisation' } });
      if (changes.npi != null && !/^\d{1,15}$/.test(changes.npi)) throw new GatewayError('invalid_request', { detail: { field: 'npi', expected: 'digits' } });
      const profile = await careTeams.setProfile(userId, changes);
      await audit(req, accessAuditEventTypes.profileChange, { userId, organisation: profile.organisation, npiSet: profile.npi !== null, breakGlassEligible: profile.breakGlassEligible });
      return profile;
    },
    async setUnit(req, unitId, organisation) {
      require(req, adminActions.careTeamManage);
      await careTeams.upsertUnit(unitOf(unitId), unitOf(organisation));
      await audit(req, accessAuditEventTypes.unitChange, { change: 'set_unit', unitId, organisation });
    },
    async addUnitMember(req, unitId, user) {
      require(req, adminActions.careTeamManage);
      const userId = await userIdOf(user);
      await careTeams.addUnitMember(unitOf(unitId), userId);
      await audit(req, accessAuditEventTypes.unitChange, { change: 'add_member', unitId, userId });
    },
    async endUnitMember(req, unitId, user) {
      require(req, adminActions.careTeamManage);
      const userId = await userIdOf(user);
      const ended = await careTeams.endUnitMember(unitOf(unitId), userId);
      await audit(req, accessAuditEventTypes.unitChange, { change: 'end_member', unitId, userId, ended });
    },
    async placePatient(req, unitId, patientRef) {
      require(req, adminActions.careTeamManage);
      const patient = patientOf(patientRef);
      await careTeams.placePatient(unitOf(unitId), patient);
      await audit(req, accessAuditEventTypes.unitChange, { change: 'place_patient', unitId }, patient);
    },
    async endPatientPlacement(req, unitId, patientRef) {
      require(req, adminActions.careTeamManage);
      const patient = patientOf(patientRef);
      const ended = await careTeams.endPatientPlacement(unitOf(unitId), patient);
      await audit(req, accessAuditEventTypes.unitChange, { change: 'end_placement', unitId, ended }, patient);
    },
    async startBreakGlass(req, input) {
      if (req.actor.kind !== 'user') throw new GatewayError('permission_denied', { detail: { reason: 'break_glass_is_personal' } });
      const patient = patientOf(input.patient);
      const request = validateBreakGlassRequest(input.category, input.reason);
      if (!(purposeOfUseCodes as readonly string[]).includes(input.purpose)) throw new GatewayError('invalid_request', { detail: { field: 'purpose', expected: 'an HL7 PurposeOfUse code' } });
      const purpose = input.purpose as PurposeOfUse;
      const relationship = await service.relationship(req.actor.userId, patient);
      const decision = decideAccess({
        policy,
        roles: req.actor.roles,
        action: requestActions.phiRead,
        patient: { relationship: relationship.relationship },
        purpose,
        breakGlass: { active: true, eligible: relationship.breakGlassEligible },
      });
      if (!decision.allow) throw new GatewayError(decision.code, { detail: { reason: decision.reason } });
      const session = await service.openBreakGlass(req.actor.userId, patient, request, purpose, input.minutes);
      await audit(req, accessAuditEventTypes.breakGlassStart, { breakGlass: true, breakGlassSessionId: session.id, category: session.category, expiresAt: session.expiresAt, alertsQueued: service.channelIds.length, via: 'api' }, patient);
      return session;
    },
    async endBreakGlass(req, id) {
      const session = await breakGlass.findById(id);
      const isOwner = session?.userId === req.actor.userId;
      if (!isOwner) require(req, adminActions.breakGlassReview);
      if (session === undefined || !(await breakGlass.end(id))) throw new GatewayError('invalid_request', { detail: { field: 'id', problem: 'no running session with this id' } });
      await audit(req, accessAuditEventTypes.breakGlassEnd, { breakGlassSessionId: id }, session.patient);
    },
    async listBreakGlass(req, status) {
      require(req, adminActions.breakGlassReview);
      return breakGlass.list(status === undefined ? {} : { status });
    },
    async review(req, id, outcome, note) {
      require(req, adminActions.breakGlassReview);
      const session = await breakGlass.findById(id);
      // No one reviews their own emergency access.
      if (session?.userId === req.actor.userId) throw new GatewayError('permission_denied', { detail: { reason: 'own_session' } });
      const reviewed = session === undefined ? undefined : await breakGlass.review(id, { outcome, reviewerId: req.actor.userId, note, at: deps.clock.now() });
      if (reviewed === undefined || session === undefined) throw new GatewayError('invalid_request', { detail: { field: 'id', problem: 'no open session with this id' } });
      await audit(req, accessAuditEventTypes.breakGlassReview, { breakGlassSessionId: id, outcome, incidentId: reviewed.incidentId, subjectUserId: session.userId }, session.patient);
      return reviewed;
    },
    async listIncidents(req) {
      require(req, adminActions.breakGlassReview);
      return breakGlass.listIncidents();
    },
  };
}
