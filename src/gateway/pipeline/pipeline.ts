// SPDX-License-Identifier: Apache-2.0
/**
 * The request road, in order (DESIGN §1). This list is the one place the order is stated, so
 * it can be checked against the threat model:
 *
 *   authenticate → parse → authorize → gather context → screen → protect → egress → provider
 *   → filter output → re-identify → clinical safeguards (label, or hold for review)
 *   → content log (only for use cases that keep content) → audit
 *
 * Ordering rules worth keeping in view: the disclosure record is made durable inside the
 * provider step before each vendor call; the closing audit record is written for every
 * request, refused or not, and the answer is released only once it is durable. A streamed
 * answer's closing record is written when the stream ends, before its terminator is sent.
 */
import { GatewayError } from '../../kernel/errors.js';
import type { ChatDelta } from '../../providers/types.js';
import { closingEvent } from './audit-events.js';
import { recordInferenceContent } from './content-log.js';
import { authenticate } from './authenticate.js';
import { authorize } from './authorize.js';
import { callProvider } from './call-provider.js';
import type { PipelineContext, PipelineStep } from './context.js';
import { egress } from './egress.js';
import { filterOutput, outputFilterAuditDetail } from './filter-output.js';
import { gatherContext } from './gather-context.js';
import { protect } from './protect.js';
import { reidentify } from './reidentify.js';
import { screen } from './screen.js';
import { clinicalSafeguards } from './clinical-safeguards.js';
import { chargeUsage } from '../../limits/charge-usage.js';

/** The steps for a surface; `parse` turns the surface's body into the canonical request. */
export function buildPipeline(parse: PipelineStep): readonly PipelineStep[] {
  return [authenticate, parse, authorize, gatherContext, screen, protect, egress, callProvider, filterOutput, reidentify, clinicalSafeguards, chargeUsage];
}

/**
 * Runs the steps, then the audit step. Resolves when the answer may be released; rejects with
 * the error to render (the pipeline's own, or audit_unavailable when the closing record could
 * not be made durable — then nothing is released).
 */
export async function runPipeline(ctx: PipelineContext, steps: readonly PipelineStep[]): Promise<void> {
  try {
    for (const step of steps) await step(ctx);
  } catch (err) {
    ctx.error = err;
  }
  if (ctx.error === undefined && ctx.result?.kind === 'chat') {
    ctx.responseHmac = ctx.deps.keyedHash(JSON.stringify(ctx.result.value.choices), 'audit-response');
    // Content the use case keeps (prompt as sent, answer as released); a failure withholds the answer.
    await recordInferenceContent(ctx, JSON.stringify(ctx.result.value)).catch((err: unknown) => {
      ctx.error = err;
    });
  }
  if (ctx.error === undefined && ctx.result?.kind === 'stream') {
    ctx.result = { kind: 'stream', deltas: auditedStream(ctx, ctx.result.deltas) };
    return;
  }
  await recordClosing(ctx);
  if (ctx.error !== undefined) throw ctx.error;
}

async function recordClosing(ctx: PipelineContext): Promise<void> {
  try {
    const event = closingEvent(ctx);
    // The closing record shows what the output filter did (action, counts, incident id).
    const output = outputFilterAuditDetail(ctx);
    await ctx.deps.audit.append(output === undefined ? event : { ...event, detail: { ...event.detail, ...output } });
  } catch (err) {
    ctx.deps.logger.error({ requestId: ctx.meta.requestId, err }, 'audit record could not be written; answer withheld');
    throw new GatewayError('audit_unavailable', { cause: err });
  }
}

/**
 * Passes chunks through while keeping what the audit record needs (usage, a keyed hash of the
 * streamed text), and writes the closing record when the vendor's stream ends — before the
 * caller's terminator — or when it fails or the client goes away.
 */
async function* auditedStream(ctx: PipelineContext, deltas: AsyncIterable<ChatDelta>): AsyncGenerator<ChatDelta> {
  const parts: string[] = [];
  let finished = false;
  let contentFailure: unknown;
  try {
    for await (const delta of deltas) {
      for (const choice of delta.choices) {
        if (choice.delta.content) parts.push(choice.delta.content);
        for (const call of choice.delta.tool_calls ?? []) if (call.function?.arguments) parts.push(call.function.arguments);
      }
      if (delta.usage) ctx.usage = delta.usage;
      yield delta;
    }
    finished = true;
  } catch (err) {
    ctx.error = err;
    throw err;
  } finally {
    if (!finished && ctx.error === undefined) ctx.error = new GatewayError('client_disconnected');
    ctx.responseHmac = ctx.deps.keyedHash(parts.join(''), 'audit-response');
    if (finished && ctx.error === undefined) {
      await recordInferenceContent(ctx, parts.join('')).catch((err: unknown) => {
        ctx.error = contentFailure = err;
      });
    }
    // A failure to record here surfaces to the route, which then withholds the terminator.
    await recordClosing(ctx);
  }
  // Reached only when the vendor's stream ended normally: the terminator is withheld.
  if (contentFailure !== undefined) throw contentFailure;
}
