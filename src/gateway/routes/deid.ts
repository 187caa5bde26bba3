// SPDX-License-Identifier: Apache-2.0
/**
 * `POST /v1/deid` and `POST /v1/reid`: the de-identification engine as a service. Nothing leaves
 * the gateway; both are authenticated and audited like every other route. Tokens issued by
 * /v1/deid live in a conversation bound to the caller, and only that caller can re-identify them.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { z } from 'zod';
import { auditEventTypes } from '../../audit/record.js';
import { createReidentifier, vaultLookup } from '../../deid/reidentify-stream.js';
import { deidPolicies, type DeidPolicyName } from '../../deid/transforms/apply.js';
import { isDeidError } from '../../deid/transforms/deid-error.js';
import { GatewayError } from '../../kernel/errors.js';
import { randomToken } from '../../kernel/ids.js';
import { parseJson, type NodeContext } from '../../http/request-meta.js';
import { formatZodIssues } from '../openai/schemas.js';
import { authenticate } from '../pipeline/authenticate.js';
import { authorizeAction } from '../pipeline/authorize.js';
import type { GatewayDeps, PipelineContext, PipelineResult, PipelineStep } from '../pipeline/context.js';
import { conversationKey } from '../pipeline/conversation.js';
import { handleRoute } from './handle.js';
import { sendJson } from './respond.js';

const policyNames = Object.keys(deidPolicies) as [DeidPolicyName, ...DeidPolicyName[]];
const conversationSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected 1-128 letters, digits, ".", "_", ":" or "-"');

const deidRequestSchema = z.strictObject({
  text: z.string(),
  policy: z.enum(policyNames).optional(),
  language: z.enum(['en', 'es']).optional(),
  /** Conversation the tokens belong to; a new one is made (and returned) when absent. */
  conversation: conversationSchema.optional(),
});

const reidRequestSchema = z.strictObject({ text: z.string(), conversation: conversationSchema });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
  return parsed.data;
}

const deidentifyText: PipelineStep = async (ctx) => {
  const body = parse(deidRequestSchema, parseJson(await ctx.meta.readBody()));
  const conversation = body.conversation ?? `conv_${randomToken(12)}`;
  ctx.conversationId = conversationKey(ctx, conversation);
  try {
    const result = await ctx.deps.deid.deidentifier.deidentify(body.text, {
      conversationId: ctx.conversationId,
      ...(body.policy === undefined ? {} : { policy: deidPolicies[body.policy] }),
      ...(body.language === undefined ? {} : { language: body.language }),
    });
    ctx.phiFound = result.counts;
    ctx.result = {
      kind: 'local',
      value: {
        object: 'deid.result',
        conversation,
        text: result.text,
        form: result.form,
        safe_harbor: result.safeHarbor,
        spans: result.spans.map((span) => ({ start: span.start, end: span.end, type: span.type })),
        counts: result.counts,
      },
    };
  } catch (err) {
    if (isDeidError(err)) {
      throw new GatewayError(err.code === 'input_too_large' ? 'request_too_large' : 'invalid_request', { cause: err, detail: { reason: err.code } });
    }
    throw err;
  }
};

const reidentifyText: PipelineStep = async (ctx) => {
  const body = parse(reidRequestSchema, parseJson(await ctx.meta.readBody()));
  ctx.conversationId = conversationKey(ctx, body.conversation);
  const reidentifier = createReidentifier({ allowed: true, lookup: vaultLookup(ctx.deps.deid.vault, ctx.conversationId) });
  const text = (await reidentifier.push(body.text)) + (await reidentifier.flush());
  ctx.result = { kind: 'local', value: { object: 'reid.result', text, replaced: reidentifier.replaced } };
};

export function registerDeidRoutes(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  const respond = (c: NodeContext, result: PipelineResult, ctx: PipelineContext): Response => {
    if (result.kind !== 'local') throw new GatewayError('internal_error');
    return sendJson(c, 200, result.value, ctx.meta.requestId);
  };
  app.post('/v1/deid', (c) =>
    handleRoute(c, { deps, respond }, [authenticate, authorizeAction('deid:use'), deidentifyText], (meta) => ({ deps, meta, eventType: auditEventTypes.deidText, operation: 'local' })),
  );
  app.post('/v1/reid', (c) =>
    handleRoute(c, { deps, respond }, [authenticate, authorizeAction('deid:use'), reidentifyText], (meta) => ({ deps, meta, eventType: auditEventTypes.reidText, operation: 'local' })),
  );
}
