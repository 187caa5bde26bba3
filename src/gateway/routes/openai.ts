// SPDX-License-Identifier: Apache-2.0
/** The OpenAI-compatible surface: chat completions (plain and streamed), embeddings, models. */
import type { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { auditEventTypes } from '../../audit/record.js';
import { GatewayError, toErrorBody } from '../../kernel/errors.js';
import { createRequestMeta, parseJson, requestIdOf, type NodeContext } from '../../http/request-meta.js';
import { encodeChatChunk, encodeStreamError, SSE_DONE } from '../openai/sse.js';
import { parseChatCompletionRequest, parseEmbeddingRequest } from '../openai/schemas.js';
import type { GatewayDeps, PipelineContext, PipelineStep } from '../pipeline/context.js';
import { authenticate } from '../pipeline/authenticate.js';
import { buildPipeline, runPipeline } from '../pipeline/pipeline.js';
import { sendError, sendJson, sendSse } from './respond.js';

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
  ctx.result = { kind: 'models', value: { object: 'list', data } };
};

export function registerOpenAiRoutes(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  const chatSteps = buildPipeline(parseChat);
  const embeddingSteps = buildPipeline(parseEmbeddings);
  const modelSteps = [authenticate, listModels];

  async function handle(c: NodeContext, ctx: (meta: PipelineContext['meta']) => PipelineContext, steps: readonly PipelineStep[]): Promise<Response> {
    const requestId = requestIdOf(c);
    const context = ctx(createRequestMeta(c, requestId, deps.config.server.maxBodyBytes, deps.clock.now()));
    try {
      await runPipeline(context, steps);
    } catch (err) {
      return sendError(c, err, requestId, deps);
    }
    const result = context.result;
    switch (result?.kind) {
      case 'chat':
      case 'embeddings':
      case 'models':
        return sendJson(c, 200, result.value, requestId);
      case 'stream':
        return sendSse(c, result.deltas, requestId, encodeChatChunk, SSE_DONE, (err) => encodeStreamError(toErrorBody(err).body));
      case undefined:
        return sendError(c, new GatewayError('internal_error'), requestId, deps);
    }
  }

  app.post('/v1/chat/completions', (c) => handle(c, (meta) => ({ deps, meta, eventType: auditEventTypes.chatCompletion, operation: 'chat' }), chatSteps));
  app.post('/v1/embeddings', (c) => handle(c, (meta) => ({ deps, meta, eventType: auditEventTypes.embeddings, operation: 'embeddings' }), embeddingSteps));
  app.get('/v1/models', (c) => handle(c, (meta) => ({ deps, meta, eventType: auditEventTypes.modelsList, operation: 'models' }), modelSteps));
}
