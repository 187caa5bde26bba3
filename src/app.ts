// SPDX-License-Identifier: Apache-2.0
/**
 * buildApp(deps): the HTTP application without a listening socket, so tests drive it in-process
 * and main.ts serves it. Health and metrics routes carry no data; every /v1 route runs the
 * pipeline and is audited.
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { GatewayError } from './kernel/errors.js';
import { requestIdOf } from './http/request-meta.js';
import type { GatewayDeps } from './gateway/pipeline/context.js';
import { registerAnthropicRoutes } from './gateway/routes/anthropic.js';
import { registerDeidRoutes } from './gateway/routes/deid.js';
import { registerRetrieveRoute } from './gateway/routes/retrieve.js';
import { registerDocumentRoutes } from './console/document-routes.js';
import { registerAccessRoutes } from './console/access-routes.js';
import { registerReviewAdminRoutes } from './console/review-routes.js';
import { registerReviewRoutes } from './gateway/routes/review.js';
import { registerVendorRoutes } from './console/vendor-routes.js';
import { registerUseCaseRoutes } from './console/use-case-routes.js';
import { registerAuthRoutes } from './console/auth-routes.js';
import { registerOpenAiRoutes } from './gateway/routes/openai.js';
import { registerDownstreamRoute } from './gateway/routes/audit-downstream.js';
import { sendError, sendJson } from './gateway/routes/respond.js';

export interface AppDeps extends GatewayDeps {
  /** True when the store answers and the server is not shutting down. */
  readonly isReady: () => Promise<boolean>;
}

export type App = Hono<{ Bindings: HttpBindings }>;

export function buildApp(deps: AppDeps): App {
  const app: App = new Hono<{ Bindings: HttpBindings }>();
  const { logger, metrics, config } = deps;

  app.use('*', async (c, next) => {
    const started = process.hrtime.bigint();
    await next();
    const route = c.req.routePath === '/*' ? 'unmatched' : c.req.routePath;
    const status = c.env.outgoing.statusCode;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.httpRequests.inc({ route, status: String(status) });
    metrics.httpDuration.observe({ route }, seconds);
    if (config.logging.accessLog) {
      // Ids, route template, status and timing only: never bodies, headers or query strings.
      logger.info({ requestId: c.env.outgoing.getHeader('x-request-id'), method: c.req.method, route, status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    }
  });

  app.get('/healthz', (c) => sendJson(c, 200, { status: 'ok' }, requestIdOf(c)));
  app.get('/readyz', async (c) => {
    const ready = await deps.isReady().catch(() => false);
    return ready ? sendJson(c, 200, { status: 'ready' }, requestIdOf(c)) : sendError(c, new GatewayError('not_ready'), requestIdOf(c), deps);
  });
  if (config.server.metrics) {
    app.get('/metrics', async (c) => {
      const text = await metrics.registry.metrics();
      c.env.outgoing.writeHead(200, { 'content-type': metrics.registry.contentType });
      c.env.outgoing.end(text);
      return RESPONSE_ALREADY_SENT;
    });
  }

  registerOpenAiRoutes(app, deps);
  registerAnthropicRoutes(app, deps);
  registerDeidRoutes(app, deps);
  registerRetrieveRoute(app, deps);
  registerAuthRoutes(app, deps);
  registerDownstreamRoute(app, deps);
  registerAccessRoutes(app, deps);
  registerReviewRoutes(app, deps);
  registerReviewAdminRoutes(app, deps);
  registerVendorRoutes(app, deps);
  registerUseCaseRoutes(app, deps);
  registerDocumentRoutes(app, deps);

  app.notFound((c) => sendError(c, new GatewayError('route_not_found'), requestIdOf(c), deps));
  app.onError((err, c) => sendError(c, err, requestIdOf(c), deps));
  return app;
}
