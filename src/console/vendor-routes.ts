// SPDX-License-Identifier: Apache-2.0
/**
 * Admin API for the vendor BAA registry (`/admin/api/vendors…`):
 *
 * - `GET  /admin/api/vendors`                          every vendor with its BAA record
 * - `GET  /admin/api/vendors/expiring?days=30`         signed BAAs ending within the window
 * - `GET  /admin/api/vendors/:id`                      one vendor: each service's coverage now and the configured endpoints using it
 * - `POST /admin/api/vendors`                          add a custom vendor (BAA not signed)
 * - `POST /admin/api/vendors/:id/baa`                  record a signed BAA; with `"amend": true`, change named fields of the signed one
 * - `POST /admin/api/vendors/:id/baa/terminate`        terminate, `{ "reason": "contract_ended" | "replaced" | "vendor_breach" | "vendor_exit" | "other" }`
 * - `PUT  /admin/api/vendors/:id/subprocessors`        replace the subprocessor list, `{ "subprocessors": [...] }`
 *
 * Writes accept `"version"`: the version the caller read; a write on a record that changed since
 * is refused with `vendor_version_conflict` (409). Reads need `admin:registry.read`, changes
 * `admin:vendors.manage` (access/rbac.ts). Every call is audited, refusals included, before the
 * answer is released (registry/vendors.ts writes the successes, this file the refusals).
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { parseJson, type NodeContext } from '../http/request-meta.js';
import { GatewayError } from '../kernel/errors.js';
import type { VendorRecord } from '../store/repos/vendor-repo.js';
import { vendorEventTypes, vendorServiceFor, type VendorEventType, type VendorRequest } from '../registry/vendors.js';
import { adminRoute, type AdminRefusal } from './admin-route.js';

type App = Hono<{ Bindings: HttpBindings }>;

const version = z.number().int().positive().optional();
const terminateSchema = z.strictObject({ reason: z.string().min(1).max(64), version });
const subprocessorsSchema = z.strictObject({ subprocessors: z.array(z.unknown()).max(100), version });
const daysSchema = z.coerce.number().int().min(0).max(3660).default(30);

/** A JSON object body; anything else is refused before the service sees it. */
function objectBody(text: string): Record<string, unknown> {
  const value = text.trim() === '' ? {} : parseJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GatewayError('invalid_request', { detail: { expected: 'a JSON object' } });
  return value as Record<string, unknown>;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, field?: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? (field ?? '(body)') : issue.path.filter((p): p is string | number => typeof p !== 'symbol').join('.');
    throw new GatewayError('invalid_request', { detail: { field: path, problem: issue?.code ?? 'invalid' } });
  }
  return parsed.data;
}

/** A version given in the body, taken out before the rest goes to the service. */
function takeVersion(body: Record<string, unknown>): { version: number | undefined; rest: Record<string, unknown> } {
  const { version: given, ...rest } = body;
  return { version: parse(version, given, 'version'), rest };
}

const recordBody = (record: VendorRecord) => ({ ...record.vendor, version: record.version, createdAt: record.createdAt, updatedAt: record.updatedAt });

/** Registers the vendor registry routes. */
export function registerVendorRoutes(app: App, deps: GatewayDeps): void {
  const vendors = vendorServiceFor(deps);

  /**
   * Wraps a handler: authenticates, reads the body, runs it; on any refusal records the call's
   * event type as denied (the service records successes) before answering.
   */
  function route(
    event: VendorEventType | ((body: Record<string, unknown>) => VendorEventType),
    handler: (req: VendorRequest, body: Record<string, unknown>, c: NodeContext) => Promise<{ status?: number; body: unknown }>,
    withBody = true,
  ) {
    return async (c: NodeContext): Promise<Response> => {
      let body: Record<string, unknown> = {};
      const refusal = async (err: unknown, call: AdminRefusal): Promise<void> => {
        await vendors.recordRefusal(call, typeof event === 'function' ? event(body) : event, err, c.req.param('id'));
      };
      return adminRoute(deps, { withBody, refusal }, async ({ actor, requestId, client, body: text }) => {
        if (withBody) body = objectBody(text);
        return handler({ actor, requestId, client }, body, c);
      })(c);
    };
  }

  const base = '/admin/api/vendors';
  const idOf = (c: NodeContext): string => c.req.param('id') ?? '';

  app.get(base, route(vendorEventTypes.list, async (req) => ({ body: { data: (await vendors.list(req)).map(recordBody) } }), false));
  // Registered before `/:id` so `expiring` is never taken for a vendor id.
  app.get(`${base}/expiring`, route(vendorEventTypes.expiringList, async (req, _body, c) => {
    const days = parse(daysSchema, c.req.query('days'), 'days');
    return { body: { days, data: await vendors.expiring(req, days) } };
  }, false));
  app.get(`${base}/:id`, route(vendorEventTypes.read, async (req, _body, c) => ({ body: await vendors.coverage(req, idOf(c)) }), false));
  app.post(base, route(vendorEventTypes.create, async (req, body) => ({ status: 201, body: recordBody(await vendors.create(req, body)) })));
  app.post(`${base}/:id/baa`, route((body) => (body.amend === true ? vendorEventTypes.baaAmend : vendorEventTypes.baaSign), async (req, body, c) => {
    const { amend, ...fields } = body;
    if (amend !== undefined && typeof amend !== 'boolean') throw new GatewayError('invalid_request', { detail: { field: 'amend', expected: 'true or false' } });
    const { version: expected, rest } = takeVersion(fields);
    const saved = amend === true ? await vendors.amendBaa(req, idOf(c), rest, { version: expected }) : await vendors.signBaa(req, idOf(c), rest, { version: expected });
    return { body: recordBody(saved) };
  }));
  app.post(`${base}/:id/baa/terminate`, route(vendorEventTypes.baaTerminate, async (req, body, c) => {
    const input = parse(terminateSchema, body);
    return { body: recordBody(await vendors.terminateBaa(req, idOf(c), input.reason, { version: input.version })) };
  }));
  app.put(`${base}/:id/subprocessors`, route(vendorEventTypes.subprocessors, async (req, body, c) => {
    const input = parse(subprocessorsSchema, body);
    return { body: recordBody(await vendors.setSubprocessors(req, idOf(c), input.subprocessors, { version: input.version })) };
  }));
}
