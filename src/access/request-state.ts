// SPDX-License-Identifier: Apache-2.0
/**
 * What the authorize step learned about a request's patient access, kept beside the request
 * context (keyed by the context object) so the audit builder can flag break-glass requests
 * without the context type growing access-specific fields.
 */
import type { AccessBasis } from './decision.js';

export interface RequestAccess {
  readonly basis: AccessBasis;
  /** Set when the request ran under break-glass. */
  readonly breakGlassSessionId?: string;
  /** The user whose access was decided (the delegating user for a service account). */
  readonly subjectUserId: string;
}

const state = new WeakMap<object, RequestAccess>();

export function setRequestAccess(ctx: object, access: RequestAccess): void {
  state.set(ctx, access);
}

export function requestAccessOf(ctx: object): RequestAccess | undefined {
  return state.get(ctx);
}

/** The audit fields for a request: `breakGlass: true` and the session id under break-glass, nothing otherwise. */
export function breakGlassAuditFields(ctx: object): { breakGlass?: true; breakGlassSessionId?: string } {
  const access = state.get(ctx);
  return access?.breakGlassSessionId === undefined ? {} : { breakGlass: true, breakGlassSessionId: access.breakGlassSessionId };
}
