// SPDX-License-Identifier: Apache-2.0
/**
 * Admin API for patient-level access (`/admin/api/access/…`): care teams, units, access
 * profiles, break-glass and its review queue. Authenticated with an API key or OIDC bearer token
 * like the rest of the admin API; each route checks one named permission (access/rbac.ts), so a
 * privacy officer can review break-glass without being an admin. Every change is audited
 * (access/admin.ts). Patient ids travel in bodies, never in URLs, so they stay out of proxy logs.
 *
 * Also starts the break-glass alert dispatcher for this gateway.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { z } from 'zod';
import { createAccessAdmin, type AccessAdminRequest } from '../access/admin.js';
import { accessServiceFor } from '../access/service.js';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { formatZodIssues } from '../gateway/openai/schemas.js';
import { parseJson, type NodeContext } from '../http/request-meta.js';
import { GatewayError } from '../kernel/errors.js';
import { adminRoute, deniedAs } from './admin-route.js';

type App = Hono<{ Bindings: HttpBindings }>;

const instant = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)), z.iso.date().transform((s) => Date.parse(`${s}T00:00:00Z`))]);
const assignSchema = z.strictObject({ user: z.string().min(1).max(128), patient: z.string().min(1).max(600), role: z.string().min(1).max(64), start: instant.optional(), end: instant.nullish() });
const querySchema = z.strictObject({ user: z.string().min(1).max(128).optional(), patient: z.string().min(1).max(600).optional(), active: z.boolean().optional() });
const profileSchema = z.strictObject({ organisation: z.string().min(1).max(128).optional(), npi: z.string().max(15).nullish(), breakGlassEligible: z.boolean().optional() });
const unitSchema = z.strictObject({ organisation: z.string().min(1).max(128) });
const memberSchema = z.strictObject({ user: z.string().min(1).max(128) });
const patientSchema = z.strictObject({ patient: z.string().min(1).max(600) });
const breakGlassSchema = z.strictObject({
  patient: z.string().min(1).max(600),
  category: z.string().min(1).max(64),
  reason: z.string().max(2000),
  purpose: z.string().min(1).max(16),
  minutes: z.number().int().min(1).max(24 * 60).optional(),
});
/** `{ "csv": "<user,patient,role,start,end lines>" }` or `{ "fhir": <Bundle | CareTeam | resource[]> }`. */
const importSchema = z.union([z.strictObject({ csv: z.string(), fhir: z.undefined().optional() }), z.strictObject({ fhir: z.unknown(), csv: z.undefined().optional() })]);
const reviewSchema = z.strictObject({ outcome: z.enum(['justified', 'misuse']), note: z.string().max(2000).optional() });
const statusSchema = z.enum(['open', 'justified', 'misuse']).optional();

function parseBody<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(text.trim() === '' ? {} : parseJson(text));
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
  return parsed.data;
}

/** Registers the access admin routes and starts the alert dispatcher. */
export function registerAccessRoutes(app: App, deps: GatewayDeps & { readonly isReady?: () => Promise<boolean> }): void {
  const isReady = deps.isReady;
  const service = accessServiceFor(deps, isReady === undefined ? {} : { isActive: () => isReady().catch(() => false) });
  const admin = createAccessAdmin(deps, service);
  service.dispatcher.start();

  /**
   * Wraps an admin handler. Changes are audited by the access admin; reads name their own event
   * (`readEvent`), recorded here — refusals included — before the answer is released.
   */
  function route(handler: (req: AccessAdminRequest, body: string, c: NodeContext) => Promise<{ status?: number; body: unknown }>, withBody = true, readEvent?: string) {
    const audit = readEvent === undefined ? {} : { successEvent: readEvent, refusal: deniedAs(deps, readEvent) };
    return adminRoute(deps, { withBody, ...audit }, ({ actor, requestId, body }, c) => handler({ actor, requestId }, body, c));
  }

  const base = '/admin/api/access';

  app.post(`${base}/care-team`, route(async (req, text) => {
    const body = parseBody(assignSchema, text);
    const created = await admin.assign(req, { user: body.user, patient: body.patient, role: body.role, startAt: body.start, endAt: body.end });
    return { status: 201, body: created };
  }));
  app.post(`${base}/care-team/query`, route(async (req, text) => {
    const body = parseBody(querySchema, text);
    return { body: { data: await admin.listAssignments(req, { user: body.user, patient: body.patient, activeOnly: body.active }) } };
  }, true, 'careteam.query'));
  app.post(`${base}/care-team/:id/end`, route(async (req, _text, c) => {
    await admin.endAssignment(req, c.req.param('id') ?? '');
    return { body: { ended: true } };
  }));
  app.post(`${base}/care-team/import`, route(async (req, text) => {
    const body = parseBody(importSchema, text);
    const result = body.csv !== undefined ? await admin.importCsv(req, body.csv) : await admin.importFhir(req, body.fhir);
    return { status: result.problems.length > 0 ? 422 : 200, body: result };
  }));
  app.put(`${base}/profiles/:user`, route(async (req, text, c) => {
    const body = parseBody(profileSchema, text);
    return { body: await admin.setProfile(req, c.req.param('user') ?? '', body) };
  }));
  app.put(`${base}/units/:unit`, route(async (req, text, c) => {
    await admin.setUnit(req, c.req.param('unit') ?? '', parseBody(unitSchema, text).organisation);
    return { body: { ok: true } };
  }));
  app.post(`${base}/units/:unit/members`, route(async (req, text, c) => {
    await admin.addUnitMember(req, c.req.param('unit') ?? '', parseBody(memberSchema, text).user);
    return { status: 201, body: { ok: true } };
  }));
  app.post(`${base}/units/:unit/members/end`, route(async (req, text, c) => {
    await admin.endUnitMember(req, c.req.param('unit') ?? '', parseBody(memberSchema, text).user);
    return { body: { ok: true } };
  }));
  app.post(`${base}/units/:unit/patients`, route(async (req, text, c) => {
    await admin.placePatient(req, c.req.param('unit') ?? '', parseBody(patientSchema, text).patient);
    return { status: 201, body: { ok: true } };
  }));
  app.post(`${base}/units/:unit/patients/end`, route(async (req, text, c) => {
    await admin.endPatientPlacement(req, c.req.param('unit') ?? '', parseBody(patientSchema, text).patient);
    return { body: { ok: true } };
  }));
  app.post(`${base}/break-glass`, route(async (req, text) => {
    const body = parseBody(breakGlassSchema, text);
    const session = await admin.startBreakGlass(req, body);
    return { status: 201, body: session };
  }));
  app.post(`${base}/break-glass/:id/end`, route(async (req, _text, c) => {
    await admin.endBreakGlass(req, c.req.param('id') ?? '');
    return { body: { ended: true } };
  }));
  app.get(`${base}/break-glass`, route(async (req, _text, c) => {
    const parsed = statusSchema.safeParse(c.req.query('status'));
    if (!parsed.success) throw new GatewayError('invalid_request', { detail: { field: 'status', expected: 'open|justified|misuse' } });
    return { body: { data: await admin.listBreakGlass(req, parsed.data) } };
  }, false, 'breakglass.list'));
  app.post(`${base}/break-glass/:id/review`, route(async (req, text, c) => {
    const body = parseBody(reviewSchema, text);
    return { body: await admin.review(req, c.req.param('id') ?? '', body.outcome, body.note) };
  }));
  app.get(`${base}/incidents`, route(async (req) => ({ body: { data: await admin.listIncidents(req) } }), false, 'incident.list'));
}
