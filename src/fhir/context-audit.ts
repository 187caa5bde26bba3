// SPDX-License-Identifier: Apache-2.0
/**
 * The audit event for gathered patient context (`context.gather`): which FHIR resource types and
 * how many of each, which documents and chunks were retrieved, the sensitive categories the
 * payload now carries, and how large the rendered context was — or, for a refusal, which source
 * failed and why. Never content: no resource values, no chunk text, no patient identifiers (the
 * patient appears only as the audit log's keyed hash).
 */
import type { AuditEvent } from '../audit/record.js';
import { uuidv7 } from '../kernel/ids.js';

export const contextAuditEventTypes = {
  gather: 'context.gather',
} as const;

export interface ContextAuditInput {
  readonly now: number;
  readonly requestId: string;
  readonly instance: string;
  readonly actor: AuditEvent['actor'];
  readonly patientHash: string | undefined;
  readonly purpose: string | undefined;
  readonly useCase: string | undefined;
  readonly accessBasis?: string | undefined;
  readonly breakGlassSessionId?: string | undefined;
  /** For a refusal: the error code and its HTTP status. */
  readonly errorCode?: string | undefined;
  readonly status?: number | undefined;
  readonly detail: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** `Condition:2,Observation:5` — counts per resource type, sorted by type. */
export function formatCounts(counts: Readonly<Record<string, number>>): string {
  return Object.keys(counts)
    .sort()
    .map((type) => `${type}:${counts[type] ?? 0}`)
    .join(',');
}

/** One `context.gather` event: `completed`/`success`, or `refused` with the error code. */
export function contextAuditEvent(input: ContextAuditInput): AuditEvent {
  const detail: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(input.detail)) if (value !== undefined && value !== '') detail[key] = value;
  const refused = input.errorCode !== undefined;
  const status = input.status ?? 200;
  return {
    id: uuidv7(input.now),
    recordedAt: new Date(input.now).toISOString(),
    type: contextAuditEventTypes.gather,
    stage: refused ? 'refused' : 'completed',
    outcome: refused ? (status >= 500 ? 'failure' : 'denied') : 'success',
    requestId: input.requestId,
    status,
    errorCode: input.errorCode,
    actor: input.actor,
    patientHash: input.patientHash,
    purpose: input.purpose,
    useCase: input.useCase,
    instance: input.instance,
    accessBasis: input.accessBasis,
    ...(input.breakGlassSessionId === undefined ? {} : { breakGlass: true, breakGlassSessionId: input.breakGlassSessionId }),
    ...(Object.keys(detail).length === 0 ? {} : { detail }),
  };
}
