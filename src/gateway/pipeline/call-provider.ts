// SPDX-License-Identifier: Apache-2.0
/**
 * Step 6 — call the provider. For each endpoint tried, in order: seal the payload through the
 * egress check, make the disclosure record durable, then call. A failure before any answer
 * (timeout, 5xx, 429, connection error) moves to the next endpoint of equal PHI clearance;
 * once a stream has yielded its first chunk, no other endpoint is tried.
 */
import { GatewayError, isGatewayError } from '../../kernel/errors.js';
import { authorizeEgress } from '../../policy/egress.js';
import type { CallOptions } from '../../providers/provider.js';
import type { ChatDelta } from '../../providers/types.js';
import { disclosureEvent } from './audit-events.js';
import type { PipelineContext, RouteTarget } from './context.js';

const fallbackCodes = new Set(['provider_timeout', 'provider_unavailable', 'provider_rate_limited']);

export async function callProvider(ctx: PipelineContext): Promise<void> {
  const targets = ctx.targets;
  const form = ctx.form;
  if (!targets || !form || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  ctx.promptHmac = ctx.deps.keyedHash(JSON.stringify(ctx.request), 'audit-prompt');
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as RouteTarget;
    const call = callOptions(ctx, target);
    const started = process.hrtime.bigint();
    try {
      await ctx.deps.audit.append(disclosureEvent(ctx, target));
      ctx.disclosureRecorded = true;
      if (ctx.operation === 'embeddings') {
        // Vendors are always asked for floats; the route encodes what the caller asked for.
        const { encoding_format: _encoding, ...request } = ctx.request;
        const outbound = authorizeEgress(target.endpoint, { ...request, model: target.upstreamModel }, form);
        const value = await target.provider.embed(outbound, call);
        ctx.result = { kind: 'embeddings', value: { ...value, model: ctx.request.model } };
        ctx.usage = { prompt_tokens: value.usage.prompt_tokens, completion_tokens: 0, total_tokens: value.usage.total_tokens };
      } else if (ctx.request.stream) {
        const outbound = authorizeEgress(target.endpoint, { ...ctx.request, model: target.upstreamModel }, form);
        const stream = target.provider.chatStream(outbound, call);
        const iterator = stream[Symbol.asyncIterator]();
        const first = await iterator.next();
        ctx.deps.metrics.providerTimeToFirstChunk.observe({ endpoint: target.endpoint.id }, Number(process.hrtime.bigint() - started) / 1e9);
        ctx.result = { kind: 'stream', deltas: resume(first, iterator) };
      } else {
        const outbound = authorizeEgress(target.endpoint, { ...ctx.request, model: target.upstreamModel }, form);
        const value = await target.provider.chat(outbound, call);
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
