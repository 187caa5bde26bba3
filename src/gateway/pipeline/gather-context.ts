// SPDX-License-Identifier: Apache-2.0
/**
 * Step 3 — gather context: the minimum necessary FHIR elements and access-filtered documents a
 * use case declares, rendered into its prompt template and sent as the first system message.
 *
 * Runs for a chat request that names a patient under a live use case that declares FHIR context
 * (`data.fhir` with `autoContext`) or notes retrieval (`data.documents`):
 *
 * - FHIR: only the scope's resource types, projected to their allowed elements; resources
 *   labelled with a sensitive category the use case may not receive are withheld (like documents,
 *   which the retriever never ranks for such a use case).
 * - Documents: the `k` best chunks for the last user message, ranked only among this patient's
 *   chunks with allowed labels in units the caller may see (rag/retriever.ts).
 *
 * The patient's identifiers go to `ctx.patientPhi` (de-identification and the output filter),
 * the categories the payload now carries to `ctx.sensitivity`, the chunks to `ctx.citations`.
 * A `context.gather` audit record names resource types, counts and chunk ids, never content.
 * Any failure refuses the whole request: nothing partial reaches a model.
 */
import { breakGlassAuditFields, requestAccessOf } from '../../access/request-state.js';
import { accessServiceFor } from '../../access/service.js';
import type { GatheredFhirContext, FhirContextSource } from '../../fhir/context.js';
import { contextAuditEvent, formatCounts } from '../../fhir/context-audit.js';
import { applyTemplate, emptyContextText, renderContext, type RenderSection } from '../../fhir/render.js';
import { GatewayError, errors, type SafeDetail } from '../../kernel/errors.js';
import type { ChatMessage, ChatRequest } from '../../providers/types.js';
import { retrievalCallerOf } from '../../rag/caller.js';
import type { RetrievalCaller, RetrievedChunk, Retriever, RetrievalScope } from '../../rag/retriever.js';
import type { LiveUseCase } from '../../registry/registry-view.js';
import type { SensitiveCategory } from '../../registry/use-case-spec.js';
import type { Citation, PipelineContext } from './context.js';

declare module './context.js' {
  interface GatewayDeps {
    /** Reads minimum-necessary FHIR context from the EHR; absent when `fhir` is not configured. */
    readonly fhirContext?: FhirContextSource;
  }
}

/** The rendered-context limit when no `fhir` section configures one. */
export const defaultMaxContextChars = 100_000;

/** The text of the last user message (its text parts, joined); the retrieval query. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i];
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content.trim();
    return message.content
      .flatMap((part) => (part.type === 'text' ? [part.text] : []))
      .join('\n')
      .trim();
  }
  return '';
}

interface Plan {
  readonly useCase: LiveUseCase;
  readonly patient: string;
  readonly fhir: boolean;
  readonly documents: { readonly k: number } | undefined;
}

function planFor(ctx: PipelineContext): Plan | undefined {
  if (ctx.operation !== 'chat' || !ctx.request) return undefined;
  const useCase = ctx.useCase;
  const patient = ctx.headers?.patient;
  if (!useCase || patient === undefined) return undefined;
  const { data } = useCase.spec;
  const fhir = data.fhir.length > 0 && data.autoContext;
  if (!fhir && data.documents === undefined) return undefined;
  return { useCase, patient, fhir, documents: data.documents };
}

/** The caller's units in their organisation at this instant (for the retrieval scope). */
async function unitsOf(ctx: PipelineContext, patient: string): Promise<readonly string[]> {
  const userId = requestAccessOf(ctx)?.subjectUserId ?? ctx.principal?.userId;
  if (userId === undefined) return [];
  const facts = await accessServiceFor(ctx.deps).careTeams.relationshipFacts(userId, patient, ctx.deps.clock.now());
  return [...new Set(facts.userUnits.filter((u) => u.organisation === facts.organisation).map((u) => u.unitId))].sort();
}

async function retrieve(retriever: Retriever, query: string, scope: RetrievalScope, signal: AbortSignal, caller: RetrievalCaller): Promise<readonly RetrievedChunk[]> {
  let chunks: readonly RetrievedChunk[];
  try {
    chunks = await retriever.retrieve(query, scope, { signal, caller });
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('retrieval_failed', { cause: err, detail: { reason: 'retriever_error' } });
  }
  // The retriever applies access before ranking; these checks keep a faulty one from leaking.
  if (chunks.length > scope.k) throw new GatewayError('retrieval_failed', { detail: { reason: 'too_many_chunks', k: scope.k } });
  const allowed = new Set<SensitiveCategory>(scope.allowedSensitivity);
  for (const chunk of chunks) {
    if (typeof chunk.text !== 'string' || typeof chunk.documentId !== 'string' || typeof chunk.chunkId !== 'string') {
      throw new GatewayError('retrieval_failed', { detail: { reason: 'malformed_chunk' } });
    }
    if (chunk.sensitivity.some((c) => !allowed.has(c))) throw new GatewayError('retrieval_failed', { detail: { reason: 'sensitivity_not_allowed' } });
  }
  return chunks;
}

interface Gathered {
  readonly fhir: GatheredFhirContext | undefined;
  readonly chunks: readonly RetrievedChunk[];
  readonly withheld: number;
  readonly sections: readonly RenderSection[];
  readonly categories: readonly SensitiveCategory[];
  readonly counts: Readonly<Record<string, number>>;
}

async function gather(ctx: PipelineContext, plan: Plan, request: ChatRequest, signal: AbortSignal): Promise<Gathered> {
  const { fhirContext, retriever } = ctx.deps;
  if (plan.fhir && !fhirContext) throw new GatewayError('context_unavailable', { detail: { source: 'fhir' } });
  if (plan.documents && !retriever) throw new GatewayError('context_unavailable', { detail: { source: 'documents' } });
  const query = plan.documents ? lastUserText(request.messages) : '';
  const allowedSensitivity = plan.useCase.spec.sensitiveCategories;

  const fhirJob = fhirContext ? fhirContext.gather(plan.patient, { data: { fhir: plan.fhir ? plan.useCase.spec.data.fhir : [] } }, signal) : Promise.resolve(undefined);
  const docsJob =
    plan.documents && retriever && query !== ''
      ? unitsOf(ctx, plan.patient).then((units) => retrieve(retriever, query, { patient: plan.patient, allowedSensitivity, units, k: plan.documents?.k ?? 5 }, signal, retrievalCallerOf(ctx)))
      : Promise.resolve([] as readonly RetrievedChunk[]);
  const [fhir, chunks] = await Promise.all([fhirJob, docsJob]);

  const allowed = new Set<SensitiveCategory>(allowedSensitivity);
  const categories = new Set<SensitiveCategory>();
  const counts: Record<string, number> = {};
  let withheld = 0;
  const sections: RenderSection[] = (fhir?.sections ?? []).map((section) => {
    const resources = section.resources.filter((r) => {
      if (r.categories.every((c) => allowed.has(c))) {
        for (const c of r.categories) categories.add(c);
        return true;
      }
      withheld += 1;
      return false;
    });
    counts[section.scope.resourceType] = (counts[section.scope.resourceType] ?? 0) + resources.length;
    return { resourceType: section.scope.resourceType, elements: section.scope.elements, resources: resources.map((r) => r.resource) };
  });
  for (const chunk of chunks) for (const c of chunk.sensitivity) categories.add(c);
  return { fhir, chunks, withheld, sections, categories: [...categories].sort(), counts };
}

function auditBase(ctx: PipelineContext, plan: Plan): Omit<Parameters<typeof contextAuditEvent>[0], 'detail'> {
  const { deps, principal, headers } = ctx;
  return {
    now: deps.clock.now(),
    requestId: ctx.meta.requestId,
    instance: deps.instanceId,
    actor: principal && { userId: principal.userId, kind: principal.kind, roles: principal.roles, authMethod: principal.authMethod, apiKeyId: principal.apiKeyId },
    patientHash: deps.keyedHash(plan.patient, 'audit-patient'),
    purpose: headers?.purpose,
    useCase: plan.useCase.id,
    accessBasis: requestAccessOf(ctx)?.basis,
    breakGlassSessionId: breakGlassAuditFields(ctx).breakGlassSessionId,
  };
}

async function appendAudit(ctx: PipelineContext, event: ReturnType<typeof contextAuditEvent>): Promise<void> {
  try {
    await ctx.deps.audit.append(event);
  } catch (err) {
    throw new GatewayError('audit_unavailable', { cause: err });
  }
}

/** PHI-free facts of a refusal's detail, for the audit record (lists joined). */
function flatDetail(detail: SafeDetail | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(detail ?? {})) out[key] = Array.isArray(value) ? value.join(',') : (value as string | number | boolean);
  return out;
}

export async function gatherContext(ctx: PipelineContext): Promise<void> {
  const plan = planFor(ctx);
  if (!plan || ctx.operation !== 'chat' || !ctx.request) return;
  const request = ctx.request;
  // One controller: the client going away, or the first failing source, stops every call.
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  ctx.meta.signal.addEventListener('abort', onAbort, { once: true });
  let gathered: Gathered;
  let system: string;
  try {
    if (ctx.meta.signal.aborted) throw new GatewayError('client_disconnected');
    gathered = await gather(ctx, plan, request, controller.signal);
    const context = renderContext({ sections: gathered.sections, chunks: gathered.chunks });
    const limit = ctx.deps.config.fhir?.maxContextChars ?? defaultMaxContextChars;
    if (context.length > limit) throw new GatewayError('context_too_large', { detail: { source: 'rendered_context', limitChars: limit } });
    system = applyTemplate(plan.useCase.spec.promptTemplate, context === '' ? emptyContextText : context);
  } catch (err) {
    controller.abort();
    const error = err instanceof GatewayError ? err : new GatewayError('internal_error', { cause: err });
    await appendAudit(
      ctx,
      contextAuditEvent({
        ...auditBase(ctx, plan),
        errorCode: error.code,
        status: errors[error.code].status,
        detail: { useCaseVersion: plan.useCase.version, ...flatDetail(error.detail) },
      }),
    );
    throw error;
  } finally {
    ctx.meta.signal.removeEventListener('abort', onAbort);
  }

  const citations: Citation[] = gathered.chunks.map((chunk) => ({ documentId: chunk.documentId, chunkId: chunk.chunkId, ...(chunk.label === undefined ? {} : { label: chunk.label }) }));
  const resourceCount = Object.values(gathered.counts).reduce((a, b) => a + b, 0);
  await appendAudit(
    ctx,
    contextAuditEvent({
      ...auditBase(ctx, plan),
      detail: {
        useCaseVersion: plan.useCase.version,
        fhirResources: formatCounts(gathered.counts),
        fhirResourceCount: resourceCount,
        fhirWithheld: gathered.withheld,
        documents: [...new Set(citations.map((c) => c.documentId))].join(','),
        chunks: citations.map((c) => c.chunkId).join(','),
        chunkCount: citations.length,
        categories: gathered.categories.join(','),
        contextChars: system.length,
      },
    }),
  );

  ctx.request = { ...request, messages: [{ role: 'system', content: system }, ...request.messages] };
  if (gathered.fhir) ctx.patientPhi = gathered.fhir.patientPhi;
  ctx.sensitivity = [...new Set([...(ctx.sensitivity ?? []), ...gathered.categories])].sort();
  ctx.citations = citations;
}
