// SPDX-License-Identifier: Apache-2.0
/**
 * `POST /v1/audit/downstream` `{request_id, action, note?}`: an application reports what it did
 * with an answer. Authenticated like every /v1 route; the call itself is audited
 * (`audit.report_downstream`), and an accepted report is appended as `audit.downstream` before
 * the answer is sent (see audit/downstream.ts).
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { auditToolEventTypes } from '../../audit/catalogue.js';
import { buildDownstreamEvent, downstreamReportSchema } from '../../audit/downstream.js';
import { GatewayError } from '../../kernel/errors.js';
import { parseJson, type NodeContext } from '../../http/request-meta.js';
import { authenticate } from '../pipeline/authenticate.js';
import type { GatewayDeps, PipelineContext, PipelineResult, PipelineStep } from '../pipeline/context.js';
import { handleRoute } from './handle.js';
import { sendJson } from './respond.js';

// The context's event type lists only the pipeline's own routes; this route adds one of the audit tools'.
const reportDownstreamEventType = auditToolEventTypes.reportDownstream;

const reportDownstream: PipelineStep = async (ctx) => {
  const parsed = downstreamReportSchema.safeParse(parseJson(await ctx.meta.readBody()));
  if (!parsed.success) throw new GatewayError('invalid_request');
  const principal = ctx.principal;
  if (principal === undefined) throw new GatewayError('unauthenticated');
  const { deps, meta } = ctx;
  const event = await buildDownstreamEvent(
    { db: deps.store.db, keyedHash: deps.keyedHash, now: deps.clock.now(), instance: deps.instanceId, requestId: meta.requestId, client: { ip: meta.clientIp, userAgent: meta.userAgent?.slice(0, 256) } },
    principal,
    parsed.data,
  );
  try {
    await deps.audit.append(event);
  } catch (err) {
    throw new GatewayError('audit_unavailable', { cause: err });
  }
  ctx.result = { kind: 'local', value: { object: 'audit.downstream', id: event.id, request_id: parsed.data.request_id, action: parsed.data.action } };
};

export function registerDownstreamRoute(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  const respond = (c: NodeContext, result: PipelineResult, ctx: PipelineContext): Response => {
    if (result.kind !== 'local') throw new GatewayError('internal_error');
    return sendJson(c, 201, result.value, ctx.meta.requestId);
  };
  app.post('/v1/audit/downstream', (c) =>
    handleRoute(c, { deps, respond }, [authenticate, reportDownstream], (meta) => ({ deps, meta, eventType: reportDownstreamEventType, operation: 'local' })),
  );
}
