// SPDX-License-Identifier: Apache-2.0
/**
 * Step 8b — clinical safeguards, after re-identification (so what is labelled or held is
 * exactly what the caller would read) and before the closing audit record:
 *
 * - a treatment-affecting use case (`output.humanReview`) never releases the model's answer
 *   here: it is held, encrypted, in the review queue (review/queue.ts) and the caller gets a
 *   completion saying so, with the review id in its text and in `phigate.review`. A stream is
 *   read to its end first, then answered with one placeholder chunk;
 * - a decision-support use case (`needsClinicalLabel`) gets the label, citations, stated
 *   confidence and HTI-1 source attributes (review/clinical-label.ts).
 *
 * The placeholder is an ordinary 200 chat completion rather than a 202: the request itself
 * succeeded (the model answered and the answer is safely held), every OpenAI and Anthropic
 * client parses it unchanged, and a stream cannot change its status after the headers anyway.
 */
import { requestAccessOf } from '../../access/request-state.js';
import { GatewayError } from '../../kernel/errors.js';
import type { ChatDelta, ChatResult, FinishReason, ToolCall } from '../../providers/types.js';
import { needsClinicalLabel } from '../../registry/use-case-spec.js';
import { isJsonMode, labelResult, labelStream, type Annotated, type PhigateAnnotation } from '../../review/clinical-label.js';
import { reviewActorOf } from '../../review/audit.js';
import { reviewQueueFor, type ReviewSummary } from '../../review/queue.js';
import type { ChatContext, PipelineContext } from './context.js';

/** The text the caller reads instead of a held answer. PHI-free by construction. */
export function heldAnswerText(reviewId: string): string {
  return (
    `This answer is held for clinical review: a clinician must approve it before it is released. ` +
    `Review id: ${reviewId}. Fetch the decided answer with GET /v1/reviews/${reviewId}.`
  );
}

function heldAnnotation(review: ReviewSummary): PhigateAnnotation {
  return { use_case: { id: review.useCaseId, version: review.useCaseVersion }, review: { id: review.id, status: 'pending' } };
}

interface ChoiceAccumulator {
  content: string[];
  refusal: string[];
  sawContent: boolean;
  calls: Map<number, { id: string; name: string; arguments: string }>;
  finish: FinishReason | null;
}

/** Reads a whole stream into the result a non-streamed call would have given. */
export async function collectResult(deltas: AsyncIterable<ChatDelta>): Promise<ChatResult> {
  const choices = new Map<number, ChoiceAccumulator>();
  let head: Pick<ChatDelta, 'id' | 'created' | 'model'> | undefined;
  let usage: ChatResult['usage'];
  for await (const delta of deltas) {
    head ??= { id: delta.id, created: delta.created, model: delta.model };
    if (delta.usage) usage = delta.usage;
    for (const choice of delta.choices) {
      let acc = choices.get(choice.index);
      if (acc === undefined) choices.set(choice.index, (acc = { content: [], refusal: [], sawContent: false, calls: new Map(), finish: null }));
      if (typeof choice.delta.content === 'string') {
        acc.content.push(choice.delta.content);
        acc.sawContent = true;
      }
      if (typeof choice.delta.refusal === 'string') acc.refusal.push(choice.delta.refusal);
      for (const call of choice.delta.tool_calls ?? []) {
        let slot = acc.calls.get(call.index);
        if (slot === undefined) acc.calls.set(call.index, (slot = { id: '', name: '', arguments: '' }));
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name += call.function.name;
        if (call.function?.arguments) slot.arguments += call.function.arguments;
      }
      if (choice.finish_reason !== null) acc.finish = choice.finish_reason;
    }
  }
  if (head === undefined) throw new GatewayError('provider_bad_response', { detail: { reason: 'empty_stream' } });
  return {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, acc]) => {
        const toolCalls: ToolCall[] = [...acc.calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
        return {
          index,
          message: {
            role: 'assistant' as const,
            content: acc.sawContent || toolCalls.length === 0 ? acc.content.join('') : null,
            ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
            ...(acc.refusal.length === 0 ? {} : { refusal: acc.refusal.join('') }),
          },
          finish_reason: acc.finish ?? 'stop',
          logprobs: null,
        };
      }),
    ...(usage === undefined ? {} : { usage }),
  };
}

async function hold(ctx: ChatContext, result: ChatResult): Promise<ReviewSummary> {
  const { principal, useCase, servedBy } = ctx;
  if (principal === undefined || useCase === undefined || servedBy === undefined) throw new GatewayError('internal_error');
  return reviewQueueFor(ctx.deps).hold({
    request: { actor: reviewActorOf(principal), requestId: ctx.meta.requestId, client: { ip: ctx.meta.clientIp, userAgent: ctx.meta.userAgent } },
    subjectUserId: requestAccessOf(ctx)?.subjectUserId ?? principal.onBehalfOf?.userId ?? principal.userId,
    patient: ctx.headers?.patient,
    purpose: ctx.headers?.purpose,
    useCase,
    surface: ctx.eventType,
    endpoint: { id: servedBy.endpoint.id, vendor: servedBy.endpoint.vendor },
    upstreamModel: servedBy.upstreamModel,
    result,
    citations: ctx.citations ?? [],
    jsonMode: isJsonMode(ctx.request),
  });
}

function placeholderResult(result: ChatResult, review: ReviewSummary): Annotated<ChatResult> {
  return {
    id: result.id,
    object: 'chat.completion',
    created: result.created,
    model: result.model,
    choices: [{ index: 0, message: { role: 'assistant', content: heldAnswerText(review.id) }, finish_reason: 'stop', logprobs: null }],
    ...(result.usage === undefined ? {} : { usage: result.usage }),
    phigate: heldAnnotation(review),
  };
}

/** The held stream: everything is read (and held) before the one placeholder chunk is sent. */
async function* heldStream(ctx: ChatContext, deltas: AsyncIterable<ChatDelta>): AsyncGenerator<ChatDelta> {
  const result = await collectResult(deltas);
  const review = await hold(ctx, result);
  const chunk: Annotated<ChatDelta> = {
    id: result.id,
    object: 'chat.completion.chunk',
    created: result.created,
    model: result.model,
    choices: [{ index: 0, delta: { role: 'assistant', content: heldAnswerText(review.id) }, finish_reason: 'stop' }],
    ...(result.usage === undefined ? {} : { usage: result.usage }),
    phigate: heldAnnotation(review),
  };
  yield chunk;
}

export async function clinicalSafeguards(ctx: PipelineContext): Promise<void> {
  if (ctx.operation !== 'chat' || ctx.result === undefined || ctx.useCase === undefined) return;
  const { spec } = ctx.useCase;
  const result = ctx.result;
  if (spec.output.humanReview) {
    if (result.kind === 'chat') {
      const review = await hold(ctx, result.value);
      ctx.result = { kind: 'chat', value: placeholderResult(result.value, review) };
    } else if (result.kind === 'stream') {
      ctx.result = { kind: 'stream', deltas: heldStream(ctx, result.deltas) };
    }
    return;
  }
  if (!needsClinicalLabel(spec)) return;
  const base = { labelled: true, citations: ctx.citations ?? [], useCase: { id: ctx.useCase.id, version: ctx.useCase.version }, sourceAttributes: spec.sourceAttributes };
  const jsonMode = isJsonMode(ctx.request);
  if (result.kind === 'chat') ctx.result = { kind: 'chat', value: labelResult(result.value, base, jsonMode) };
  else if (result.kind === 'stream') ctx.result = { kind: 'stream', deltas: labelStream(result.deltas, base, jsonMode) };
}
