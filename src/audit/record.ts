// SPDX-License-Identifier: Apache-2.0
/**
 * The audit record: who, which patient, what, when, where, why, which vendor, the decision and
 * the outcome — with keyed hashes of prompt and response, never their content. Patient
 * references are stored as keyed hashes, so the per-patient accounting hashes the queried id
 * the same way.
 */

/**
 * Event types of the gateway's API routes. Every module that acts on data or configuration
 * declares its own event types the same way (`<area>.<action>`), and all of them share this record.
 */
export const auditEventTypes = {
  chatCompletion: 'chat.completion',
  anthropicMessage: 'anthropic.message',
  embeddings: 'embeddings.create',
  modelsList: 'models.list',
  deidText: 'deid.text',
  reidText: 'reid.text',
} as const;
export type AuditEventType = (typeof auditEventTypes)[keyof typeof auditEventTypes];

/** Any module's event type: `<area>.<action>`, lowercase. */
export type AnyAuditEventType = string;

/**
 * `disclosure` is written, durably, before a vendor is called; `completed` after the answer
 * (before it is released); `refused` for requests that were turned away.
 */
export type AuditStage = 'disclosure' | 'completed' | 'refused';
export type AuditOutcome = 'pending' | 'success' | 'denied' | 'failure';

export interface AuditEvent {
  readonly id: string;
  readonly recordedAt: string;
  readonly type: AnyAuditEventType;
  readonly stage: AuditStage;
  readonly outcome: AuditOutcome;
  readonly requestId: string;
  readonly status: number;
  readonly errorCode?: string | undefined;
  readonly actor?: {
    readonly userId: string;
    readonly kind: 'user' | 'service';
    readonly roles: readonly string[];
    readonly authMethod: string;
    readonly apiKeyId?: string | undefined;
  } | undefined;
  readonly patientHash?: string | undefined;
  readonly purpose?: string | undefined;
  readonly useCase?: string | undefined;
  readonly endpointId?: string | undefined;
  readonly model?: string | undefined;
  /** How the payload left: raw, deidentified, pseudonymised, phi_free. */
  readonly form?: string | undefined;
  readonly streamed?: boolean | undefined;
  readonly promptHmac?: string | undefined;
  readonly responseHmac?: string | undefined;
  readonly promptTokens?: number | undefined;
  readonly completionTokens?: number | undefined;
  readonly latencyMs?: number | undefined;
  readonly client?: { readonly ip?: string | undefined; readonly userAgent?: string | undefined } | undefined;
  readonly instance: string;
  /** The person a service account acted for (NIST SP 800-66r2: who, including on-behalf-of). */
  readonly onBehalfOf?: { readonly userId: string; readonly proof: 'token' | 'assertion' } | undefined;
  /** Set on every request served under break-glass, with the session id. */
  readonly breakGlass?: boolean | undefined;
  readonly breakGlassSessionId?: string | undefined;
  /** Why access to the patient was allowed: care_team, unit, break_glass, role. */
  readonly accessBasis?: string | undefined;
  /** The vendor (legal entity) behind `endpointId`, as in the BAA registry. */
  readonly vendor?: string | undefined;
  /** PHI categories found in what left, with counts (never values); `form` says how they left. */
  readonly phiCategories?: Readonly<Record<string, number>> | undefined;
  /** A downstream action an application reported on an earlier answer (see audit/downstream.ts). */
  readonly downstream?: { readonly requestId: string; readonly action: string; readonly noteHmac?: string | undefined } | undefined;
  /** PHI-free facts specific to the event type (alert kind, counts, codes). */
  readonly detail?: Readonly<Record<string, string | number | boolean>> | undefined;
}

/** A record as stored: the event, its place in the chain and the chain hash. */
export interface ChainedAuditRecord {
  readonly seq: number;
  readonly event: AuditEvent;
  /** Canonical JSON of the event, exactly as hashed. */
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
}
