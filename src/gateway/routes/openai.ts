// SPDX-License-Identifier: Apache-2.0
/** The OpenAI-compatible surface: chat completions (plain and streamed), embeddings, models. */
import type { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { auditEventTypes } from '../../audit/record.js';
import { GatewayError, toErrorBody } from '../../kernel/errors.js';
import { parseJson, type NodeContext } from '../../http/request-meta.js';
import { toEmbeddingResponse } from '../openai/embeddings.js';
import { encodeChatChunk, encodeStreamError, SSE_DONE } from '../openai/sse.js';
import { parseChatCompletionRequest, parseEmbeddingRequest } from '../openai/schemas.js';
import type { GatewayDeps, PipelineContext, PipelineResult, PipelineStep } from '../pipeline/context.js';
import { authenticate } from '../pipeline/authenticate.js';
import { buildPipeline } from '../pipeline/pipeline.js';
import { handleRoute } from './handle.js';
import { sendJson, sendSse } from './respond.js';

const parseChat: PipelineStep = async (ctx) => {
  if (ctx.operation !== 'chat') throw new GatewayError('internal_error');
  ctx.request = parseChatCompletionRequest(parseJson(await ctx.meta.readBody())).request;
};

const parseEmbeddings: PipelineStep = async (ctx) => {
  if (ctx.operation !== 'embeddings') throw new GatewayError('internal_error');
  ctx.request = parseEmbeddingRequest(parseJson(await ctx.meta.readBody()));
};

/** Lists the models the caller may use. Credentials scoped to use cases see the same models until use cases pin models. */
const listModels: PipelineStep = (ctx) => {
  const created = Math.floor(ctx.deps.clock.now() / 1000);
  const seen = new Set<string>();
  const data = [];
  for (const model of ctx.deps.endpoints.models()) {
    if (seen.has(model.name)) continue;
    seen.add(model.name);
    data.push({ id: model.name, object: 'model' as const, created, owned_by: model.endpointId });
  }
  ctx.result = { kind: 'local', value: { object: 'list', data } };
};

export function registerOpenAiRoutes(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  const chatSteps = buildPipeline(parseChat);
  const embeddingSteps = buildPipeline(parseEmbeddings);
  const modelSteps = [authenticate, listModels];

  const respond = (c: NodeContext, result: PipelineResult, ctx: PipelineContext): Response | Promise<Response> => {
    const requestId = ctx.meta.requestId;
    switch (result.kind) {
      case 'stream':
        return sendSse(c, result.deltas, requestId, encodeChatChunk, SSE_DONE, (err) => encodeStreamError(toErrorBody(err).body));
      case 'embeddings': {
        const request = ctx.operation === 'embeddings' ? ctx.request : undefined;
        return sendJson(c, 200, toEmbeddingResponse(result.value, request?.encoding_format, result.value.model), requestId);
      }
      case 'chat':
      case 'local':
        return sendJson(c, 200, result.value, requestId);
    }
  };
  const surface = { deps, respond };

  app.post('/v1/chat/completions', (c) =>
    handleRoute(c, surface, chatSteps, (meta) => ({ deps, meta, eventType: auditEventTypes.chatCompletion, operation: 'chat' })),
  );
  app.post('/v1/embeddings', (c) =>
    handleRoute(c, surface, embeddingSteps, (meta) => ({ deps, meta, eventType: auditEventTypes.embeddings, operation: 'embeddings' })),
  );
  app.get('/v1/models', (c) =>
    handleRoute(c, surface, modelSteps, (meta) => ({ deps, meta, eventType: auditEventTypes.modelsList, operation: 'local' })),
  );
}
