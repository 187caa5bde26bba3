// SPDX-License-Identifier: Apache-2.0
/**
 * Admin API of the human review queue (`/admin/api/reviews/…`), for reviewing clinicians and the
 * console: list the queue, open a held answer (decrypted for the reviewer, audited as a PHI
 * read), claim one item or the next free one, give a claim back, approve, approve with edits,
 * reject with a reason, and read the FHIR Provenance recorded with a decision.
 *
 * Authenticated like the rest of the admin API (API key or OIDC bearer token). The rules —
 * `review:decide`, a care-team or unit relationship with the patient, never one's own request,
 * a live claim and the version read for a decision — are the queue's (review/queue.ts), so the
 * CLI enforces the same. Every call is audited there, refusals included; a call refused before
 * the caller is known is recorded here, without an actor.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { formatZodIssues } from '../gateway/openai/schemas.js';
import { sendError, sendJson } from '../gateway/routes/respond.js';
import { createRequestMeta, parseJson, requestIdOf, type NodeContext } from '../http/request-meta.js';
import { GatewayError, toErrorBody } from '../kernel/errors.js';
import { reviewActorOf, reviewAuditEvent, reviewAuditEventTypes, type ReviewAuditEventType } from '../review/audit.js';
import { maxEditLength, maxReasonLength, reviewIdPattern, reviewQueueFor, type ReviewQueue, type ReviewRequest } from '../review/queue.js';
import { reviewStatuses } from '../store/repos/review-repo.js';
import { authenticateAdminCaller } from './admin-route.js';

type App = Hono<{ Bindings: HttpBindings }>;


const versionField = z.number().int().min(1).optional();
const versionSchema = z.strictObject({ version: versionField });
const editSchema = z.strictObject({ content: z.string().min(1).max(maxEditLength), version: versionField });
const rejectSchema = z.strictObject({ reason: z.string().min(1).max(maxReasonLength), version: versionField });
const claimNextSchema = z.strictObject({ useCase: z.string().min(1).max(64).optional() });
const listQuerySchema = z.strictObject({
  status: z
    .string()
    .transform((s) => s.split(',').filter((v) => v !== ''))
    .pipe(z.array(z.enum(reviewStatuses)).min(1))
    .optional(),
  useCase: z.string().min(1).max(64).optional(),
  mine: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

function parseBody<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(text.trim() === '' ? {} : parseJson(text));
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
  return parsed.data;
}

/** Registers the review queue's admin routes. */
export function registerReviewAdminRoutes(app: App, deps: GatewayDeps): void {
  const queue = (): ReviewQueue => reviewQueueFor(deps);

  /**
   * Wraps a handler: authenticate, read and check the input, then act. The queue audits what it
   * does (refusals included); a caller refused before that — unknown, or with malformed input —
   * is recorded here under the same event type.
   */
  function route<T>(
    type: ReviewAuditEventType,
    parse: (text: string, c: NodeContext) => T,
    act: (req: ReviewRequest, input: T, c: NodeContext) => Promise<{ body: unknown; contentType?: string }>,
    withBody = true,
  ) {
    return async (c: NodeContext): Promise<Response> => {
      const requestId = requestIdOf(c);
      const meta = createRequestMeta(c, requestId, deps.config.server.maxBodyBytes, deps.clock.now());
      const client = { ip: meta.clientIp, userAgent: meta.userAgent };
      let req: ReviewRequest | undefined;
      let input: T;
      try {
        req = { actor: reviewActorOf(await authenticateAdminCaller(deps, c)), requestId, client };
        input = parse(withBody ? await meta.readBody() : '', c);
      } catch (err) {
        const { status, body } = toErrorBody(err);
        try {
          await deps.audit.append(
            reviewAuditEvent({
              type,
              now: deps.clock.now(),
              request: { requestId, client, ...(req === undefined ? {} : { actor: req.actor }) },
              instance: deps.instanceId,
              outcome: 'denied',
              status,
              errorCode: body.error.code,
              detail: { reviewId: c.req.param('id') === undefined ? undefined : reviewIdOf(c) },
            }),
          );
        } catch (auditErr) {
          return sendError(c, new GatewayError('audit_unavailable', { cause: auditErr }), requestId, deps);
        }
        return sendError(c, err, requestId, deps);
      }
      try {
        const result = await act(req, input, c);
        return sendJson(c, 200, result.body, requestId, result.contentType === undefined ? undefined : { 'content-type': result.contentType });
      } catch (err) {
        return sendError(c, err, requestId, deps);
      }
    };
  }

  const none = (): undefined => undefined;
  const body =
    <T>(schema: z.ZodType<T>) =>
    (text: string): T =>
      parseBody(schema, text);

  const base = '/admin/api/reviews';
  const version = (input: { version?: number | undefined }) => (input.version === undefined ? {} : { version: input.version });

  app.get(base, route(reviewAuditEventTypes.list, (_text, c) => {
    const parsed = listQuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
    return parsed.data;
  }, async (req, q) => {
    const data = await queue().list(req, {
      ...(q.status === undefined ? {} : { statuses: q.status }),
      ...(q.useCase === undefined ? {} : { useCaseId: q.useCase }),
      ...(q.mine === undefined ? {} : { mine: q.mine }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
    });
    return { body: { data } };
  }, false));
  app.post(`${base}/claim`, route(reviewAuditEventTypes.claim, body(claimNextSchema), async (req, input) => {
    const claimed = await queue().claimNext(req, input.useCase === undefined ? {} : { useCaseId: input.useCase });
    return { body: { data: claimed ?? null } };
  }));
  app.get(`${base}/:id`, route(reviewAuditEventTypes.read, none, async (req, _input, c) => ({ body: await queue().show(req, reviewIdOf(c)) }), false));
  app.post(`${base}/:id/claim`, route(reviewAuditEventTypes.claim, none, async (req, _input, c) => ({ body: await queue().claim(req, reviewIdOf(c)) }), false));
  app.post(`${base}/:id/unclaim`, route(reviewAuditEventTypes.unclaim, body(versionSchema), async (req, input, c) => ({ body: await queue().unclaim(req, reviewIdOf(c), version(input)) })));
  app.post(`${base}/:id/approve`, route(reviewAuditEventTypes.approve, body(versionSchema), async (req, input, c) => ({ body: await queue().approve(req, reviewIdOf(c), version(input)) })));
  app.post(`${base}/:id/edit`, route(reviewAuditEventTypes.edit, body(editSchema), async (req, input, c) => ({ body: await queue().edit(req, reviewIdOf(c), { content: input.content, ...version(input) }) })));
  app.post(`${base}/:id/reject`, route(reviewAuditEventTypes.reject, body(rejectSchema), async (req, input, c) => ({ body: await queue().reject(req, reviewIdOf(c), { reason: input.reason, ...version(input) }) })));
  app.get(
    `${base}/:id/provenance`,
    route(reviewAuditEventTypes.provenance, none, async (req, _input, c) => ({ body: await queue().provenance(req, reviewIdOf(c)), contentType: 'application/fhir+json' }), false),
  );
}

/** The review id from the path; anything not shaped like one names no item (and is never echoed). */
function reviewIdOf(c: NodeContext): string {
  const id = c.req.param('id') ?? '';
  return reviewIdPattern.test(id) ? id : 'invalid';
}
