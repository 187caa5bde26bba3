// SPDX-License-Identifier: Apache-2.0
/**
 * Audit events of the review queue (`review.*`): the answer held, every transition with the
 * reviewer who made it, and every read of held content (the reviewer's, the requester's, the
 * Provenance). Records carry ids, states, versions, the keyed patient hash and keyed hashes of
 * answers — never an answer, an edit or a rejection reason.
 */
import type { AuditEvent } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import { uuidv7 } from '../kernel/ids.js';

export const reviewAuditEventTypes = {
  /** A treatment-affecting answer was held for review. */
  create: 'review.create',
  claim: 'review.claim',
  unclaim: 'review.unclaim',
  approve: 'review.approve',
  edit: 'review.edit',
  reject: 'review.reject',
  list: 'review.list',
  /** A reviewer opened a held answer (PHI shown to a person). */
  read: 'review.read',
  /** The requester fetched the decided answer (PHI shown to a person). */
  fetch: 'review.fetch',
  provenance: 'review.provenance',
} as const;
export type ReviewAuditEventType = (typeof reviewAuditEventTypes)[keyof typeof reviewAuditEventTypes];

/** Who acted; the same shape as every audit record's actor. */
export interface ReviewActor {
  readonly userId: string;
  readonly kind: 'user' | 'service';
  readonly roles: readonly string[];
  readonly authMethod: string;
  readonly apiKeyId?: string | undefined;
  /** The user a service account acts for (requester side only). */
  readonly onBehalfOf?: { readonly userId: string; readonly roles: readonly string[]; readonly proof: 'token' | 'assertion' } | undefined;
}

/** The actor for an authenticated principal; a delegating user stays visible (and is refused as a reviewer). */
export function reviewActorOf(principal: Principal): ReviewActor {
  const onBehalfOf = principal.onBehalfOf;
  return {
    userId: principal.userId,
    kind: principal.kind,
    roles: principal.roles,
    authMethod: principal.authMethod,
    apiKeyId: principal.apiKeyId,
    ...(onBehalfOf === undefined ? {} : { onBehalfOf: { userId: onBehalfOf.userId, roles: onBehalfOf.roles, proof: onBehalfOf.proof } }),
  };
}

/** One call into the queue: who, under which request id, from where. */
export interface ReviewRequest {
  readonly actor: ReviewActor;
  readonly requestId: string;
  readonly client?: { readonly ip?: string | undefined; readonly userAgent?: string | undefined } | undefined;
}

export interface ReviewAuditInput {
  readonly type: ReviewAuditEventType;
  readonly now: number;
  /** The actor is absent only for a call refused before it was authenticated. */
  readonly request: Omit<ReviewRequest, 'actor'> & { readonly actor?: ReviewActor | undefined };
  readonly instance: string;
  readonly outcome: 'success' | 'denied' | 'failure';
  readonly status: number;
  readonly errorCode?: string | undefined;
  readonly patientHash?: string | undefined;
  readonly purpose?: string | undefined;
  readonly useCase?: string | undefined;
  readonly responseHmac?: string | undefined;
  /** PHI-free facts: review id, states, versions, counts (undefined values are left out). */
  readonly detail?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** One review audit event. */
export function reviewAuditEvent(input: ReviewAuditInput): AuditEvent {
  const detail: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(input.detail ?? {})) if (value !== undefined) detail[key] = value;
  const { actor } = input.request;
  return {
    id: uuidv7(input.now),
    recordedAt: new Date(input.now).toISOString(),
    type: input.type,
    stage: input.outcome === 'denied' ? 'refused' : 'completed',
    outcome: input.outcome,
    requestId: input.request.requestId,
    status: input.status,
    errorCode: input.errorCode,
    actor: actor && { userId: actor.userId, kind: actor.kind, roles: actor.roles, authMethod: actor.authMethod, apiKeyId: actor.apiKeyId },
    onBehalfOf: actor?.onBehalfOf && { userId: actor.onBehalfOf.userId, proof: actor.onBehalfOf.proof },
    patientHash: input.patientHash,
    purpose: input.purpose,
    useCase: input.useCase,
    responseHmac: input.responseHmac,
    client: input.request.client && { ip: input.request.client.ip, userAgent: input.request.client.userAgent?.slice(0, 256) },
    instance: input.instance,
    ...(Object.keys(detail).length === 0 ? {} : { detail }),
  };
}
