// SPDX-License-Identifier: Apache-2.0
/**
 * Step 6 — call the provider. For each endpoint tried, in order: read the registry anew, seal
 * the payload through the one door (policy/egress.ts: the BAA as of this moment, sensitivity,
 * and a second detection pass over de-identified payloads), make the disclosure record durable
 * — with the BAA facts the door approved on — then call. A failure before any answer (timeout,
 * 5xx, 429, connection error) moves to the next endpoint of equal PHI clearance; once a stream
 * has yielded its first chunk, no other endpoint is tried. A use case suspended or replaced by
 * a new live version during the request stops it before the next call.
 */
import type { AuditEvent } from '../../audit/record.js';
import { GatewayError, isGatewayError } from '../../kernel/errors.js';
import { authorizeEgress, createResidualDetector, type EgressApproval, type EgressContext } from '../../policy/egress.js';
import type { CallOptions } from '../../providers/provider.js';
import type { ChatDelta, ChatRequest, EmbedRequest } from '../../providers/types.js';
import { disclosureEvent } from './audit-events.js';
import { readRegistry } from './authorize.js';
import { needsRegistry, unreadRegistry } from '../../registry/endpoints.js';
import type { PipelineContext, RouteTarget } from './context.js';

const fallbackCodes = new Set(['provider_timeout', 'provider_unavailable', 'provider_rate_limited']);

export async function callProvider(ctx: PipelineContext): Promise<void> {
  const targets = ctx.targets;
  const form = ctx.form;
  if (!targets || !form || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  ctx.promptHmac = ctx.deps.keyedHash(JSON.stringify(ctx.request), 'audit-prompt');
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as RouteTarget;
    const started = process.hrtime.bigint();
    try {
      const door = await egressContext(ctx, target);
      if (ctx.operation === 'embeddings') {
        // Vendors are always asked for floats; the route encodes what the caller asked for.
        const { encoding_format: _encoding, ...request } = ctx.request;
        const approval = await authorizeEgress<EmbedRequest>(target.endpoint, { ...request, model: target.upstreamModel }, form, door);
        await recordDisclosure(ctx, target, approval);
        const value = await target.provider.embed(approval.outbound, callOptions(ctx, target));
        ctx.result = { kind: 'embeddings', value: { ...value, model: ctx.request.model } };
        ctx.usage = { prompt_tokens: value.usage.prompt_tokens, completion_tokens: 0, total_tokens: value.usage.total_tokens };
      } else if (ctx.request.stream) {
        const approval = await authorizeEgress<ChatRequest>(target.endpoint, { ...ctx.request, model: target.upstreamModel }, form, door);
        await recordDisclosure(ctx, target, approval);
        const stream = target.provider.chatStream(approval.outbound, callOptions(ctx, target));
        const iterator = stream[Symbol.asyncIterator]();
        const first = await iterator.next();
        ctx.deps.metrics.providerTimeToFirstChunk.observe({ endpoint: target.endpoint.id }, Number(process.hrtime.bigint() - started) / 1e9);
        ctx.result = { kind: 'stream', deltas: resume(first, iterator) };
      } else {
        const approval = await authorizeEgress<ChatRequest>(target.endpoint, { ...ctx.request, model: target.upstreamModel }, form, door);
        await recordDisclosure(ctx, target, approval);
        const value = await target.provider.chat(approval.outbound, callOptions(ctx, target));
        ctx.result = { kind: 'chat', value: { ...value, model: ctx.request.model } };
        ctx.usage = value.usage;
      }
      ctx.servedBy = target;
      observe(ctx, target, started, 'success');
      return;
    } catch (err) {
      observe(ctx, target, started, isGatewayError(err) ? err.code : 'error');
      const canFallBack = isGatewayError(err) && fallbackCodes.has(err.code) && !ctx.meta.signal.aborted;
      if (!canFallBack || index === targets.length - 1) throw err;
      ctx.deps.logger.warn({ requestId: ctx.meta.requestId, endpoint: target.endpoint.id, code: (err as GatewayError).code }, 'endpoint failed, trying fallback');
    }
  }
}

/**
 * The door's view of this moment: the registry read now (unless nothing depends on it — a
 * self-hosted endpoint and no use case), the payload's sensitivity, the detector.
 */
async function egressContext(ctx: PipelineContext, target: RouteTarget): Promise<EgressContext> {
  const useCase = ctx.useCase;
  const snapshot = useCase !== undefined || needsRegistry(target.endpoint) ? await readRegistry(ctx.deps) : unreadRegistry;
  if (useCase && snapshot.liveUseCase(useCase.id)?.version !== useCase.version) {
    throw new GatewayError('use_case_not_approved', { detail: { useCase: useCase.id, reason: 'changed_during_request' } });
  }
  return {
    snapshot,
    now: ctx.deps.clock.now(),
    sensitivity: ctx.sensitivity ?? [],
    hivRequiresSelfHosted: ctx.deps.config.policy.hivRequiresSelfHosted,
    detector: createResidualDetector(ctx.deps.deid.deidentifier),
    knownPhi: ctx.patientPhi,
  };
}

/** Makes the disclosure record durable, naming the BAA facts the door approved the call on. */
async function recordDisclosure(ctx: PipelineContext, target: RouteTarget, approval: EgressApproval<unknown>): Promise<void> {
  const event = disclosureEvent(ctx, target);
  const { clearance } = approval;
  const baa: Record<string, string | number | boolean> = { clearance: clearance.reason, phiCleared: clearance.cleared };
  if (clearance.vendorId !== undefined) baa.vendorId = clearance.vendorId;
  if (clearance.coverage !== undefined) baa.baaCoverage = clearance.coverage.reason;
  if (clearance.baaExpiry !== undefined) baa.baaExpiry = clearance.baaExpiry;
  // Specially protected categories that left (42 CFR Part 2 disclosures are accounted for separately); names, never content.
  if (ctx.sensitivity !== undefined && ctx.sensitivity.length > 0) baa.sensitiveCategories = [...ctx.sensitivity].sort().join(',');
  const withBaa: AuditEvent = { ...event, detail: { ...event.detail, ...baa } };
  await ctx.deps.audit.append(withBaa);
  ctx.disclosureRecorded = true;
}

function callOptions(ctx: PipelineContext, target: RouteTarget): CallOptions {
  const now = ctx.deps.clock.now();
  const requestDeadline = ctx.meta.receivedAt + ctx.deps.config.server.requestTimeoutMs;
  return { signal: ctx.meta.signal, requestId: ctx.meta.requestId, deadlineMs: Math.min(requestDeadline, now + target.endpoint.timeoutMs) };
}

function observe(ctx: PipelineContext, target: RouteTarget, started: bigint, outcome: string): void {
  ctx.deps.metrics.providerDuration.observe(
    { endpoint: target.endpoint.id, operation: ctx.operation, outcome },
    Number(process.hrtime.bigint() - started) / 1e9,
  );
}

/** Re-attaches the chunk read to confirm the stream started. */
async function* resume(first: IteratorResult<ChatDelta>, iterator: AsyncIterator<ChatDelta>): AsyncGenerator<ChatDelta> {
  try {
    if (first.done) return;
    yield first.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
