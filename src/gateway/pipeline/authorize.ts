// SPDX-License-Identifier: Apache-2.0
/**
 * Step 2 — may they? Validates the gateway headers (the sensitivity labels included), applies
 * the credential's use-case scope, resolves the named use case to its live version in the
 * registry (its roles, purposes and models), checks the caller's roles for the action, and —
 * when a patient is named — the caller's relationship to that patient (care team, unit, or
 * break-glass) for the purpose of use they assert (access/decision.ts). Refusals happen here,
 * before any context is gathered or any vendor is called; the closing audit record is written
 * for them like for every request. Finally finds the endpoints serving the model (which of them
 * the request may use is decided in protect, policy/routing.ts). Deny by default.
 *
 * Service accounts never reach PHI alone: with a patient named, the decision is made for the
 * user the service acts for (`principal.onBehalfOf`), and the service itself must hold
 * `phi:read.delegated`.
 */
import { accessAuditEvent, accessAuditEventTypes } from '../../access/audit.js';
import { breakGlassHeader, parseBreakGlassHeader, type BreakGlassRequest } from '../../access/break-glass.js';
import { decideAccess, type AccessDecision } from '../../access/decision.js';
import { requestActions, type RequestAction } from '../../access/rbac.js';
import { setRequestAccess } from '../../access/request-state.js';
import { accessServiceFor, type AccessService } from '../../access/service.js';
import type { Principal } from '../../auth/principal.js';
import { GatewayError } from '../../kernel/errors.js';
import type { LiveUseCase, RegistrySnapshot } from '../../registry/registry-view.js';
import { parseSensitivityHeader, sensitivityHeader } from '../../registry/sensitivity.js';
import { parseGatewayHeaders, type GatewayHeaders } from '../headers.js';
import type { GatewayDeps, PipelineContext, PipelineStep } from './context.js';

declare module './context.js' {
  interface ContextBase {
    /** The registry as this request first read it (authorize, or protect when no use case was named). */
    registrySnapshot?: RegistrySnapshot;
  }
}

const noGlass = { active: false, eligible: false } as const;

function refuse(decision: Extract<AccessDecision, { allow: false }>): never {
  throw new GatewayError(decision.code, { detail: { reason: decision.reason } });
}

/** The role check for an action that names no patient. */
function requireAction(service: AccessService, principal: Principal, action: RequestAction): void {
  const decision = decideAccess({ policy: service.policy, roles: principal.roles, action, breakGlass: noGlass });
  if (!decision.allow) refuse(decision);
}

/** A step that only checks the caller's roles for `action` (routes without a model, e.g. `/v1/deid`). */
export function authorizeAction(action: RequestAction): PipelineStep {
  return (ctx) => {
    if (!ctx.principal) throw new GatewayError('internal_error');
    const service = accessServiceFor(ctx.deps);
    requireAction(service, ctx.principal, action);
    if (ctx.principal.kind === 'service' && ctx.meta.header('x-phigate-patient') !== undefined) {
      throw new GatewayError('patient_access_denied', { detail: { reason: 'action_not_granted' } });
    }
  };
}

async function authorizePatient(ctx: PipelineContext, service: AccessService, principal: Principal, headers: GatewayHeaders & { patient: string }): Promise<void> {
  // Parsed before anything is looked up, so a malformed header is refused the same way for everyone.
  const glassHeader = ctx.meta.header(breakGlassHeader);
  const glassRequest: BreakGlassRequest | undefined = glassHeader === undefined || glassHeader.trim() === '' ? undefined : parseBreakGlassHeader(glassHeader);

  let subject: { userId: string; roles: readonly string[] };
  if (principal.kind === 'service') {
    if (!principal.onBehalfOf) throw new GatewayError('patient_access_denied', { detail: { reason: 'service_without_user' } });
    requireAction(service, principal, requestActions.phiReadDelegated);
    subject = { userId: principal.onBehalfOf.userId, roles: principal.onBehalfOf.roles };
  } else {
    subject = { userId: principal.userId, roles: principal.roles };
  }

  const [relationship, session] = await Promise.all([
    service.relationship(subject.userId, headers.patient),
    service.activeBreakGlass(subject.userId, headers.patient),
  ]);
  const input = {
    policy: service.policy,
    roles: subject.roles,
    action: requestActions.phiRead,
    patient: { relationship: relationship.relationship },
    purpose: headers.purpose,
    useCasePurposes: ctx.useCase?.spec.purposes,
    breakGlass: { active: session !== undefined, eligible: relationship.breakGlassEligible },
  };
  const decision = decideAccess(input);
  if (decision.allow) {
    setRequestAccess(ctx, {
      basis: decision.basis,
      subjectUserId: subject.userId,
      ...(decision.basis === 'break_glass' && session ? { breakGlassSessionId: session.id } : {}),
    });
    return;
  }
  // Break-glass is asked for in the request: open a session only if it would be granted.
  if (decision.code !== 'patient_access_denied' || glassRequest === undefined) refuse(decision);
  const withGlass = decideAccess({ ...input, breakGlass: { active: true, eligible: relationship.breakGlassEligible } });
  if (!withGlass.allow) refuse(withGlass);
  const opened = await service.openBreakGlass(subject.userId, headers.patient, glassRequest, headers.purpose);
  const now = ctx.deps.clock.now();
  await ctx.deps.audit.append(
    accessAuditEvent({
      type: accessAuditEventTypes.breakGlassStart,
      now,
      requestId: ctx.meta.requestId,
      instance: ctx.deps.instanceId,
      actor: principal,
      patientHash: ctx.deps.keyedHash(headers.patient, 'audit-patient'),
      purpose: headers.purpose,
      detail: {
        breakGlass: true,
        breakGlassSessionId: opened.id,
        category: opened.category,
        subjectUserId: subject.userId,
        expiresAt: opened.expiresAt,
        alertsQueued: service.channelIds.length,
        via: 'header',
      },
    }),
  );
  setRequestAccess(ctx, { basis: 'break_glass', subjectUserId: subject.userId, breakGlassSessionId: opened.id });
}

/**
 * The registry as of now, waited for at most `policy.registryTimeoutMs`. A registry that cannot
 * be read (the store unreachable or stalled) fails the request closed with `registry_unavailable`:
 * no decision is ever made on BAA or use-case facts older than this request.
 */
export async function readRegistry(deps: GatewayDeps): Promise<RegistrySnapshot> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayError('registry_unavailable', { detail: { reason: 'timeout', timeoutMs: deps.config.policy.registryTimeoutMs } })), deps.config.policy.registryTimeoutMs);
  });
  try {
    return await Promise.race([deps.registry.snapshot(), deadline]);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('registry_unavailable', { cause: err, detail: { reason: 'read_failed' } });
  } finally {
    clearTimeout(timer);
  }
}

/** The roles that invoke a use case: a service acting for a user invokes it as that user. */
export function invokingRoles(principal: Principal): readonly string[] {
  return principal.onBehalfOf?.roles ?? principal.roles;
}

/**
 * Resolves the named use case to its live version: unknown → `use_case_not_found`, not live →
 * `use_case_not_approved`, the caller's roles not among the use case's → `permission_denied`,
 * a purpose it does not allow → `purpose_not_allowed`, a model it does not list →
 * `model_not_allowed_for_use_case`. Runs before any patient lookup or context is gathered.
 */
function resolveUseCase(snapshot: RegistrySnapshot, id: string, principal: Principal, headers: GatewayHeaders, model: string): LiveUseCase {
  const state = snapshot.useCaseState(id);
  if (state === undefined) throw new GatewayError('use_case_not_found', { detail: { useCase: id } });
  const live = snapshot.liveUseCase(id);
  if (!live) throw new GatewayError('use_case_not_approved', { detail: { useCase: id, state } });
  const { spec } = live;
  if (!invokingRoles(principal).some((role) => spec.roles.includes(role))) {
    throw new GatewayError('permission_denied', { detail: { scope: 'use_case', reason: 'role_not_allowed_for_use_case' } });
  }
  if (headers.purpose !== undefined && !spec.purposes.includes(headers.purpose)) {
    throw new GatewayError('purpose_not_allowed', { detail: { reason: 'purpose_not_allowed_for_use_case' } });
  }
  if (!spec.models.some((m) => m.name === model)) throw new GatewayError('model_not_allowed_for_use_case', { param: 'model', detail: { reason: 'model_not_in_use_case' } });
  return live;
}

export async function authorize(ctx: PipelineContext): Promise<void> {
  const principal = ctx.principal;
  if (!principal || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  const headers = parseGatewayHeaders(ctx.meta.header);
  ctx.headers = headers;
  ctx.sensitivity = parseSensitivityHeader(ctx.meta.header(sensitivityHeader));
  if (principal.useCases.length > 0) {
    if (!headers.useCase) throw new GatewayError('use_case_required');
    if (!principal.useCases.includes(headers.useCase)) throw new GatewayError('permission_denied', { detail: { scope: 'use_case' } });
  }
  if (!headers.useCase && ctx.deps.config.policy.requireUseCase) throw new GatewayError('use_case_required');
  if (headers.patient && !headers.purpose) throw new GatewayError('purpose_required');
  if (headers.useCase) {
    ctx.registrySnapshot = await readRegistry(ctx.deps);
    ctx.useCase = resolveUseCase(ctx.registrySnapshot, headers.useCase, principal, headers, ctx.request.model);
  }
  const service = accessServiceFor(ctx.deps);
  const patient = headers.patient;
  if (patient === undefined) requireAction(service, principal, requestActions.modelUse);
  else await authorizePatient(ctx, service, principal, { ...headers, patient });
  const targets = ctx.deps.endpoints.candidatesFor(ctx.request.model, ctx.operation);
  if (targets.length === 0) throw new GatewayError('model_not_found', { param: 'model' });
  ctx.targets = targets;
}

/**
 * The authorize step of routes that read a patient's data inside the gateway and call no model
 * (`POST /v1/retrieve`): the same header, credential-scope, use-case (live; the caller's roles and
 * purpose allowed) and patient checks as a chat request — care team, unit or break-glass, for
 * the asserted purpose — with a use case, a patient and a purpose all required. There is no
 * model, so none is resolved.
 */
export async function authorizePatientRead(ctx: PipelineContext): Promise<void> {
  const principal = ctx.principal;
  if (!principal) throw new GatewayError('internal_error');
  const headers = parseGatewayHeaders(ctx.meta.header);
  ctx.headers = headers;
  ctx.sensitivity = parseSensitivityHeader(ctx.meta.header(sensitivityHeader));
  if (principal.useCases.length > 0 && headers.useCase !== undefined && !principal.useCases.includes(headers.useCase)) {
    throw new GatewayError('permission_denied', { detail: { scope: 'use_case' } });
  }
  if (!headers.useCase) throw new GatewayError('use_case_required');
  const patient = headers.patient;
  if (patient === undefined) throw new GatewayError('invalid_request', { detail: { header: 'x-phigate-patient', expected: 'Patient/<id>' } });
  if (!headers.purpose) throw new GatewayError('purpose_required');
  ctx.registrySnapshot = await readRegistry(ctx.deps);
  // resolveUseCase refuses an unknown or not-live use case before it looks at the model; a live
  // one is checked against its own first model, since this request names none.
  const live = ctx.registrySnapshot.liveUseCase(headers.useCase);
  ctx.useCase = resolveUseCase(ctx.registrySnapshot, headers.useCase, principal, headers, live?.spec.models[0]?.name ?? '');
  await authorizePatient(ctx, accessServiceFor(ctx.deps), principal, { ...headers, patient });
}
