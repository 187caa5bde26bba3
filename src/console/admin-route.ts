// SPDX-License-Identifier: Apache-2.0
/**
 * The common wrapper of the admin API's routes: authenticate the caller (a console session or an
 * API key), refuse a delegated credential (acting for someone else never confers administrative
 * rights), read the body, run the handler, and record a refusal the service did not audit itself
 * before the answer is released (`audit_unavailable` when that record cannot be written).
 *
 * ```ts
 * app.get('/admin/api/things', adminRoute(deps, { refusal: deniedAs(deps, 'thing.list') }, async (call) => ({ body: await things.list(call) })));
 * ```
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { presentedCredential } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { sendError, sendJson } from '../gateway/routes/respond.js';
import { createRequestMeta, requestIdOf, type NodeContext } from '../http/request-meta.js';
import { GatewayError, toErrorBody } from '../kernel/errors.js';
import { recordAdminCall } from './admin-audit.js';

/** Who called an admin route (ids and roles only). */
export interface AdminRouteActor {
  readonly userId: string;
  readonly kind: Principal['kind'];
  readonly roles: Principal['roles'];
  readonly authMethod: Principal['authMethod'];
  readonly apiKeyId: Principal['apiKeyId'];
}

/** One admin call as its handler sees it. */
export interface AdminCall {
  readonly actor: AdminRouteActor;
  readonly requestId: string;
  readonly client: { readonly ip: string | undefined; readonly userAgent: string | undefined };
  /** The request body as text (`''` for a route without one). */
  readonly body: string;
}

/** A handler's answer: JSON with a status (200 by default), or a response it sent itself. */
export type AdminResult = Response | { readonly status?: number; readonly body: unknown };

/** What is known of a call when it is refused: the actor once authenticated. */
export interface AdminRefusal {
  readonly requestId: string;
  readonly client: AdminCall['client'];
  readonly actor?: AdminRouteActor;
}

export interface AdminRouteOptions {
  /** Read the body before the handler. Default true. */
  readonly withBody?: boolean;
  /** Records a refusal; absent when the service audits every refusal itself. A throw answers `audit_unavailable`. */
  readonly refusal?: (err: unknown, call: AdminRefusal, c: NodeContext) => Promise<void>;
  /** Event recorded as a success after the handler (a read the service does not audit). */
  readonly successEvent?: string;
}

/** Authenticates the caller of an admin route: the console session, else the presented API key. */
export async function authenticateAdminCaller(deps: Pick<GatewayDeps, 'auth' | 'apiKeys'>, c: NodeContext): Promise<Principal> {
  const header = (name: string): string | undefined => c.req.header(name);
  if (deps.auth) return deps.auth.authenticate(header);
  const presented = presentedCredential(header);
  if (presented === undefined) throw new GatewayError('unauthenticated');
  return deps.apiKeys.authenticate(presented);
}

/**
 * A refusal recorder writing the admin-call record `type` as denied, with the error's status and
 * code, unless `audited(err)` says the service recorded it already.
 */
export function deniedAs(
  deps: Pick<GatewayDeps, 'audit' | 'clock' | 'instanceId'>,
  type: string,
  audited: (err: unknown) => boolean = () => false,
): NonNullable<AdminRouteOptions['refusal']> {
  return async (err, call, c) => {
    if (audited(err)) return;
    const { status, body } = toErrorBody(err);
    await recordAdminCall(deps, c, { requestId: call.requestId, type, outcome: 'denied', status, errorCode: body.error.code, ...(call.actor === undefined ? {} : { actor: call.actor }) });
  };
}

/** Wraps an admin handler (see the module comment). */
export function adminRoute(deps: GatewayDeps, options: AdminRouteOptions, handler: (call: AdminCall, c: NodeContext) => Promise<AdminResult>) {
  const withBody = options.withBody ?? true;
  return async (c: NodeContext): Promise<Response> => {
    const requestId = requestIdOf(c);
    const client = { ip: c.env.incoming.socket.remoteAddress, userAgent: c.req.header('user-agent')?.slice(0, 256) };
    let actor: AdminRouteActor | undefined;
    try {
      const principal = await authenticateAdminCaller(deps, c);
      // Acting for someone else never confers administrative rights.
      if (principal.onBehalfOf) throw new GatewayError('permission_denied', { detail: { reason: 'delegated_credential' } });
      actor = { userId: principal.userId, kind: principal.kind, roles: principal.roles, authMethod: principal.authMethod, apiKeyId: principal.apiKeyId };
      const body = withBody ? await createRequestMeta(c, requestId, deps.config.server.maxBodyBytes, deps.clock.now()).readBody() : '';
      const result = await handler({ actor, requestId, client, body }, c);
      if (result instanceof Response || result === RESPONSE_ALREADY_SENT) return result as Response;
      const status = result.status ?? 200;
      if (options.successEvent !== undefined) await recordAdminCall(deps, c, { requestId, type: options.successEvent, outcome: 'success', status, actor });
      return sendJson(c, status, result.body, requestId);
    } catch (err) {
      if (options.refusal) {
        try {
          await options.refusal(err, { requestId, client, ...(actor === undefined ? {} : { actor }) }, c);
        } catch (auditErr) {
          return sendError(c, new GatewayError('audit_unavailable', { cause: auditErr }), requestId, deps);
        }
      }
      return sendError(c, err, requestId, deps);
    }
  };
}
