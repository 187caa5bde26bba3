// SPDX-License-Identifier: Apache-2.0
/**
 * Step 2 — may they? Validates the gateway headers, applies the credential's use-case scope,
 * checks the caller's roles for the action, and — when a patient is named — the caller's
 * relationship to that patient (care team, unit, or break-glass) for the purpose of use they
 * assert (access/decision.ts). Refusals happen here, before any context is gathered or any
 * vendor is called; the closing audit record is written for them like for every request.
 * Finally resolves the model to endpoints the caller may use. Deny by default.
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
import { parseGatewayHeaders, type GatewayHeaders, type PurposeOfUse } from '../headers.js';
import type { PipelineContext, PipelineStep } from './context.js';

declare module './context.js' {
  interface GatewayDeps {
    /**
     * The purposes of use a use case allows, from the use-case registry; undefined when the use
     * case does not restrict them. Absent: no use-case restriction beyond the roles'.
     */
    readonly useCasePurposes?: (useCase: string) => readonly PurposeOfUse[] | undefined;
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
    useCasePurposes: headers.useCase === undefined ? undefined : ctx.deps.useCasePurposes?.(headers.useCase),
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

export async function authorize(ctx: PipelineContext): Promise<void> {
  const principal = ctx.principal;
  if (!principal || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  const headers = parseGatewayHeaders(ctx.meta.header);
  ctx.headers = headers;
  if (principal.useCases.length > 0) {
    if (!headers.useCase) throw new GatewayError('use_case_required');
    if (!principal.useCases.includes(headers.useCase)) throw new GatewayError('permission_denied', { detail: { scope: 'use_case' } });
  }
  if (headers.patient && !headers.purpose) throw new GatewayError('purpose_required');
  const service = accessServiceFor(ctx.deps);
  const patient = headers.patient;
  if (patient === undefined) requireAction(service, principal, requestActions.modelUse);
  else await authorizePatient(ctx, service, principal, { ...headers, patient });
  const targets = ctx.deps.endpoints.routesFor(ctx.request.model, ctx.operation);
  if (targets.length === 0) throw new GatewayError('model_not_found', { param: 'model' });
  ctx.targets = targets;
}
