// SPDX-License-Identifier: Apache-2.0
/**
 * `POST /v1/messages` in Anthropic's Messages format, so Claude SDK clients work unchanged. The
 * request is translated to the canonical form and takes the same road as every other request;
 * answers and errors are translated back.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { auditEventTypes } from '../../audit/record.js';
import { GatewayError } from '../../kernel/errors.js';
import { parseJson, type NodeContext } from '../../http/request-meta.js';
import { parseAnthropicMessagesRequest } from '../anthropic/schemas.js';
import { encodeAnthropicEvent } from '../anthropic/sse.js';
import { fromAnthropicRequest, toAnthropicError, toAnthropicMessage, toAnthropicStream, toAnthropicStreamError } from '../anthropic/translate.js';
import type { GatewayDeps, PipelineContext, PipelineResult, PipelineStep } from '../pipeline/context.js';
import { buildPipeline } from '../pipeline/pipeline.js';
import { handleRoute } from './handle.js';
import { sendJson, sendSse } from './respond.js';

const parseMessages: PipelineStep = async (ctx) => {
  if (ctx.operation !== 'chat') throw new GatewayError('internal_error');
  ctx.request = fromAnthropicRequest(parseAnthropicMessagesRequest(parseJson(await ctx.meta.readBody())));
};

export function registerAnthropicRoutes(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  const steps = buildPipeline(parseMessages);
  const respond = (c: NodeContext, result: PipelineResult, ctx: PipelineContext): Response | Promise<Response> => {
    const requestId = ctx.meta.requestId;
    const model = ctx.request?.model ?? '';
    switch (result.kind) {
      case 'chat':
        // The clinical-safeguards annotation (label, citations, review) travels beside Anthropic's fields.
        return sendJson(c, 200, { ...toAnthropicMessage(result.value, model), ...('phigate' in result.value ? { phigate: result.value.phigate } : {}) }, requestId);
      case 'stream':
        // message_stop ends an Anthropic stream; there is no separate terminator.
        return sendSse(c, toAnthropicStream(result.deltas, model), requestId, encodeAnthropicEvent, '', (err) => encodeAnthropicEvent(toAnthropicStreamError(err)));
      case 'embeddings':
      case 'local':
        throw new GatewayError('internal_error');
    }
  };
  app.post('/v1/messages', (c) =>
    handleRoute(
      c,
      {
        deps,
        respond,
        renderError: (status, body) => toAnthropicError(status, body.error.code, body.error.message),
      },
      steps,
      (meta) => ({ deps, meta, eventType: auditEventTypes.anthropicMessage, operation: 'chat' }),
    ),
  );
}
