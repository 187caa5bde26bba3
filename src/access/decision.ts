// SPDX-License-Identifier: Apache-2.0
/**
 * The access decision: a pure function of the caller's roles, the action, the caller's
 * relationship to the patient, the purpose of use, the use case's allowed purposes and the
 * break-glass state. No I/O, no clock: the pipeline gathers the facts, this decides.
 *
 * Two phases, as in medplum: a shallow role check (does any role grant the action at all?),
 * then the patient check (does one role, on its own, grant the action for this purpose and this
 * relationship?). Roles are never mixed: a purpose one role may assert does not combine with a
 * relationship only another role accepts. Deny by default.
 *
 * ```ts
 * decideAccess({ policy, roles: ['nurse'], action: 'phi:read', patient: { relationship: 'assigned' },
 *   purpose: 'TREAT', breakGlass: { active: false, eligible: false } });
 * // → { allow: true, basis: 'care_team' }
 * ```
 */
import type { PurposeOfUse } from '../gateway/headers.js';
import type { ErrorCode } from '../kernel/errors.js';
import { breakGlassPurposes, requestActions, roleGrants, roleOf, type AccessPolicy, type Action, type Relationship, type RoleDefinition } from './rbac.js';

export interface AccessInput {
  readonly policy: AccessPolicy;
  readonly roles: readonly string[];
  readonly action: Action;
  /** Present when the request names a patient; required for `phi:read`. */
  readonly patient?: { readonly relationship: Relationship } | undefined;
  readonly purpose?: PurposeOfUse | undefined;
  /** The use case's allowed purposes, when the use case restricts them. */
  readonly useCasePurposes?: readonly PurposeOfUse[] | undefined;
  readonly breakGlass: {
    /** A break-glass session for this user and patient is open (or being opened by this request). */
    readonly active: boolean;
    /** The user is flagged break-glass eligible. */
    readonly eligible: boolean;
  };
}

export type AccessBasis = 'care_team' | 'unit' | 'break_glass' | 'role';

export type AccessDecision =
  | { readonly allow: true; readonly basis: AccessBasis }
  | { readonly allow: false; readonly code: ErrorCode; readonly reason: AccessDenyReason };

/** Why access was refused; PHI-free, safe for error detail and audit. */
export type AccessDenyReason =
  | 'action_not_granted'
  | 'patient_required'
  | 'purpose_required'
  | 'purpose_not_allowed_for_use_case'
  | 'purpose_not_allowed_for_role'
  | 'other_organisation'
  | 'no_relationship';

const deny = (code: ErrorCode, reason: AccessDenyReason): AccessDecision => ({ allow: false, code, reason });

function basisOf(relationship: Relationship): AccessBasis | undefined {
  if (relationship === 'assigned') return 'care_team';
  if (relationship === 'same_unit') return 'unit';
  return undefined;
}

/** Decides one access. Pure and total: every input gets an answer, and anything unforeseen is a denial. */
export function decideAccess(input: AccessInput): AccessDecision {
  const { policy, action } = input;
  const roles: RoleDefinition[] = [];
  for (const name of input.roles) {
    const role = roleOf(policy, name);
    if (role !== undefined && roleGrants(role, action)) roles.push(role);
  }
  // Phase 1: the shallow role check.
  if (roles.length === 0) return deny('permission_denied', 'action_not_granted');
  if (action !== requestActions.phiRead) {
    return input.patient === undefined ? { allow: true, basis: 'role' } : deny('permission_denied', 'action_not_granted');
  }

  // Phase 2: the patient.
  const patient = input.patient;
  if (patient === undefined) return deny('invalid_request', 'patient_required');
  const purpose = input.purpose;
  if (purpose === undefined) return deny('purpose_required', 'purpose_required');
  if (input.useCasePurposes !== undefined && !input.useCasePurposes.includes(purpose)) {
    return deny('purpose_not_allowed', 'purpose_not_allowed_for_use_case');
  }
  const forPurpose = roles.filter((role) => role.purposes.includes(purpose));
  if (forPurpose.length === 0) return deny('purpose_not_allowed', 'purpose_not_allowed_for_role');
  // Another organisation's patient is never granted, break-glass included.
  if (patient.relationship === 'other_organisation') return deny('patient_access_denied', 'other_organisation');

  const basis = basisOf(patient.relationship);
  if (basis !== undefined && forPurpose.some((role) => role.relationships.includes(patient.relationship))) return { allow: true, basis };

  if (
    input.breakGlass.active &&
    input.breakGlass.eligible &&
    breakGlassPurposes.includes(purpose) &&
    forPurpose.some((role) => roleGrants(role, requestActions.breakGlassInvoke))
  ) {
    return { allow: true, basis: 'break_glass' };
  }
  return deny('patient_access_denied', 'no_relationship');
}
