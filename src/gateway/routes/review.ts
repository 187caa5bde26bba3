// SPDX-License-Identifier: Apache-2.0
/**
 * `GET /v1/reviews/:id`: the requester's side of the review queue. A treatment-affecting answer
 * is held until a clinician decides; the caller that asked polls here with the review id it
 * was given, and receives the answer once approved (as the model wrote it, or as the reviewer
 * edited it) in the format of the surface it asked on — an OpenAI chat completion or an
 * Anthropic message — labelled and annotated like any decision-support answer.
 *
 * Only the requester sees an item (anyone else is told it does not exist), only while they may
 * still see the patient; every call, refused or not, is audited as a PHI read (`review.fetch`)
 * before anything is released.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { auditEventTypes } from '../../audit/record.js';
import { GatewayError, toErrorBody } from '../../kernel/errors.js';
import type { NodeContext } from '../../http/request-meta.js';
import { createRequestMeta, requestIdOf } from '../../http/request-meta.js';
import { reviewActorOf, reviewAuditEvent, reviewAuditEventTypes } from '../../review/audit.js';
import { releasedResult, type PublicReviewStatus } from '../../review/clinical-label.js';
import { reviewIdPattern, reviewQueueFor, type ReleasedReview, type ReviewRequest } from '../../review/queue.js';
import type { ReviewStatus } from '../../store/repos/review-repo.js';
import { toAnthropicMessage } from '../anthropic/translate.js';
import { authenticate } from '../pipeline/authenticate.js';
import type { GatewayDeps, LocalContext } from '../pipeline/context.js';
import { sendError, sendJson } from './respond.js';


const publicStatus = (status: ReviewStatus): PublicReviewStatus => (status === 'queued' || status === 'claimed' ? 'pending' : status);
const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** The wire form of the requester's view. */
export function toReviewResponse(released: ReleasedReview): Record<string, unknown> {
  const { item, answer } = released;
  const status = publicStatus(item.status);
  let completion: unknown = null;
  if (answer !== undefined && (status === 'approved' || status === 'edited')) {
    const result = releasedResult({
      result: answer.result,
      edited: released.edited,
      labelled: answer.labelled,
      jsonMode: answer.jsonMode,
      citations: answer.citations,
      confidence: answer.confidence,
      sourceAttributes: answer.sourceAttributes,
      useCase: { id: item.useCaseId, version: item.useCaseVersion },
      review: { id: item.id, status, ...(item.decidedBy === null ? {} : { reviewed_by: item.decidedBy }), ...(item.decidedAt === null ? {} : { decided_at: Math.floor(item.decidedAt / 1000) }) },
    });
    completion = item.surface === auditEventTypes.anthropicMessage ? { ...toAnthropicMessage(result, result.model), phigate: result.phigate } : result;
  }
  return {
    object: 'phigate.review',
    id: item.id,
    status,
    use_case: { id: item.useCaseId, version: item.useCaseVersion },
    created: seconds(item.createdAt),
    decided_at: seconds(item.decidedAt),
    completion,
    rejection: status === 'rejected' ? { reason: released.reason ?? null } : null,
  };
}

export function registerReviewRoutes(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  app.get('/v1/reviews/:id', async (c: NodeContext) => {
    const requestId = requestIdOf(c);
    const meta = createRequestMeta(c, requestId, deps.config.server.maxBodyBytes, deps.clock.now());
    const client = { ip: meta.clientIp, userAgent: meta.userAgent };
    const id = c.req.param('id') ?? '';
    const ctx: LocalContext = { deps, meta, eventType: reviewAuditEventTypes.fetch, operation: 'local' };
    try {
      await authenticate(ctx);
    } catch (err) {
      // Refused before anyone was known: recorded with no actor, like every refusal.
      const { status, body } = toErrorBody(err);
      try {
        await deps.audit.append(
          reviewAuditEvent({ type: reviewAuditEventTypes.fetch, now: deps.clock.now(), request: { requestId, client }, instance: deps.instanceId, outcome: 'denied', status, errorCode: body.error.code }),
        );
      } catch (auditErr) {
        return sendError(c, new GatewayError('audit_unavailable', { cause: auditErr }), requestId, deps);
      }
      return sendError(c, err, requestId, deps);
    }
    const principal = ctx.principal;
    if (principal === undefined) return sendError(c, new GatewayError('internal_error'), requestId, deps);
    const req: ReviewRequest = { actor: reviewActorOf(principal), requestId, client };
    try {
      // A malformed id is an unknown item; the queue records the refusal.
      const released = await reviewQueueFor(deps).fetch(req, reviewIdPattern.test(id) ? id : 'invalid');
      return sendJson(c, 200, toReviewResponse(released), requestId);
    } catch (err) {
      return sendError(c, err, requestId, deps);
    }
  });
}
