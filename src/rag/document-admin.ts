// SPDX-License-Identifier: Apache-2.0
/**
 * Document administration, shared by the admin API (console/document-routes.ts) and the CLI
 * (`phigate documents`): ingest, list and delete. Each call checks `admin:documents.manage` by
 * exact name and writes an audit event — refusals included — before it returns: one
 * `document.ingest` per note (the keyed patient hash, the document id, chunk count, categories,
 * PHI counts; never text or a patient id), `document.list`, `document.delete`.
 *
 * Who holds the permission: `admin`, and any role a deployment grants it to — typically a
 * dedicated role for the EHR integration's service account that pushes signed notes. The shipped
 * `ai_service` role does not: a model-calling service able to write the corpus could plant text
 * (prompt injection) in other users' retrieval results.
 */
import type { AuditEvent } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import { adminActions, hasPermission, type AccessPolicy } from '../access/rbac.js';
import { normalisePatientRef } from '../access/patient-access.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError } from '../kernel/errors.js';
import type { SensitiveCategory } from '../registry/use-case-spec.js';
import { createDocumentRepo, type DocumentRecord } from '../store/repos/document-repo.js';
import type { Database } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { ragAuditEvent, ragAuditEventTypes, type RagAuditDetail, type RagAuditEventType } from './audit.js';
import { documentsOfFhir, textDocument, type DocumentIngester, type DocumentInput, type DocumentLimits, type FhirDocumentOptions, type FhirDocumentProblem, type IngestResult, type TextDocumentOptions } from './documents.js';
import type { RetrievalCaller } from './retriever.js';

/** Who is acting: an authenticated principal (admin API) or the operator at the terminal (CLI). */
export interface DocumentAdminRequest {
  readonly actor: NonNullable<AuditEvent['actor']>;
  readonly requestId: string;
  readonly client?: AuditEvent['client'];
}

/** A document as listed: metadata only. */
export interface DocumentSummary {
  readonly id: string;
  readonly label: string | null;
  readonly date: string | null;
  readonly source: 'text' | 'fhir';
  readonly sensitivity: readonly SensitiveCategory[];
  readonly unit: string | null;
  readonly chunks: number;
  readonly chars: number;
  readonly embeddingModel: string | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface FhirIngestReport {
  readonly results: readonly IngestResult[];
  /** DocumentReferences refused, by position in the input. */
  readonly problems: readonly FhirDocumentProblem[];
  /** Resources that were not DocumentReferences. */
  readonly skipped: number;
}

export interface DocumentAdmin {
  readonly limits: DocumentLimits;
  ingestText(req: DocumentAdminRequest, options: TextDocumentOptions): Promise<IngestResult>;
  /** One DocumentReference, a Bundle of them, or an array; each is ingested (and audited) on its own. */
  ingestFhir(req: DocumentAdminRequest, input: unknown, options?: FhirDocumentOptions): Promise<FhirIngestReport>;
  list(req: DocumentAdminRequest, patient: string, limit?: number): Promise<readonly DocumentSummary[]>;
  remove(req: DocumentAdminRequest, id: string): Promise<void>;
}

export interface DocumentAdminDeps {
  readonly db: Kysely<Database>;
  readonly fieldCrypto: Pick<FieldCrypto, 'blindIndex'>;
  readonly ingester: DocumentIngester;
  readonly limits: DocumentLimits;
  readonly policy: AccessPolicy;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly instanceId: string;
}

function summaryOf(doc: DocumentRecord): DocumentSummary {
  return {
    id: doc.id,
    label: doc.label,
    date: doc.date === null ? null : new Date(doc.date).toISOString(),
    source: doc.source,
    sensitivity: doc.sensitivity,
    unit: doc.unit,
    chunks: doc.chunkCount,
    chars: doc.charCount,
    embeddingModel: doc.embeddingModel,
    createdAt: new Date(doc.createdAt).toISOString(),
    createdBy: doc.createdBy,
  };
}

export function createDocumentAdmin(deps: DocumentAdminDeps): DocumentAdmin {
  const repo = createDocumentRepo(deps.db);

  const callerOf = (req: DocumentAdminRequest): RetrievalCaller => ({ requestId: req.requestId, actor: req.actor, client: req.client });

  async function audit(req: DocumentAdminRequest, type: RagAuditEventType, facts: { patient?: string | undefined; error?: unknown; detail?: RagAuditDetail; stage?: 'disclosure'; endpointId?: string }): Promise<void> {
    await deps.audit.append(
      ragAuditEvent({
        type,
        now: deps.clock.now(),
        instance: deps.instanceId,
        caller: callerOf(req),
        patientHash: facts.patient === undefined ? undefined : deps.keyedHash(facts.patient, 'audit-patient'),
        error: facts.error,
        ...(facts.stage === undefined ? {} : { stage: facts.stage }),
        ...(facts.endpointId === undefined ? {} : { endpointId: facts.endpointId, form: 'deidentified' }),
        ...(facts.detail === undefined ? {} : { detail: facts.detail }),
      }),
    );
  }

  function requirePermission(req: DocumentAdminRequest): void {
    if (!hasPermission(deps.policy, req.actor.roles, adminActions.documentsManage)) {
      throw new GatewayError('permission_denied', { detail: { permission: adminActions.documentsManage } });
    }
  }

  /** Runs `work`, auditing its outcome (the refusal too) as `type`; an audit failure fails the call. */
  async function audited<T>(req: DocumentAdminRequest, type: RagAuditEventType, patient: string | undefined, work: () => Promise<T>, detailOf: (value: T) => RagAuditDetail): Promise<T> {
    let value: T;
    try {
      requirePermission(req);
      value = await work();
    } catch (err) {
      const detail: Record<string, string | number | boolean> = {};
      if (err instanceof GatewayError && typeof err.detail?.reason === 'string') detail.reason = err.detail.reason;
      await audit(req, type, { patient, error: err, detail });
      throw err;
    }
    await audit(req, type, { patient, detail: detailOf(value) });
    return value;
  }

  return {
    limits: deps.limits,
    async ingestText(req, options) {
      return ingestOneWithPatient(req, () => textDocument(options, deps.limits), options.patient);
    },
    async ingestFhir(req, input, options = {}) {
      let parsed: ReturnType<typeof documentsOfFhir>;
      try {
        requirePermission(req);
        parsed = documentsOfFhir(input, deps.limits, options);
      } catch (err) {
        await audit(req, ragAuditEventTypes.documentIngest, { patient: options.patient, error: err, detail: err instanceof GatewayError && typeof err.detail?.reason === 'string' ? { reason: err.detail.reason } : {} });
        throw err;
      }
      for (const problem of parsed.problems) {
        await audit(req, ragAuditEventTypes.documentIngest, {
          patient: options.patient,
          error: new GatewayError(problem.code, { detail: { reason: problem.reason } }),
          detail: { reason: problem.reason, position: problem.at },
        });
      }
      const results: IngestResult[] = [];
      for (const document of parsed.documents) results.push(await ingestOneWithPatient(req, () => document, document.patient));
      return { results, problems: parsed.problems, skipped: parsed.skipped };
    },
    async list(req, patientRef, limit) {
      const patient = normalisePatientRef(patientRef);
      return audited(
        req,
        ragAuditEventTypes.documentList,
        patient,
        async () => {
          if (patient === undefined) throw new GatewayError('invalid_request', { detail: { field: 'patient', expected: 'Patient/<id>' } });
          const docs = await repo.list({ patientIndex: deps.fieldCrypto.blindIndex(patient, 'patient'), limit: Math.min(Math.max(limit ?? 1000, 1), 1000) });
          return docs.map(summaryOf);
        },
        (docs) => ({ returned: docs.length }),
      );
    },
    async remove(req, id) {
      await audited(
        req,
        ragAuditEventTypes.documentDelete,
        undefined,
        async () => {
          if (!/^[0-9a-f-]{36}$/.test(id)) throw new GatewayError('document_not_found');
          if (!(await deps.ingester.remove(id))) throw new GatewayError('document_not_found');
        },
        () => ({ documentId: id }),
      );
    },
  };

  /** Ingests one note, auditing under the patient named by the caller (known before parsing). */
  async function ingestOneWithPatient(req: DocumentAdminRequest, prepare: () => DocumentInput, patientRef: string | undefined): Promise<IngestResult> {
    const patient = patientRef === undefined ? undefined : normalisePatientRef(patientRef);
    return audited(
      req,
      ragAuditEventTypes.documentIngest,
      patient,
      () => {
        const input = prepare();
        return deps.ingester.ingest(input, {
          userId: req.actor.userId,
          requestId: req.requestId,
          beforeEmbed: async (endpoint) => {
            // De-identified chunks leave the organisation: that disclosure is durable first.
            if (!endpoint.selfHosted) await audit(req, ragAuditEventTypes.documentIngest, { patient: input.patient, stage: 'disclosure', endpointId: endpoint.id });
          },
        });
      },
      (result) => ({
        documentId: result.id,
        chunks: result.chunks,
        duplicate: result.duplicate,
        replaced: result.replaced,
        embedded: result.embedded,
        embeddingSkipped: result.embeddingSkipped,
        sensitivity: result.sensitivity.join(','),
        phiFound: Object.entries(result.phiFound).map(([category, n]) => `${category}:${n}`).join(','),
      }),
    );
  }
}
