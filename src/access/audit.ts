// SPDX-License-Identifier: Apache-2.0
/**
 * Audit events of the access area: administrative changes (`careteam.*`, `access.*`) and
 * break-glass (`breakglass.*`). Patients appear only as the audit log's keyed hash; break-glass
 * reasons and review notes never appear.
 */
import type { AuditEvent } from '../audit/record.js';
import { uuidv7 } from '../kernel/ids.js';

export const accessAuditEventTypes = {
  careTeamAssign: 'careteam.assign',
  careTeamEnd: 'careteam.end',
  careTeamImport: 'careteam.import',
  unitChange: 'access.unit',
  profileChange: 'access.profile',
  breakGlassStart: 'breakglass.start',
  breakGlassEnd: 'breakglass.end',
  breakGlassReview: 'breakglass.review',
} as const;
export type AccessAuditEventType = (typeof accessAuditEventTypes)[keyof typeof accessAuditEventTypes];

export interface AccessAuditInput {
  readonly type: AccessAuditEventType;
  readonly now: number;
  readonly requestId: string;
  readonly instance: string;
  readonly actor: { readonly userId: string; readonly kind: 'user' | 'service'; readonly roles: readonly string[]; readonly authMethod: string; readonly apiKeyId?: string | undefined } | undefined;
  readonly patientHash?: string | undefined;
  readonly purpose?: string | undefined;
  readonly outcome?: AuditEvent['outcome'];
  readonly status?: number;
  readonly errorCode?: string | undefined;
  /** PHI-free facts: ids, counts, categories, review outcome (null values are left out). */
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
}

/** One access-area audit event (stage `completed`, or `refused` when denied). */
export function accessAuditEvent(input: AccessAuditInput): AuditEvent {
  const outcome = input.outcome ?? 'success';
  const detail: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(input.detail ?? {})) if (value !== null) detail[key] = value;
  const breakGlassSessionId = typeof detail.breakGlassSessionId === 'string' ? detail.breakGlassSessionId : undefined;
  const event: AuditEvent = {
    id: uuidv7(input.now),
    recordedAt: new Date(input.now).toISOString(),
    type: input.type,
    stage: outcome === 'denied' ? 'refused' : 'completed',
    outcome,
    requestId: input.requestId,
    status: input.status ?? 200,
    errorCode: input.errorCode,
    actor: input.actor && {
      userId: input.actor.userId,
      kind: input.actor.kind,
      roles: input.actor.roles,
      authMethod: input.actor.authMethod,
      apiKeyId: input.actor.apiKeyId,
    },
    patientHash: input.patientHash,
    purpose: input.purpose,
    instance: input.instance,
    ...(breakGlassSessionId === undefined ? {} : { breakGlass: true, breakGlassSessionId }),
    ...(Object.keys(detail).length === 0 ? {} : { detail }),
  };
  return event;
}
