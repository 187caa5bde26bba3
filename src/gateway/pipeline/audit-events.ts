// SPDX-License-Identifier: Apache-2.0
/**
 * Builds audit events from the request context: the disclosure record written before a vendor
 * call, and the record that closes every request — success, refusal or failure.
 */
import { breakGlassAuditFields, requestAccessOf } from '../../access/request-state.js';
import type { AuditEvent, AuditOutcome, AuditStage } from '../../audit/record.js';
import { uuidv7 } from '../../kernel/ids.js';
import { GatewayError, errors } from '../../kernel/errors.js';
import type { PipelineContext, RouteTarget } from './context.js';

const maxUserAgent = 256;

function baseEvent(ctx: PipelineContext, stage: AuditStage, outcome: AuditOutcome, status: number): AuditEvent {
  const { deps, meta, principal, headers } = ctx;
  const now = deps.clock.now();
  return {
    id: uuidv7(now),
    recordedAt: new Date(now).toISOString(),
    type: ctx.eventType,
    stage,
    outcome,
    requestId: meta.requestId,
    status,
    actor: principal && {
      userId: principal.userId,
      kind: principal.kind,
      roles: principal.roles,
      authMethod: principal.authMethod,
      apiKeyId: principal.apiKeyId,
    },
    patientHash: headers?.patient === undefined ? undefined : deps.keyedHash(headers.patient, 'audit-patient'),
    purpose: headers?.purpose,
    useCase: headers?.useCase,
    model: ctx.request?.model,
    form: ctx.form,
    client: { ip: meta.clientIp, userAgent: meta.userAgent?.slice(0, maxUserAgent) },
    instance: deps.instanceId,
    onBehalfOf: principal?.onBehalfOf && { userId: principal.onBehalfOf.userId, proof: principal.onBehalfOf.proof },
    accessBasis: requestAccessOf(ctx)?.basis,
    vendor: (ctx.servedBy ?? ctx.targets?.[0])?.endpoint.vendor,
    phiCategories: ctx.phiFound,
    // Every request served under break-glass is flagged, with its session id.
    ...breakGlassAuditFields(ctx),
  };
}

/** The record that must be durable before `target` is called. */
export function disclosureEvent(ctx: PipelineContext, target: RouteTarget): AuditEvent {
  return {
    ...baseEvent(ctx, 'disclosure', 'pending', 0),
    endpointId: target.endpoint.id,
    vendor: target.endpoint.vendor,
    streamed: ctx.operation === 'chat' && ctx.request?.stream === true,
    promptHmac: ctx.promptHmac,
  };
}

/** The closing record: a refusal, a failure, or a completed answer. */
export function closingEvent(ctx: PipelineContext): AuditEvent {
  const err = ctx.error;
  const elapsedMs = Math.round(Number(process.hrtime.bigint() - ctx.meta.startedNs) / 1e6);
  const common = {
    endpointId: ctx.servedBy?.endpoint.id,
    streamed: ctx.result?.kind === 'stream' ? true : undefined,
    promptHmac: ctx.promptHmac,
    responseHmac: ctx.responseHmac,
    promptTokens: ctx.usage?.prompt_tokens,
    completionTokens: ctx.usage?.completion_tokens,
    latencyMs: elapsedMs,
  };
  if (err === undefined) return { ...baseEvent(ctx, 'completed', 'success', 200), ...common };
  const code = err instanceof GatewayError ? err.code : 'internal_error';
  const status = errors[code].status;
  // Refused before anything left versus failed after a vendor was called.
  const stage: AuditStage = ctx.disclosureRecorded ? 'completed' : 'refused';
  const outcome: AuditOutcome = status >= 500 || ctx.disclosureRecorded ? 'failure' : 'denied';
  return { ...baseEvent(ctx, stage, outcome, status), ...common, errorCode: code };
}
