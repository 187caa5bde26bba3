// SPDX-License-Identifier: Apache-2.0
/** The shape every API route shares: build the context, run the pipeline, answer in the surface's format. */
import type { ErrorBody } from '../../kernel/errors.js';
import { GatewayError } from '../../kernel/errors.js';
import { createRequestMeta, requestIdOf, type NodeContext } from '../../http/request-meta.js';
import type { GatewayDeps, PipelineContext, PipelineResult, PipelineStep, RequestMeta } from '../pipeline/context.js';
import { runPipeline } from '../pipeline/pipeline.js';
import { sendError } from './respond.js';

export interface Surface {
  readonly deps: GatewayDeps;
  /** Writes a successful result; `ctx` is the finished request context. */
  readonly respond: (c: NodeContext, result: PipelineResult, ctx: PipelineContext) => Response | Promise<Response>;
  /** Renders an error body in the surface's format (OpenAI's by default). */
  readonly renderError?: (status: number, body: ErrorBody) => unknown;
}

export async function handleRoute(
  c: NodeContext,
  surface: Surface,
  steps: readonly PipelineStep[],
  makeContext: (meta: RequestMeta) => PipelineContext,
): Promise<Response> {
  const { deps } = surface;
  const requestId = requestIdOf(c);
  const ctx = makeContext(createRequestMeta(c, requestId, deps.config.server.maxBodyBytes, deps.clock.now()));
  try {
    await runPipeline(ctx, steps);
  } catch (err) {
    return sendError(c, err, requestId, deps, surface.renderError);
  }
  if (ctx.result === undefined) return sendError(c, new GatewayError('internal_error'), requestId, deps, surface.renderError);
  return surface.respond(c, ctx.result, ctx);
}
