// SPDX-License-Identifier: Apache-2.0
/**
 * `POST /v1/retrieve`: the best chunks of one patient's documents for a query, for applications
 * that build their own prompts. Body `{ "query": string, "k"?: number }`; headers
 * `x-phigate-patient`, `x-phigate-purpose`, `x-phigate-use-case` (all required).
 *
 * Authenticated and authorised exactly like a chat request about the patient (care team, unit or
 * break-glass, for the purpose asserted, under a live use case the caller's roles may invoke) —
 * a caller who may not see the patient gets `patient_access_denied` and nothing else. The use
 * case must declare `data.documents`; its `k` caps the request's, and its sensitive categories are
 * the only labelled notes ever ranked. Nothing leaves the gateway except the de-identified query
 * to the configured embedding endpoint. Two audit records: `retrieval.query` (the retriever:
 * document and chunk ids) and `retrieval.request` (this call: who, decision, status).
 *
 * Answer: `{ "object": "list", "data": [{ document_id, chunk_id, score, text, label, sensitivity }] }`.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { z } from 'zod';
import { requestAccessOf } from '../../access/request-state.js';
import { accessServiceFor } from '../../access/service.js';
import { parseJson, type NodeContext } from '../../http/request-meta.js';
import { GatewayError } from '../../kernel/errors.js';
import { ragAuditEventTypes } from '../../rag/audit.js';
import { maxRetrievalK } from '../../rag/retrieve.js';
import { retrievalCallerOf } from '../../rag/caller.js';
import { formatZodIssues } from '../openai/schemas.js';
import { authenticate } from '../pipeline/authenticate.js';
import { authorizePatientRead } from '../pipeline/authorize.js';
import type { GatewayDeps, PipelineContext, PipelineResult, PipelineStep } from '../pipeline/context.js';
import { handleRoute } from './handle.js';
import { sendJson } from './respond.js';

const retrieveRequestSchema = z.strictObject({
  query: z.string().min(1),
  k: z.number().int().min(1).max(maxRetrievalK).optional(),
});

/** The units, in the caller's own organisation, of the user whose access was decided. */
async function callerUnits(ctx: PipelineContext, patient: string): Promise<string[]> {
  const userId = requestAccessOf(ctx)?.subjectUserId ?? ctx.principal?.userId;
  if (userId === undefined) return [];
  const facts = await accessServiceFor(ctx.deps).careTeams.relationshipFacts(userId, patient, ctx.deps.clock.now());
  return [...new Set(facts.userUnits.filter((u) => u.organisation === facts.organisation).map((u) => u.unitId))].sort();
}

const retrieveDocuments: PipelineStep = async (ctx) => {
  const patient = ctx.headers?.patient;
  const useCase = ctx.useCase;
  if (patient === undefined || useCase === undefined) throw new GatewayError('internal_error');
  const documents = useCase.spec.data.documents;
  if (documents === undefined) throw new GatewayError('documents_not_allowed', { detail: { useCase: useCase.id } });
  const retriever = ctx.deps.retriever;
  if (retriever === undefined) throw new GatewayError('context_unavailable', { detail: { source: 'documents' } });
  const parsed = retrieveRequestSchema.safeParse(parseJson(await ctx.meta.readBody()));
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: formatZodIssues(parsed.error) });
  const k = Math.min(parsed.data.k ?? documents.k, documents.k);
  const chunks = await retriever.retrieve(
    parsed.data.query,
    { patient, allowedSensitivity: useCase.spec.sensitiveCategories, units: await callerUnits(ctx, patient), k },
    { signal: ctx.meta.signal, caller: retrievalCallerOf(ctx) },
  );
  ctx.citations = chunks.map((c) => ({ documentId: c.documentId, chunkId: c.chunkId, ...(c.label === undefined ? {} : { label: c.label }) }));
  ctx.result = {
    kind: 'local',
    value: {
      object: 'list',
      data: chunks.map((c) => ({ document_id: c.documentId, chunk_id: c.chunkId, score: c.score, text: c.text, label: c.label ?? null, sensitivity: c.sensitivity })),
    },
  };
};

export function registerRetrieveRoute(app: Hono<{ Bindings: HttpBindings }>, deps: GatewayDeps): void {
  const respond = (c: NodeContext, result: PipelineResult, ctx: PipelineContext): Response => {
    if (result.kind !== 'local') throw new GatewayError('internal_error');
    return sendJson(c, 200, result.value, ctx.meta.requestId);
  };
  app.post('/v1/retrieve', (c) =>
    handleRoute(c, { deps, respond }, [authenticate, authorizePatientRead, retrieveDocuments], (meta) => ({ deps, meta, eventType: ragAuditEventTypes.retrievalRequest, operation: 'local' })),
  );
}
