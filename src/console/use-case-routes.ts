// SPDX-License-Identifier: Apache-2.0
/**
 * Admin API for use cases and the registry as code:
 *
 * - `GET  /admin/api/use-cases`                    every use case: state, live and pending versions, risk
 * - `POST /admin/api/use-cases`                    `{ id, spec, reason? }`: a new draft (version 1)
 * - `GET  /admin/api/use-cases/:id`                one use case with every version, its approvals, committee status and risk
 * - `GET  /admin/api/use-cases/:id/history`        the lifecycle history (who, what, when, why)
 * - `POST /admin/api/use-cases/:id/versions`       `{ spec, reason }`: propose a change (a new draft version)
 * - `POST /admin/api/use-cases/:id/submit`         `{ version?, reason }`
 * - `POST /admin/api/use-cases/:id/approve`        `{ version, seat?, reason }` (committee members)
 * - `POST /admin/api/use-cases/:id/reject`         `{ version, seat?, reason }`
 * - `POST /admin/api/use-cases/:id/go-live`        `{ version?, reason }`
 * - `POST /admin/api/use-cases/:id/suspend|resume|retire|rollback`   `{ reason }`
 * - `GET  /admin/api/registry/export`              the registry as YAML
 * - `POST /admin/api/registry/import`              `{ yaml, dryRun? }`: the diff, and unless `dryRun` the import
 *
 * Writes accept `expectedVersion` (the `version` the caller read); a use case that changed since
 * is refused with `use_case_version_conflict` (409). Permissions per access/rbac.ts: reads
 * `admin:registry.read`, lifecycle `admin:usecases.manage`, decisions `admin:usecases.approve`.
 * Every call is audited, refusals included, before the answer is released: the service records
 * what it did or refused; this file records refusals that happen before the service is reached
 * (credentials, body).
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Hono } from 'hono';
import { z } from 'zod';
import { createAccessPolicy } from '../access/rbac.js';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { parseJson, type NodeContext } from '../http/request-meta.js';
import { GatewayError } from '../kernel/errors.js';
import { createPolicyAsCode } from '../registry/policy-as-code.js';
import { createUseCaseService, isAuditedRefusal, registryEventTypes, useCaseEventTypes, type UseCaseRequest } from '../registry/use-cases.js';
import { adminRoute, deniedAs } from './admin-route.js';

type App = Hono<{ Bindings: HttpBindings }>;

const reason = z.string().max(2000);
const expectedVersion = z.number().int().positive().optional();
const versionNumber = z.number().int().positive();
const createSchema = z.strictObject({ id: z.string().max(64), spec: z.unknown(), reason: reason.optional() });
const proposeSchema = z.strictObject({ spec: z.unknown(), reason, expectedVersion });
const submitSchema = z.strictObject({ version: versionNumber.optional(), reason, expectedVersion });
const decideSchema = z.strictObject({ version: versionNumber, seat: z.string().max(64).optional(), reason, expectedVersion });
const reasonSchema = z.strictObject({ reason, expectedVersion });
const importSchema = z.strictObject({ yaml: z.string(), dryRun: z.boolean().optional() });

function parseBody<T>(schema: z.ZodType<T>, text: string): T {
  const value = text.trim() === '' ? {} : parseJson(text);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // Field names come from the schema; an unknown key is named only by count.
    const field = issue === undefined || issue.code === 'unrecognized_keys' ? '(body)' : issue.path.filter((p): p is string | number => typeof p !== 'symbol').join('.') || '(body)';
    throw new GatewayError('invalid_request', { detail: { field, problem: issue?.code ?? 'invalid' } });
  }
  return parsed.data;
}

/** Registers the use-case and registry-as-code routes. */
export function registerUseCaseRoutes(app: App, deps: GatewayDeps): void {
  const common = {
    db: deps.store.db,
    audit: deps.audit,
    clock: deps.clock,
    instanceId: deps.instanceId,
    policy: createAccessPolicy(deps.config.access.roles),
    committee: deps.config.governance.committee,
  };
  const useCases = createUseCaseService(common);
  const registry = createPolicyAsCode({ ...common, users: deps.store.users });

  /** Authenticates, reads the body, runs the handler; audits refusals the service did not. */
  function route(event: string, handler: (req: UseCaseRequest, body: string, c: NodeContext) => Promise<Response | { status?: number; body: unknown }>, withBody = true) {
    return adminRoute(deps, { withBody, refusal: deniedAs(deps, event, isAuditedRefusal) }, ({ actor, requestId, client, body }, c) =>
      handler({ actor, requestId, client, source: 'console' }, body, c),
    );
  }

  const base = '/admin/api/use-cases';
  const idOf = (c: NodeContext): string => c.req.param('id') ?? '';

  app.get(base, route(useCaseEventTypes.list, async (req) => ({ body: { data: await useCases.list(req) } }), false));
  app.post(base, route(useCaseEventTypes.create, async (req, text) => {
    const body = parseBody(createSchema, text);
    return { status: 201, body: await useCases.create(req, { id: body.id, spec: body.spec, reason: body.reason }) };
  }));
  app.get(`${base}/:id`, route(useCaseEventTypes.read, async (req, _text, c) => ({ body: await useCases.get(req, idOf(c)) }), false));
  app.get(`${base}/:id/history`, route(useCaseEventTypes.read, async (req, _text, c) => ({ body: { data: await useCases.history(req, idOf(c)) } }), false));
  app.post(`${base}/:id/versions`, route(useCaseEventTypes.propose, async (req, text, c) => {
    const body = parseBody(proposeSchema, text);
    return { status: 201, body: await useCases.propose(req, idOf(c), body) };
  }));
  app.post(`${base}/:id/submit`, route(useCaseEventTypes.submit, async (req, text, c) => ({ body: await useCases.submit(req, idOf(c), parseBody(submitSchema, text)) })));
  app.post(`${base}/:id/approve`, route(useCaseEventTypes.approve, async (req, text, c) => ({ body: await useCases.approve(req, idOf(c), parseBody(decideSchema, text)) })));
  app.post(`${base}/:id/reject`, route(useCaseEventTypes.reject, async (req, text, c) => ({ body: await useCases.reject(req, idOf(c), parseBody(decideSchema, text)) })));
  app.post(`${base}/:id/go-live`, route(useCaseEventTypes.goLive, async (req, text, c) => ({ body: await useCases.goLive(req, idOf(c), parseBody(submitSchema, text)) })));
  app.post(`${base}/:id/suspend`, route(useCaseEventTypes.suspend, async (req, text, c) => ({ body: await useCases.suspend(req, idOf(c), parseBody(reasonSchema, text)) })));
  app.post(`${base}/:id/resume`, route(useCaseEventTypes.resume, async (req, text, c) => ({ body: await useCases.resume(req, idOf(c), parseBody(reasonSchema, text)) })));
  app.post(`${base}/:id/retire`, route(useCaseEventTypes.retire, async (req, text, c) => ({ body: await useCases.retire(req, idOf(c), parseBody(reasonSchema, text)) })));
  app.post(`${base}/:id/rollback`, route(useCaseEventTypes.rollback, async (req, text, c) => ({ body: await useCases.rollback(req, idOf(c), parseBody(reasonSchema, text)) })));

  app.get('/admin/api/registry/export', route(registryEventTypes.export, async (req, _text, c) => {
    const yaml = await registry.exportYaml(req);
    c.env.outgoing.writeHead(200, {
      'content-type': 'application/yaml; charset=utf-8',
      'content-length': Buffer.byteLength(yaml),
      'content-disposition': 'attachment; filename="phigate-registry.yaml"',
      'x-request-id': req.requestId,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    c.env.outgoing.end(yaml);
    return RESPONSE_ALREADY_SENT as Response;
  }, false));
  app.post('/admin/api/registry/import', route(registryEventTypes.import, async (req, text) => {
    const body = parseBody(importSchema, text);
    return { body: await registry.importYaml(req, body.yaml, { dryRun: body.dryRun === true }) };
  }));
}
