// SPDX-License-Identifier: Apache-2.0
/**
 * The audit event catalogue: every event type phigate writes, what it means, which FHIR/BALP
 * pattern it exports as, and which HTTP routes produce it. A test builds the application and
 * fails when a registered route has no entry here, so a new route cannot ship unaudited.
 *
 * Routes that carry no data (health, readiness, metrics) are listed as exempt, with the reason.
 * A route catalogued before it writes its record would be marked `emitted: false`; the coverage
 * test requires that there are none.
 */
import { accessAuditEventTypes } from '../access/audit.js';
import { adminEventTypes } from '../auth/admin.js';
import { reviewAuditEventTypes } from '../review/audit.js';
import { contextAuditEventTypes } from '../fhir/context-audit.js';
import { screeningAuditEventTypes } from '../screening/audit.js';
import { vendorEventTypes } from '../registry/vendors.js';
import { registryEventTypes, useCaseEventTypes } from '../registry/use-cases.js';
import { ragAuditEventTypes } from '../rag/audit.js';
import { outputAuditEventTypes } from '../output/audit.js';
import { auditEventTypes } from './record.js';

/** How the event exports to FHIR (see fhir-audit-event.ts). */
export type CataloguePattern = 'disclosure' | 'query' | 'read' | 'login' | 'logout' | 'alert' | 'create' | 'update' | 'delete' | 'execute';

export interface CatalogueEntry {
  readonly description: string;
  readonly pattern: CataloguePattern;
}

/** Event types written by the audit tools themselves. */
export const auditToolEventTypes = {
  downstream: 'audit.downstream',
  reportDownstream: 'audit.report_downstream',
  alert: 'alert',
  export: 'audit.export',
  retentionPurge: 'audit.purge',
  contentPurge: 'content.purge',
  legalHoldCreate: 'legalhold.create',
  legalHoldRelease: 'legalhold.release',
  anomalyReport: 'anomaly.report',
} as const;

/** Every event type, with its meaning. */
export const auditCatalogue: Readonly<Record<string, CatalogueEntry>> = {
  [auditEventTypes.chatCompletion]: { description: 'A chat completion (OpenAI surface): disclosure before the vendor call, completion or refusal after', pattern: 'disclosure' },
  [auditEventTypes.anthropicMessage]: { description: 'A message (Anthropic surface): disclosure before the vendor call, completion or refusal after', pattern: 'disclosure' },
  [auditEventTypes.embeddings]: { description: 'An embeddings call: disclosure before the vendor call, completion or refusal after', pattern: 'disclosure' },
  [auditEventTypes.modelsList]: { description: 'The caller listed the models it may use', pattern: 'query' },
  [auditEventTypes.deidText]: { description: 'Text de-identified inside the gateway; nothing left it', pattern: 'execute' },
  [auditEventTypes.reidText]: { description: 'Tokens re-identified for the caller: PHI shown to a person', pattern: 'read' },
  'auth.login': { description: 'Console sign-in, successful or refused (the attempted name is never recorded)', pattern: 'login' },
  'auth.logout': { description: 'Console sign-out', pattern: 'logout' },
  'auth.session': { description: 'Console session check', pattern: 'query' },
  'user.list': { description: 'An administrator listed users', pattern: 'query' },
  'user.read': { description: 'An administrator read one user or their delegations', pattern: 'read' },
  'apikey.list': { description: 'An administrator listed API keys', pattern: 'query' },
  'careteam.query': { description: 'An administrator queried care-team assignments', pattern: 'query' },
  'breakglass.list': { description: 'An administrator listed break-glass sessions for review', pattern: 'query' },
  'incident.list': { description: 'An administrator listed access incidents', pattern: 'query' },
  [useCaseEventTypes.list]: { description: 'The use-case registry was listed (states, risk; no specs)', pattern: 'query' },
  [useCaseEventTypes.read]: { description: 'One use case with its versions, approvals and risk, or its lifecycle history, was read', pattern: 'read' },
  [useCaseEventTypes.create]: { description: 'A use case was created as a draft (version 1)', pattern: 'create' },
  [useCaseEventTypes.propose]: { description: 'A new draft version of a use case was proposed (changed field names recorded)', pattern: 'create' },
  [useCaseEventTypes.submit]: { description: 'A use-case version was submitted to the governance committee', pattern: 'update' },
  [useCaseEventTypes.approve]: { description: 'A committee member approved a use-case version in a seat (seat, role, committee status)', pattern: 'update' },
  [useCaseEventTypes.reject]: { description: 'A committee member rejected a use-case version; the version is rejected', pattern: 'update' },
  [useCaseEventTypes.goLive]: { description: 'An approved use-case version went live (the previous live version superseded)', pattern: 'update' },
  [useCaseEventTypes.suspend]: { description: 'A live use case was suspended; requests naming it are refused', pattern: 'update' },
  [useCaseEventTypes.resume]: { description: 'A suspended use case serves its live version again', pattern: 'update' },
  [useCaseEventTypes.retire]: { description: 'A use case was retired for good', pattern: 'delete' },
  [useCaseEventTypes.rollback]: { description: 'A use case went back to its last approved version', pattern: 'update' },
  [registryEventTypes.export]: { description: 'The registry (vendors, BAAs, use cases, versions, approvals) was exported as YAML', pattern: 'query' },
  [registryEventTypes.import]: { description: 'A registry YAML file was compared (dry run) or imported; counts, ids and widening rules recorded', pattern: 'update' },
  [adminEventTypes.userCreate]: { description: 'User or service account created', pattern: 'create' },
  [adminEventTypes.userDisable]: { description: 'User disabled; their keys and sessions stop working', pattern: 'update' },
  [adminEventTypes.userSetRoles]: { description: 'Roles changed (before and after recorded)', pattern: 'update' },
  [adminEventTypes.userSetPassword]: { description: 'Password set', pattern: 'update' },
  [adminEventTypes.userEnrollTotp]: { description: 'TOTP second factor enrolled', pattern: 'create' },
  [adminEventTypes.userDelegate]: { description: 'A service account may act on behalf of a user', pattern: 'create' },
  [adminEventTypes.userUndelegate]: { description: 'A delegation ended', pattern: 'delete' },
  [adminEventTypes.apiKeyCreate]: { description: 'API key issued', pattern: 'create' },
  [adminEventTypes.apiKeyRotate]: { description: 'API key rotated with an overlap', pattern: 'update' },
  [adminEventTypes.apiKeyRevoke]: { description: 'API key revoked', pattern: 'delete' },
  [adminEventTypes.tokenRevoke]: { description: 'Bearer token revoked', pattern: 'delete' },
  [accessAuditEventTypes.careTeamAssign]: { description: 'Care-team assignment', pattern: 'create' },
  [accessAuditEventTypes.careTeamEnd]: { description: 'Care-team assignment ended', pattern: 'delete' },
  [accessAuditEventTypes.careTeamImport]: { description: 'Care-team assignments imported', pattern: 'create' },
  [accessAuditEventTypes.unitChange]: { description: 'Unit membership or patient placement changed', pattern: 'update' },
  [accessAuditEventTypes.profileChange]: { description: 'Access profile changed', pattern: 'update' },
  [accessAuditEventTypes.breakGlassStart]: { description: 'Break-glass session started, with reason (encrypted) and alert', pattern: 'create' },
  [accessAuditEventTypes.breakGlassEnd]: { description: 'Break-glass session ended', pattern: 'delete' },
  [accessAuditEventTypes.breakGlassReview]: { description: 'Break-glass session reviewed (justified or misuse)', pattern: 'update' },
  [reviewAuditEventTypes.create]: { description: 'A treatment-affecting answer was held (encrypted) for clinical review instead of being released; keyed hash of the answer', pattern: 'create' },
  [reviewAuditEventTypes.claim]: { description: 'A reviewer claimed a held answer (a time-boxed lease), or tried to', pattern: 'update' },
  [reviewAuditEventTypes.unclaim]: { description: 'A reviewer gave a claim back; the answer is queued again', pattern: 'update' },
  [reviewAuditEventTypes.approve]: { description: 'A reviewer approved a held answer; it is released as the model wrote it; Provenance recorded', pattern: 'update' },
  [reviewAuditEventTypes.edit]: { description: 'A reviewer approved a held answer with edits; both versions kept encrypted; Provenance recorded', pattern: 'update' },
  [reviewAuditEventTypes.reject]: { description: 'A reviewer rejected a held answer, with a reason (encrypted); it is never released; Provenance recorded', pattern: 'update' },
  [reviewAuditEventTypes.list]: { description: 'A reviewer listed the review queue', pattern: 'query' },
  [reviewAuditEventTypes.read]: { description: 'A reviewer opened a held answer: PHI shown to a person', pattern: 'read' },
  [reviewAuditEventTypes.fetch]: { description: 'The requester fetched a reviewed answer (or its pending state): PHI shown to a person', pattern: 'read' },
  [reviewAuditEventTypes.provenance]: { description: 'The FHIR Provenance of a review decision was read', pattern: 'read' },
  [auditToolEventTypes.downstream]: { description: 'The application reported what was done with an answer: accepted into the chart, order placed, message sent, discarded', pattern: 'create' },
  [auditToolEventTypes.reportDownstream]: { description: 'The HTTP call that reported a downstream action, accepted or refused', pattern: 'create' },
  [auditToolEventTypes.alert]: { description: 'An anomaly scan raised an alert', pattern: 'alert' },
  [auditToolEventTypes.export]: { description: 'The audit log was exported (FHIR NDJSON or write-once storage)', pattern: 'query' },
  [auditToolEventTypes.retentionPurge]: { description: 'Audit records past retention were purged', pattern: 'delete' },
  [auditToolEventTypes.contentPurge]: { description: 'Inference content keys past their schedule were destroyed', pattern: 'delete' },
  [auditToolEventTypes.legalHoldCreate]: { description: 'A legal hold was placed; purges it covers are suspended', pattern: 'create' },
  [auditToolEventTypes.legalHoldRelease]: { description: 'A legal hold was released', pattern: 'delete' },
  [auditToolEventTypes.anomalyReport]: { description: 'An anomaly scan ran and stored its report', pattern: 'create' },
  [ragAuditEventTypes.retrievalQuery]: { description: 'Document retrieval for one patient: k, returned document and chunk ids, hit counts, the embedding endpoint if one was called (a pending record first when it is not self-hosted); never the query or any text', pattern: 'query' },
  [ragAuditEventTypes.retrievalRequest]: { description: 'A POST /v1/retrieve call: caller, patient hash, purpose, use case, decision and status', pattern: 'query' },
  [ragAuditEventTypes.documentIngest]: { description: 'A clinical document ingested, replaced, found already stored, or refused (document id, chunk count, sensitive categories, PHI counts of the indexed text; never text)', pattern: 'create' },
  [ragAuditEventTypes.documentDelete]: { description: 'A clinical document and its chunks deleted', pattern: 'delete' },
  [ragAuditEventTypes.documentList]: { description: "An administrator listed a patient's documents (metadata only)", pattern: 'query' },
  [outputAuditEventTypes.leak]: { description: 'An answer named another patient: the identifiers were redacted or the answer blocked, and an incident opened (categories and counts, never values)', pattern: 'alert' },
  [outputAuditEventTypes.toolCallRemoved]: { description: 'An answer asked for a tool the request did not offer: the call was removed or the answer blocked', pattern: 'alert' },
  [contextAuditEventTypes.gather]: { description: 'Patient context gathered for a use case: FHIR resource types and counts, withheld labelled resources, document and chunk ids, sensitive categories (never content); or the source that failed', pattern: 'query' },
  [screeningAuditEventTypes.injection]: { description: 'Prompt-injection screening found a likely injection: blocked, dropped or flagged, with channel, scores and rule ids (never text)', pattern: 'alert' },
  [vendorEventTypes.list]: { description: 'The vendor registry was listed', pattern: 'query' },
  [vendorEventTypes.read]: { description: 'One vendor, its BAA and its coverage were read', pattern: 'read' },
  [vendorEventTypes.expiringList]: { description: 'BAAs ending within a window were listed', pattern: 'query' },
  [vendorEventTypes.create]: { description: 'A custom vendor was added to the registry (BAA not signed)', pattern: 'create' },
  [vendorEventTypes.seed]: { description: 'Missing entries of the shipped vendor catalogue were inserted (BAA not signed)', pattern: 'create' },
  [vendorEventTypes.baaSign]: { description: 'A signed BAA was recorded for a vendor (dates, covered services, document hash)', pattern: 'update' },
  [vendorEventTypes.baaAmend]: { description: 'A signed BAA was amended (changed field names recorded)', pattern: 'update' },
  [vendorEventTypes.baaTerminate]: { description: 'A BAA was terminated, with a reason code; PHI to the vendor stops', pattern: 'update' },
  [vendorEventTypes.subprocessors]: { description: "A vendor's subprocessors and their BAA status were recorded", pattern: 'update' },
  [vendorEventTypes.baaExpiring]: { description: 'A BAA ends within a warning threshold (30 or 7 days); sent once per threshold', pattern: 'alert' },
  [vendorEventTypes.baaExpired]: { description: 'A BAA passed its expiry day and was recorded as expired', pattern: 'update' },
};

/** What a route writes to the audit log. */
export type RouteAudit =
  | { readonly events: readonly string[]; readonly emitted?: true }
  /** Catalogued, but the handler does not write the record yet. */
  | { readonly events: readonly string[]; readonly emitted: false }
  /** Carries no data about people or configuration. */
  | { readonly exempt: string };

/** Every HTTP route, keyed `METHOD path` exactly as Hono registers it. */
export const routeCatalogue: Readonly<Record<string, RouteAudit>> = {
  'GET /healthz': { exempt: 'liveness probe; no data' },
  'GET /readyz': { exempt: 'readiness probe; no data' },
  'GET /metrics': { exempt: 'Prometheus counters with route templates only; no data about people' },
  'POST /v1/chat/completions': { events: [auditEventTypes.chatCompletion, contextAuditEventTypes.gather] },
  'POST /v1/embeddings': { events: [auditEventTypes.embeddings] },
  'GET /v1/models': { events: [auditEventTypes.modelsList] },
  'POST /v1/messages': { events: [auditEventTypes.anthropicMessage, contextAuditEventTypes.gather] },
  'POST /v1/deid': { events: [auditEventTypes.deidText] },
  'POST /v1/retrieve': { events: [ragAuditEventTypes.retrievalRequest, ragAuditEventTypes.retrievalQuery] },
  'POST /v1/reid': { events: [auditEventTypes.reidText] },
  'POST /v1/audit/downstream': { events: [auditToolEventTypes.reportDownstream, auditToolEventTypes.downstream] },
  'GET /admin/api/use-cases': { events: [useCaseEventTypes.list] },
  'POST /admin/api/use-cases': { events: [useCaseEventTypes.create] },
  'GET /admin/api/use-cases/:id': { events: [useCaseEventTypes.read] },
  'GET /admin/api/use-cases/:id/history': { events: [useCaseEventTypes.read] },
  'POST /admin/api/use-cases/:id/versions': { events: [useCaseEventTypes.propose] },
  'POST /admin/api/use-cases/:id/submit': { events: [useCaseEventTypes.submit] },
  'POST /admin/api/use-cases/:id/approve': { events: [useCaseEventTypes.approve] },
  'POST /admin/api/use-cases/:id/reject': { events: [useCaseEventTypes.reject] },
  'POST /admin/api/use-cases/:id/go-live': { events: [useCaseEventTypes.goLive] },
  'POST /admin/api/use-cases/:id/suspend': { events: [useCaseEventTypes.suspend] },
  'POST /admin/api/use-cases/:id/resume': { events: [useCaseEventTypes.resume] },
  'POST /admin/api/use-cases/:id/retire': { events: [useCaseEventTypes.retire] },
  'POST /admin/api/use-cases/:id/rollback': { events: [useCaseEventTypes.rollback] },
  'GET /admin/api/registry/export': { events: [registryEventTypes.export] },
  'POST /admin/api/registry/import': { events: [registryEventTypes.import] },
  'POST /console/api/login': { events: ['auth.login'] },
  'POST /console/api/logout': { events: ['auth.logout'] },
  'GET /console/api/session': { events: ['auth.session'] },
  'GET /admin/api/users': { events: ['user.list'] },
  'POST /admin/api/users': { events: [adminEventTypes.userCreate] },
  'GET /admin/api/users/:id': { events: ['user.read'] },
  'POST /admin/api/users/:id/disable': { events: [adminEventTypes.userDisable] },
  'PUT /admin/api/users/:id/roles': { events: [adminEventTypes.userSetRoles] },
  'POST /admin/api/users/:id/password': { events: [adminEventTypes.userSetPassword] },
  'POST /admin/api/users/:id/totp': { events: [adminEventTypes.userEnrollTotp] },
  'GET /admin/api/users/:id/delegations': { events: ['user.read'] },
  'POST /admin/api/users/:id/delegations': { events: [adminEventTypes.userDelegate] },
  'DELETE /admin/api/users/:id/delegations/:userId': { events: [adminEventTypes.userUndelegate] },
  'GET /admin/api/keys': { events: ['apikey.list'] },
  'POST /admin/api/keys': { events: [adminEventTypes.apiKeyCreate] },
  'POST /admin/api/keys/:id/rotate': { events: [adminEventTypes.apiKeyRotate] },
  'POST /admin/api/keys/:id/revoke': { events: [adminEventTypes.apiKeyRevoke] },
  'POST /admin/api/tokens/revoke': { events: [adminEventTypes.tokenRevoke] },
  'POST /admin/api/access/care-team': { events: [accessAuditEventTypes.careTeamAssign] },
  'POST /admin/api/access/care-team/query': { events: ['careteam.query'] },
  'POST /admin/api/access/care-team/:id/end': { events: [accessAuditEventTypes.careTeamEnd] },
  'POST /admin/api/access/care-team/import': { events: [accessAuditEventTypes.careTeamImport] },
  'PUT /admin/api/access/profiles/:user': { events: [accessAuditEventTypes.profileChange] },
  'PUT /admin/api/access/units/:unit': { events: [accessAuditEventTypes.unitChange] },
  'POST /admin/api/access/units/:unit/members': { events: [accessAuditEventTypes.unitChange] },
  'POST /admin/api/access/units/:unit/members/end': { events: [accessAuditEventTypes.unitChange] },
  'POST /admin/api/access/units/:unit/patients': { events: [accessAuditEventTypes.unitChange] },
  'POST /admin/api/access/units/:unit/patients/end': { events: [accessAuditEventTypes.unitChange] },
  'POST /admin/api/access/break-glass': { events: [accessAuditEventTypes.breakGlassStart] },
  'POST /admin/api/access/break-glass/:id/end': { events: [accessAuditEventTypes.breakGlassEnd] },
  'GET /admin/api/access/break-glass': { events: ['breakglass.list'] },
  'POST /admin/api/access/break-glass/:id/review': { events: [accessAuditEventTypes.breakGlassReview] },
  'GET /admin/api/access/incidents': { events: ['incident.list'] },
  'POST /admin/api/documents': { events: [ragAuditEventTypes.documentIngest] },
  'POST /admin/api/documents/query': { events: [ragAuditEventTypes.documentList] },
  'DELETE /admin/api/documents/:id': { events: [ragAuditEventTypes.documentDelete] },
  'GET /v1/reviews/:id': { events: [reviewAuditEventTypes.fetch] },
  'GET /admin/api/reviews': { events: [reviewAuditEventTypes.list] },
  'POST /admin/api/reviews/claim': { events: [reviewAuditEventTypes.claim] },
  'GET /admin/api/reviews/:id': { events: [reviewAuditEventTypes.read] },
  'POST /admin/api/reviews/:id/claim': { events: [reviewAuditEventTypes.claim] },
  'POST /admin/api/reviews/:id/unclaim': { events: [reviewAuditEventTypes.unclaim] },
  'POST /admin/api/reviews/:id/approve': { events: [reviewAuditEventTypes.approve] },
  'POST /admin/api/reviews/:id/edit': { events: [reviewAuditEventTypes.edit] },
  'POST /admin/api/reviews/:id/reject': { events: [reviewAuditEventTypes.reject] },
  'GET /admin/api/reviews/:id/provenance': { events: [reviewAuditEventTypes.provenance] },
  'GET /admin/api/vendors': { events: [vendorEventTypes.list] },
  'GET /admin/api/vendors/expiring': { events: [vendorEventTypes.expiringList] },
  'GET /admin/api/vendors/:id': { events: [vendorEventTypes.read] },
  'POST /admin/api/vendors': { events: [vendorEventTypes.create] },
  'POST /admin/api/vendors/:id/baa': { events: [vendorEventTypes.baaSign, vendorEventTypes.baaAmend] },
  'POST /admin/api/vendors/:id/baa/terminate': { events: [vendorEventTypes.baaTerminate] },
  'PUT /admin/api/vendors/:id/subprocessors': { events: [vendorEventTypes.subprocessors] },
};

/** Routes registered on `routes` (Hono's `app.routes`) that have no catalogue entry; middleware is skipped. */
export function uncataloguedRoutes(routes: readonly { readonly method: string; readonly path: string }[]): string[] {
  const missing = new Set<string>();
  for (const route of routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    if (routeCatalogue[key] === undefined) missing.add(key);
  }
  return [...missing].sort();
}
