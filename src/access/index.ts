// SPDX-License-Identifier: Apache-2.0
/** Patient-level access: roles and permissions, relationships, the decision, break-glass. */
export { accessAuditEventTypes, type AccessAuditEventType } from './audit.js';
export { createAccessAdmin, type AccessActor, type AccessAdmin, type AccessAdminRequest, type ImportResult } from './admin.js';
export { breakGlassCategories, breakGlassHeader, parseBreakGlassHeader, type BreakGlassAlert, type BreakGlassCategory } from './break-glass.js';
export { accessConfigSchema, alertChannelSchema, type AccessConfig, type AlertChannelConfig } from './config-schema.js';
export { decideAccess, type AccessBasis, type AccessDecision, type AccessDenyReason, type AccessInput } from './decision.js';
export { classifyRelationship, loadRelationship, planCsvImport, planFhirImport, type ImportPlan, type ImportProblem } from './patient-access.js';
export {
  adminActions, allActions, createAccessPolicy, defaultAccessPolicy, defaultRoleNames, hasPermission, relationships, requestActions,
  type AccessPolicy, type Action, type AdminAction, type Relationship, type RequestAction, type RoleDefinition,
} from './rbac.js';
export { requestAccessOf, type RequestAccess } from './request-state.js';
export { accessServiceFor, createAccessService, type AccessDeps, type AccessService } from './service.js';
