// SPDX-License-Identifier: Apache-2.0
/**
 * Console sign-in and the user/key admin API.
 *
 * Console: `POST /console/api/login` (name, password, TOTP code) sets the session cookie
 * (`__Host-phigate_session`: Secure, HttpOnly, SameSite=Strict, Path=/) and returns the CSRF
 * token; `POST /console/api/logout`; `GET /console/api/session`.
 *
 * Admin API (`/admin/api/…`): authenticated with an API key or OIDC token of a principal with
 * the `admin` role, or with an admin's console session — then state-changing calls also need
 * `x-csrf-token` and, when the browser sends one, an allowed `Origin`. Every change is audited
 * by the admin service; sign-ins and sign-outs are audited here (`auth.login`, `auth.logout`).
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { z } from 'zod';
import type { AdminActor, AdminRequest } from '../auth/admin.js';
import type { Principal } from '../auth/principal.js';
import type { AuthServices } from '../auth/runtime.js';
import { csrfHeader, sessionCookieName } from '../auth/sessions.js';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { sendError, sendJson } from '../gateway/routes/respond.js';
import { formatZodIssues } from '../gateway/openai/schemas.js';
import { createRequestMeta, parseJson, requestIdOf, type NodeContext } from '../http/request-meta.js';
import { GatewayError, toErrorBody } from '../kernel/errors.js';
import { recordAdminCall } from './admin-audit.js';

declare module '../gateway/pipeline/context.js' {
  interface GatewayDeps {
    /** Sign-in, sessions and administration; the console and admin routes are off without it. */
    readonly authServices?: AuthServices;
  }
}

/** The role whose holders may administer users and keys. Named exactly, never matched by pattern. */
export const adminRole = 'admin';

const loginSchema = z.strictObject({ name: z.string().max(256), password: z.string().max(1024), totp: z.string().max(16) });
const newUserSchema = z.strictObject({
  name: z.string().min(1).max(128),
  roles: z.array(z.string()).max(64).default([]),
  orgUnit: z.string().min(1).max(128).nullish(),
  kind: z.enum(['user', 'service']).default('user'),
});
const rolesSchema = z.strictObject({ roles: z.array(z.string()).max(64) });
const passwordSchema = z.strictObject({ password: z.string() });
const delegationSchema = z.strictObject({ userId: z.string().min(1).max(128) });
const newKeySchema = z.strictObject({
  userId: z.string().min(1).max(128),
  roles: z.array(z.string()).max(64).optional(),
  useCases: z.array(z.string()).max(64).optional(),
  expiresAt: z.number().int().positive().nullish(),
});
const rotateSchema = z.strictObject({ overlapMs: z.number().int().min(0).optional() });
const revokeTokenSchema = z.strictObject({ issuer: z.string().min(1).max(512), jti: z.string().min(1).max(256), expiresAt: z.number().int().positive() });

type App = Hono<{ Bindings: HttpBindings }>;

function parseBody<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(text.trim() === '' ? {} : parseJson(text));
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
  return parsed.data;
}

function cookie(value: string, maxAgeSeconds: number): string {
  return `${sessionCookieName}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

/** Registers the console and admin routes; a no-op when the auth services are not wired. */
export function registerAuthRoutes(app: App, deps: GatewayDeps): void {
  const services = deps.authServices;
  if (!services) return;
  const consoleConfig = deps.config.auth.console;

  /** Browsers send Origin on cross-site posts; it must be this gateway or a configured console origin. */
  function checkOrigin(c: NodeContext): void {
    const origin = c.req.header('origin');
    if (origin === undefined) return;
    const host = c.req.header('host');
    const own = host === undefined ? [] : [`https://${host}`, `http://${host}`];
    if (!own.includes(origin) && !consoleConfig.allowedOrigins.includes(origin)) throw new GatewayError('csrf_rejected');
  }

  const meta = (c: NodeContext, requestId: string) => createRequestMeta(c, requestId, 64 * 1024, deps.clock.now());
  const clientOf = (c: NodeContext) => ({ ip: c.env.incoming.socket.remoteAddress, userAgent: c.req.header('user-agent')?.slice(0, 256) });

  async function audit(c: NodeContext, requestId: string, type: string, outcome: 'success' | 'denied', status: number, actor?: AdminActor, errorCode?: string): Promise<void> {
    await recordAdminCall(deps, c, { requestId, type, outcome, status, ...(actor === undefined ? {} : { actor }), ...(errorCode === undefined ? {} : { errorCode }) });
  }

  /** Who is calling an admin route, and whether they may. */
  async function adminCaller(c: NodeContext, mutating: boolean): Promise<AdminActor> {
    const sessionId = getCookie(c, sessionCookieName);
    let principal: Principal;
    if (sessionId !== undefined && c.req.header('authorization') === undefined) {
      const session = await services!.sessions.validate(sessionId);
      if (mutating) {
        checkOrigin(c);
        if (!services!.sessions.checkCsrf(session, c.req.header(csrfHeader))) throw new GatewayError('csrf_rejected');
      }
      const user = await deps.store.users.findById(session.userId);
      if (!user || user.disabledAt !== null) throw new GatewayError('unauthenticated');
      principal = { userId: user.id, kind: user.kind, roles: user.roles, authMethod: 'session', useCases: [] };
    } else {
      principal = await services!.authenticator.authenticate((name) => c.req.header(name));
    }
    // Acting for someone else never confers admin rights.
    if (principal.onBehalfOf || !principal.roles.includes(adminRole)) throw new GatewayError('permission_denied');
    return { userId: principal.userId, kind: principal.kind, roles: principal.roles, authMethod: principal.authMethod, apiKeyId: principal.apiKeyId };
  }

  /**
   * Wraps an admin handler: authentication, admin check, body parsing, error rendering. Changes
   * are audited by the admin service; reads name their own event (`readEvent`), recorded here
   * before the answer is released.
   */
  function admin(
    mutating: boolean,
    handler: (c: NodeContext, req: AdminRequest, body: string) => Promise<{ status?: number; body: unknown }>,
    readEvent?: string,
  ) {
    return async (c: NodeContext): Promise<Response> => {
      const requestId = requestIdOf(c);
      let actor: AdminActor | undefined;
      try {
        actor = await adminCaller(c, mutating);
        const body = mutating ? await meta(c, requestId).readBody() : '';
        const result = await handler(c, { actor, requestId, client: clientOf(c) }, body);
        if (readEvent !== undefined) await audit(c, requestId, readEvent, 'success', result.status ?? 200, actor);
        return sendJson(c, result.status ?? 200, result.body, requestId);
      } catch (err) {
        if (readEvent !== undefined) {
          const { status, body } = toErrorBody(err);
          try {
            await audit(c, requestId, readEvent, 'denied', status, actor, body.error.code);
          } catch (auditErr) {
            return sendError(c, new GatewayError('audit_unavailable', { cause: auditErr }), requestId, deps);
          }
        }
        return sendError(c, err, requestId, deps);
      }
    };
  }

  app.post('/console/api/login', async (c) => {
    const requestId = requestIdOf(c);
    try {
      checkOrigin(c);
      const attempt = parseBody(loginSchema, await meta(c, requestId).readBody());
      let outcome;
      try {
        outcome = await services.login.login(attempt);
      } catch (err) {
        // The name is not recorded: a mistyped password in the name field must not land in the log.
        const code = err instanceof GatewayError ? err.code : 'internal_error';
        await audit(c, requestId, 'auth.login', 'denied', err instanceof GatewayError ? err.status : 500, undefined, code);
        throw err;
      }
      const { user, session } = outcome;
      const actor: AdminActor = { userId: user.id, kind: user.kind, roles: user.roles, authMethod: 'session' };
      await audit(c, requestId, 'auth.login', 'success', 200, actor);
      const maxAge = Math.floor((session.expiresAt - deps.clock.now()) / 1000);
      return sendJson(
        c,
        200,
        { user: { id: user.id, name: user.name, roles: user.roles }, csrfToken: session.csrfToken, expiresAt: session.expiresAt, idleTimeoutMs: consoleConfig.idleTimeoutMs },
        requestId,
        { 'set-cookie': cookie(session.sessionId, maxAge) },
      );
    } catch (err) {
      return sendError(c, err, requestId, deps);
    }
  });

  app.post('/console/api/logout', async (c) => {
    const requestId = requestIdOf(c);
    try {
      checkOrigin(c);
      const sessionId = getCookie(c, sessionCookieName);
      const session = await services.sessions.validate(sessionId);
      if (!services.sessions.checkCsrf(session, c.req.header(csrfHeader))) throw new GatewayError('csrf_rejected');
      await services.sessions.destroy(sessionId as string);
      const user = await deps.store.users.findById(session.userId);
      await audit(c, requestId, 'auth.logout', 'success', 200, user && { userId: user.id, kind: user.kind, roles: user.roles, authMethod: 'session' });
      return sendJson(c, 200, { signedOut: true }, requestId, { 'set-cookie': cookie('', 0) });
    } catch (err) {
      return sendError(c, err, requestId, deps);
    }
  });

  app.get('/console/api/session', async (c) => {
    const requestId = requestIdOf(c);
    try {
      const session = await services.sessions.validate(getCookie(c, sessionCookieName));
      const user = await deps.store.users.findById(session.userId);
      if (!user || user.disabledAt !== null) throw new GatewayError('unauthenticated');
      await audit(c, requestId, 'auth.session', 'success', 200, { userId: user.id, kind: user.kind, roles: user.roles, authMethod: 'session' });
      return sendJson(
        c,
        200,
        { user: { id: user.id, name: user.name, roles: user.roles }, expiresAt: session.expiresAt, idleExpiresAt: session.lastSeenAt + services.sessions.idleTimeoutMs },
        requestId,
      );
    } catch (err) {
      return sendError(c, err, requestId, deps);
    }
  });

  const a = services.admin;
  app.get('/admin/api/users', admin(false, async () => ({ body: { data: await a.listUsers() } }), 'user.list'));
  app.post('/admin/api/users', admin(true, async (_c, req, body) => ({ status: 201, body: await a.createUser(req, parseBody(newUserSchema, body)) })));
  app.get('/admin/api/users/:id', admin(false, async (c) => ({ body: await a.getUser(c.req.param('id') as string) }), 'user.read'));
  app.post('/admin/api/users/:id/disable', admin(true, async (c, req) => ({ body: await a.disableUser(req, c.req.param('id') as string) })));
  app.put('/admin/api/users/:id/roles', admin(true, async (c, req, body) => ({ body: await a.setRoles(req, c.req.param('id') as string, parseBody(rolesSchema, body).roles) })));
  app.post('/admin/api/users/:id/password', admin(true, async (c, req, body) => {
    await a.setPassword(req, c.req.param('id') as string, parseBody(passwordSchema, body).password);
    return { body: { updated: true } };
  }));
  app.post('/admin/api/users/:id/totp', admin(true, async (c, req) => ({ body: await a.enrollTotp(req, c.req.param('id') as string) })));
  app.get('/admin/api/users/:id/delegations', admin(false, async (c) => ({ body: { data: await a.delegations(c.req.param('id') as string) } }), 'user.read'));
  app.post('/admin/api/users/:id/delegations', admin(true, async (c, req, body) => {
    await a.allowDelegation(req, c.req.param('id') as string, parseBody(delegationSchema, body).userId);
    return { status: 201, body: { allowed: true } };
  }));
  app.delete('/admin/api/users/:id/delegations/:userId', admin(true, async (c, req) => {
    await a.removeDelegation(req, c.req.param('id') as string, c.req.param('userId') as string);
    return { body: { removed: true } };
  }));
  app.get('/admin/api/keys', admin(false, async (c) => ({ body: { data: await a.listKeys(c.req.query('user')) } }), 'apikey.list'));
  app.post('/admin/api/keys', admin(true, async (_c, req, body) => {
    const input = parseBody(newKeySchema, body);
    const { expiresAt, ...rest } = input;
    const issued = await a.createKey(req, { ...rest, ...(expiresAt === undefined ? {} : { expiresAt }) });
    // The key is in this answer and nowhere else, ever.
    return { status: 201, body: { key: issued.key, ...issued.record } };
  }));
  app.post('/admin/api/keys/:id/rotate', admin(true, async (c, req, body) => {
    const rotated = await a.rotateKey(req, c.req.param('id') as string, parseBody(rotateSchema, body).overlapMs);
    return { status: 201, body: { key: rotated.key, oldKeyValidUntil: rotated.oldKeyValidUntil, ...rotated.record } };
  }));
  app.post('/admin/api/keys/:id/revoke', admin(true, async (c, req) => ({ body: await a.revokeKey(req, c.req.param('id') as string) })));
  app.post('/admin/api/tokens/revoke', admin(true, async (_c, req, body) => {
    const input = parseBody(revokeTokenSchema, body);
    await a.revokeToken(req, input.issuer, input.jti, input.expiresAt);
    return { body: { revoked: true } };
  }));
}
