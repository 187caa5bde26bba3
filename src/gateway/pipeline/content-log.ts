// SPDX-License-Identifier: Apache-2.0
/**
 * Keeps the inference content of a request whose live use case asks for it
 * (`inferenceLogRetentionDays` > 0): the prompt as the vendor received it (the canonical request
 * after protect) and the answer as released to the caller (after the output filter,
 * re-identification and the clinical safeguards). Both go to the encrypted content log
 * (audit/retention.ts) with the request id, use case id, the audit log's keyed patient hash and
 * the actor id, and the use case's retention figure (capped by `audit.contentRetentionDays`,
 * whose day keys are destroyed first).
 *
 * Runs right before the closing audit record. A failure to record is a failure of the record
 * keeping the use case was approved with, so it fails closed like the audit itself:
 * `audit_unavailable`, and the answer is withheld. A gateway with no content log and a use case
 * that asks for one fails the same way.
 */
import type { InferenceContentLog } from '../../audit/retention.js';
import { GatewayError } from '../../kernel/errors.js';
import type { PipelineContext } from './context.js';

declare module './context.js' {
  interface GatewayDeps {
    /** The encrypted inference content log; written only for use cases that keep content. */
    readonly contentLog?: InferenceContentLog;
  }
}

/** Days the request's use case keeps content; 0 when it keeps none (or names no use case). */
export function contentRetentionDays(ctx: PipelineContext): number {
  return ctx.useCase?.spec.inferenceLogRetentionDays ?? 0;
}

/**
 * Records the prompt and `answer` when the use case keeps content and a vendor answered a chat
 * request; does nothing otherwise. Throws `audit_unavailable` when it cannot record.
 */
export async function recordInferenceContent(ctx: PipelineContext, answer: string): Promise<void> {
  const retentionDays = contentRetentionDays(ctx);
  if (retentionDays <= 0 || ctx.operation !== 'chat' || ctx.request === undefined || ctx.servedBy === undefined) return;
  const { deps, meta, headers, principal } = ctx;
  const row = {
    requestId: meta.requestId,
    useCase: ctx.useCase?.id,
    patientHash: headers?.patient === undefined ? undefined : deps.keyedHash(headers.patient, 'audit-patient'),
    actorId: principal?.userId,
    retentionDays,
  };
  try {
    if (deps.contentLog === undefined) throw new Error('no inference content log is configured');
    await deps.contentLog.record({ ...row, kind: 'prompt', content: JSON.stringify(ctx.request) });
    await deps.contentLog.record({ ...row, kind: 'response', content: answer });
  } catch (err) {
    deps.logger.error({ requestId: meta.requestId, err }, 'inference content could not be recorded; answer withheld');
    throw new GatewayError('audit_unavailable', { cause: err });
  }
}
