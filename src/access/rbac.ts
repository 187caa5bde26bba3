// SPDX-License-Identifier: Apache-2.0
/**
 * Roles and permissions: the shallow half of the access check (medplum's two-phase model). A
 * role grants permissions (actions), the purposes of use it may assert, the patient
 * relationships that let it read a patient's PHI, and whether it may break the glass.
 *
 * Least privilege by default: a role not listed grants nothing; no role but the clinical ones
 * reads PHI; `admin` manages the gateway but reads no patient. Admin permissions (`admin:…`)
 * are never matched by a wildcard: a grant of `*` or `admin:*` gives none of them, each must be
 * granted by its exact name.
 *
 * ```ts
 * const policy = createAccessPolicy({ scheduler: { purposes: ['PATADMIN', 'HOPERAT'] } });
 * hasPermission(policy, ['nurse'], 'phi:read'); // true
 * ```
 */
import type { PurposeOfUse } from '../gateway/headers.js';

/** Non-admin actions a request can perform. */
export const requestActions = {
  /** Call a model (chat or embeddings) with no patient named. */
  modelUse: 'model:use',
  /** Chat or embeddings about a named patient: PHI reaches the model. */
  phiRead: 'phi:read',
  /** A service account acting for a user on a named patient (the user's own access is checked too). */
  phiReadDelegated: 'phi:read.delegated',
  /** The de-identification service (`/v1/deid`, `/v1/reid`). */
  deidUse: 'deid:use',
  /** Open a break-glass session (the user must also be flagged eligible). */
  breakGlassInvoke: 'breakglass:invoke',
  /**
   * Review held treatment-affecting answers: claim, approve, edit, reject. The reviewer must also
   * have a care-team or unit relationship with the answer's patient (review/queue.ts).
   */
  reviewDecide: 'review:decide',
} as const;

/** Admin actions; never granted by a wildcard. */
export const adminActions = {
  careTeamManage: 'admin:careteam.manage',
  careTeamRead: 'admin:careteam.read',
  accessProfilesManage: 'admin:access.profiles',
  breakGlassReview: 'admin:breakglass.review',
  usersManage: 'admin:users.manage',
  keysManage: 'admin:keys.manage',
  auditRead: 'admin:audit.read',
  /** Read vendors, BAAs and use cases. */
  registryRead: 'admin:registry.read',
  /** Record, change or terminate a vendor's BAA. */
  vendorsManage: 'admin:vendors.manage',
  /** Draft, submit, take live, suspend, retire and roll back use cases. */
  useCasesManage: 'admin:usecases.manage',
  /** Sit on the governance committee: approve or reject submitted use-case versions. */
  useCasesApprove: 'admin:usecases.approve',
  /** Ingest, list and delete clinical documents for retrieval (metadata only; no note text is shown). */
  documentsManage: 'admin:documents.manage',
} as const;

export type RequestAction = (typeof requestActions)[keyof typeof requestActions];
export type AdminAction = (typeof adminActions)[keyof typeof adminActions];
export type Action = RequestAction | AdminAction;

export const allActions: readonly Action[] = [...Object.values(requestActions), ...Object.values(adminActions)];

/** How the caller stands to the patient a request names. */
export const relationships = ['assigned', 'same_unit', 'unrelated', 'other_organisation'] as const;
export type Relationship = (typeof relationships)[number];

/** The default role names (issue 4 item 3). */
export const defaultRoleNames = [
  'physician', 'nurse', 'care_coordinator', 'coder', 'scheduler', 'admin', 'security_officer', 'privacy_officer', 'ai_service',
  'cmio', 'clinical_champion',
] as const;
export type DefaultRoleName = (typeof defaultRoleNames)[number];

export interface RoleDefinition {
  /** Action names or wildcards (`phi:*`, `*`); wildcards never match `admin:` actions. */
  readonly permissions: readonly string[];
  /** Purposes of use this role may assert on a PHI request. */
  readonly purposes: readonly PurposeOfUse[];
  /** Relationships that grant this role a patient's PHI. `other_organisation` is ignored: it never grants. */
  readonly relationships: readonly Relationship[];
}

export type AccessPolicy = Readonly<Record<string, RoleDefinition>>;

/** Purposes that may be asserted under break-glass: emergencies and safety, never payment or operations. */
export const breakGlassPurposes: readonly PurposeOfUse[] = ['ETREAT', 'TREAT', 'PATSFTY', 'BTG'];

const clinicalPurposes: readonly PurposeOfUse[] = ['TREAT', 'ETREAT', 'CAREMGT', 'PATSFTY', 'BTG'];

/** The shipped role map. Deployers override or add roles through `access.roles` in the configuration. */
export const defaultAccessPolicy: Readonly<Record<DefaultRoleName, RoleDefinition>> = {
  physician: {
    permissions: ['model:use', 'phi:read', 'deid:use', 'breakglass:invoke', 'review:decide'],
    purposes: clinicalPurposes,
    relationships: ['assigned', 'same_unit'],
  },
  nurse: {
    permissions: ['model:use', 'phi:read', 'deid:use', 'breakglass:invoke'],
    purposes: clinicalPurposes,
    relationships: ['assigned', 'same_unit'],
  },
  care_coordinator: {
    permissions: ['model:use', 'phi:read', 'deid:use'],
    purposes: ['CAREMGT', 'PATADMIN', 'COVAUTH'],
    relationships: ['assigned'],
  },
  coder: {
    permissions: ['model:use', 'phi:read', 'deid:use'],
    purposes: ['HPAYMT', 'CLMATTCH', 'COVAUTH', 'COVERAGE', 'ELIGVER', 'RECORDMGT'],
    relationships: ['assigned', 'same_unit'],
  },
  scheduler: {
    permissions: ['model:use', 'phi:read'],
    purposes: ['PATADMIN'],
    relationships: ['assigned', 'same_unit'],
  },
  admin: {
    permissions: [
      'model:use', 'deid:use',
      'admin:careteam.manage', 'admin:careteam.read', 'admin:access.profiles', 'admin:users.manage', 'admin:keys.manage',
      'admin:registry.read', 'admin:vendors.manage', 'admin:usecases.manage', 'admin:documents.manage',
    ],
    purposes: [],
    relationships: [],
  },
  security_officer: {
    permissions: ['admin:audit.read', 'admin:keys.manage', 'admin:careteam.read', 'admin:registry.read', 'admin:usecases.approve'],
    purposes: [],
    relationships: [],
  },
  privacy_officer: {
    permissions: ['admin:audit.read', 'admin:breakglass.review', 'admin:careteam.read', 'admin:registry.read', 'admin:vendors.manage', 'admin:usecases.approve'],
    purposes: [],
    relationships: [],
  },
  ai_service: {
    permissions: ['model:use', 'deid:use', 'phi:read.delegated'],
    purposes: [],
    relationships: [],
  },
  /** Chief medical information officer (or CMO): chairs the AI governance committee. */
  cmio: {
    permissions: ['admin:registry.read', 'admin:usecases.approve'],
    purposes: [],
    relationships: [],
  },
  /** The clinician who sponsors a clinical use case on the committee. */
  clinical_champion: {
    permissions: ['admin:registry.read', 'admin:usecases.approve'],
    purposes: [],
    relationships: [],
  },
};

/** Whether an action is an admin capability (granted only by exact name). */
export function isAdminAction(action: string): boolean {
  return action.startsWith('admin:');
}

/** Whether one grant covers an action. `*` and `area:*` are wildcards over non-admin actions only. */
export function grantMatches(grant: string, action: string): boolean {
  if (grant === action) return true;
  if (isAdminAction(action)) return false;
  if (grant === '*') return true;
  return grant.endsWith(':*') && action.startsWith(grant.slice(0, -1));
}

/** Whether one role grants an action. */
export function roleGrants(role: RoleDefinition | undefined, action: string): boolean {
  return role !== undefined && role.permissions.some((grant) => grantMatches(grant, action));
}

/** Whether any of the caller's roles grants an action. Unknown roles grant nothing. */
export function hasPermission(policy: AccessPolicy, roles: readonly string[], action: string): boolean {
  return roles.some((name) => roleGrants(roleOf(policy, name), action));
}

/** A role's definition; own properties only, so `constructor` or `__proto__` are never roles. */
export function roleOf(policy: AccessPolicy, name: string): RoleDefinition | undefined {
  return Object.hasOwn(policy, name) ? policy[name] : undefined;
}

/** Partial role definitions from configuration, merged over the defaults role by role. */
export type RoleOverrides = Readonly<Record<string, Partial<RoleDefinition>>>;

/**
 * The effective policy: each overridden role's given fields replace the default's; new roles
 * start from nothing (least privilege) plus what they are given.
 */
export function createAccessPolicy(overrides: RoleOverrides = {}): AccessPolicy {
  const policy: Record<string, RoleDefinition> = { ...defaultAccessPolicy };
  for (const [name, override] of Object.entries(overrides)) {
    const base = roleOf(policy, name) ?? { permissions: [], purposes: [], relationships: [] };
    policy[name] = {
      permissions: override.permissions ?? base.permissions,
      purposes: override.purposes ?? base.purposes,
      relationships: override.relationships ?? base.relationships,
    };
  }
  return Object.freeze(policy);
}
