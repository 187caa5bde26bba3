// SPDX-License-Identifier: Apache-2.0
/**
 * Admin API for clinical documents (`/admin/api/documents…`): ingest a note (plain text or FHIR
 * R4 DocumentReference / Bundle), list a patient's documents (metadata only), delete one.
 * Authenticated like the rest of the admin API (API key or OIDC bearer; a delegated credential
 * never confers admin rights); each call needs `admin:documents.manage` and is audited by the
 * document admin (rag/document-admin.ts), refusals included. Patient ids travel in bodies, never
 * in URLs, so they stay out of proxy logs.
 *
 * `POST /admin/api/documents`
 *   `{ "patient": "Patient/p1", "text": "…", "sensitivity"?: ["ETH"], "unit"?: "icu", "type"?: "Progress note", "date"?: "2021-03-04" }`
 *   `{ "fhir": <DocumentReference | Bundle | resource[]>, "patient"?: …, "sensitivity"?: …, "unit"?: … }`
 * `POST /admin/api/documents/query` `{ "patient": "Patient/p1" }`
 * `DELETE /admin/api/documents/:id`
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { z } from 'zod';
import { accessServiceFor } from '../access/service.js';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import { formatZodIssues } from '../gateway/openai/schemas.js';
import { parseJson, type NodeContext } from '../http/request-meta.js';
import { GatewayError } from '../kernel/errors.js';
import { ragAuditEventTypes, type RagAuditEventType } from '../rag/audit.js';
import { createDocumentAdmin, type DocumentAdmin, type DocumentAdminRequest } from '../rag/document-admin.js';
import type { DocumentServices } from '../rag/runtime.js';
import { categoryOfCode } from '../registry/sensitivity.js';
import type { SensitiveCategory } from '../registry/use-case-spec.js';
import { adminRoute, deniedAs } from './admin-route.js';

declare module '../gateway/pipeline/context.js' {
  interface GatewayDeps {
    /** Document ingest and index (rag/runtime.ts); absent: the document admin API answers context_unavailable. */
    readonly documents?: DocumentServices;
  }
}

type App = Hono<{ Bindings: HttpBindings }>;

const codes = z.array(z.string().min(1).max(32)).max(16);
const date = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).transform((s) => Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s));
const ingestSchema = z.union([
  z.strictObject({ patient: z.string().min(1).max(600), text: z.string(), sensitivity: codes.optional(), unit: z.string().max(128).optional(), type: z.string().max(200).optional(), date: date.optional(), fhir: z.undefined().optional() }),
  z.strictObject({ fhir: z.unknown(), patient: z.string().min(1).max(600).optional(), sensitivity: codes.optional(), unit: z.string().max(128).optional(), text: z.undefined().optional() }),
]);
const querySchema = z.strictObject({ patient: z.string().min(1).max(600), limit: z.number().int().min(1).max(1000).optional() });

function parseBody<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(text.trim() === '' ? {} : parseJson(text));
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
  return parsed.data;
}

/** Sensitivity label codes (ETH, SUD, 42CFRPart2, PSYTHPN, GDIS, HIV or a phigate category) to categories. */
function categoriesOf(list: readonly string[] | undefined): SensitiveCategory[] {
  const out = new Set<SensitiveCategory>();
  for (const code of list ?? []) {
    const category = categoryOfCode(code);
    if (category === undefined) throw new GatewayError('invalid_request', { detail: { field: 'sensitivity', expected: 'ETH, SUD, 42CFRPart2, PSYTHPN, GDIS, HIV or a phigate category' } });
    out.add(category);
  }
  return [...out];
}

/** Registers the document admin routes. */
export function registerDocumentRoutes(app: App, deps: GatewayDeps): void {
  let admin: DocumentAdmin | undefined;
  const adminOf = (): DocumentAdmin => {
    const documents = deps.documents;
    if (documents === undefined) throw new GatewayError('context_unavailable', { detail: { source: 'documents' } });
    admin ??= createDocumentAdmin({
      db: deps.store.db,
      fieldCrypto: deps.store.fieldCrypto,
      ingester: documents.ingester,
      limits: documents.limits,
      policy: accessServiceFor(deps).policy,
      audit: deps.audit,
      clock: deps.clock,
      keyedHash: deps.keyedHash,
      instanceId: deps.instanceId,
    });
    return admin;
  };

  /**
   * Wraps a handler. Once the document admin is reached it audits the call itself; a refusal
   * before that (credentials, body) is audited here under `event`.
   */
  function route(event: RagAuditEventType, handler: (admin: DocumentAdmin, req: DocumentAdminRequest, body: string, c: NodeContext) => Promise<{ status?: number; body: unknown }>, withBody = true) {
    return adminRoute(deps, { withBody, refusal: deniedAs(deps, event, (err) => auditedErrors.has(err as object)) }, ({ actor, requestId, client, body }, c) =>
      handler(adminOf(), { actor, requestId, client }, body, c),
    );
  }

  const base = '/admin/api/documents';

  app.post(base, route(ragAuditEventTypes.documentIngest, async (documentAdmin, req, text) => {
    const body = parseBody(ingestSchema, text);
    const sensitivity = categoriesOf(body.sensitivity);
    return audited(async () => {
      if (body.text === undefined) {
        const report = await documentAdmin.ingestFhir(req, body.fhir, { patient: body.patient, sensitivity, unit: body.unit });
        return { status: report.problems.length > 0 ? 422 : 201, body: { object: 'documents.ingest', ...report } };
      }
      const result = await documentAdmin.ingestText(req, { patient: body.patient, text: body.text, sensitivity, unit: body.unit, type: body.type, date: body.date });
      return { status: result.duplicate ? 200 : 201, body: { object: 'documents.ingest', results: [result], problems: [], skipped: 0 } };
    });
  }));
  app.post(`${base}/query`, route(ragAuditEventTypes.documentList, async (documentAdmin, req, text) => {
    const body = parseBody(querySchema, text);
    return audited(async () => ({ body: { object: 'list', data: await documentAdmin.list(req, body.patient, body.limit) } }));
  }));
  app.delete(`${base}/:id`, route(ragAuditEventTypes.documentDelete, async (documentAdmin, req, _text, c) => {
    return audited(async () => {
      await documentAdmin.remove(req, c.req.param('id') ?? '');
      return { body: { deleted: true } };
    });
  }, false));
}

/** Errors the document admin threw: it has audited them already. */
const auditedErrors = new WeakSet<object>();

/** Runs a document-admin call, marking what it throws as audited. */
async function audited<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err !== null && typeof err === 'object') auditedErrors.add(err);
    throw err;
  }
}
