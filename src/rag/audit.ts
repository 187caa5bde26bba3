// SPDX-License-Identifier: Apache-2.0
/**
 * Audit events of documents and retrieval. Records carry document and chunk ids, counts,
 * categories and the keyed patient hash — never a patient id, a query or any note text.
 */
import type { AuditEvent, AuditOutcome } from '../audit/record.js';
import { errors, GatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import type { RetrievalCaller } from './retriever.js';

export const ragAuditEventTypes = {
  /** One retrieval: which chunks of which documents were returned to whom. */
  retrievalQuery: 'retrieval.query',
  /** The `POST /v1/retrieve` call itself: who asked, the decision, the status. */
  retrievalRequest: 'retrieval.request',
  documentIngest: 'document.ingest',
  documentDelete: 'document.delete',
  documentList: 'document.list',
} as const;
export type RagAuditEventType = (typeof ragAuditEventTypes)[keyof typeof ragAuditEventTypes];

export type RagAuditDetail = Readonly<Record<string, string | number | boolean | undefined>>;

/** Outcome, stage and status of an event from the error that ended it (none: success). */
export function outcomeOf(err: unknown): { outcome: AuditOutcome; stage: AuditEvent['stage']; status: number; errorCode?: string } {
  if (err === undefined) return { outcome: 'success', stage: 'completed', status: 200 };
  const code = err instanceof GatewayError ? err.code : 'internal_error';
  const status = errors[code].status;
  return status >= 500 ? { outcome: 'failure', stage: 'completed', status, errorCode: code } : { outcome: 'denied', stage: 'refused', status, errorCode: code };
}

export interface RagAuditInput {
  readonly type: RagAuditEventType;
  readonly now: number;
  readonly instance: string;
  readonly caller?: RetrievalCaller | undefined;
  readonly patientHash?: string | undefined;
  readonly error?: unknown;
  /** `disclosure` for the pending record written before an embedding endpoint is called. */
  readonly stage?: 'disclosure';
  readonly endpointId?: string | undefined;
  readonly form?: string | undefined;
  readonly promptHmac?: string | undefined;
  readonly detail?: RagAuditDetail;
}

/** One documents/retrieval audit event. */
export function ragAuditEvent(input: RagAuditInput): AuditEvent {
  const result = input.stage === 'disclosure' ? { outcome: 'pending' as const, stage: 'disclosure' as const, status: 0 } : outcomeOf(input.error);
  const detail: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(input.detail ?? {})) if (value !== undefined) detail[key] = value;
  const caller = input.caller;
  return {
    id: uuidv7(input.now),
    recordedAt: new Date(input.now).toISOString(),
    type: input.type,
    stage: result.stage,
    outcome: result.outcome,
    requestId: caller?.requestId ?? uuidv7(input.now),
    status: result.status,
    errorCode: 'errorCode' in result ? result.errorCode : undefined,
    actor: caller?.actor,
    onBehalfOf: caller?.onBehalfOf,
    patientHash: input.patientHash,
    purpose: caller?.purpose,
    useCase: caller?.useCase,
    accessBasis: caller?.accessBasis,
    endpointId: input.endpointId,
    form: input.form,
    promptHmac: input.promptHmac,
    client: caller?.client,
    instance: input.instance,
    ...(caller?.breakGlassSessionId === undefined ? {} : { breakGlass: true, breakGlassSessionId: caller.breakGlassSessionId }),
    ...(Object.keys(detail).length === 0 ? {} : { detail }),
  };
}
