// SPDX-License-Identifier: Apache-2.0
/**
 * The `Retriever`: a query in, the caller's best chunks out.
 *
 * 1. The query is de-identified the way the chunks were (typed redaction), so it matches the
 *    indexed text and only de-identified text reaches the embedding endpoint.
 * 2. Full text (BM25 / ts_rank) and — when `rag.embeddingModel` is configured — vector search
 *    each rank the chunks inside the scope (patient blind index, allowed sensitivity, units), in
 *    SQL, before any ranking; a chunk outside the scope is never a candidate.
 * 3. Reciprocal rank fusion keeps at most k.
 * 4. Only those chunks are read and decrypted, with the scope applied again to the read.
 * 5. One `retrieval.query` audit event (ids and counts) is made durable before anything returns.
 *
 * If the embedding endpoint fails, retrieval continues on full text alone and the audit event
 * says so (`vector: "failed"`); access is never relaxed to keep an answer coming.
 */
import type { AuditWriter } from '../audit/writer.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Deidentifier } from '../deid/deidentify.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError, isGatewayError } from '../kernel/errors.js';
import { sensitiveCategories } from '../registry/use-case-spec.js';
import { createDocumentRepo, documentChunkContext, type SearchScope } from '../store/repos/document-repo.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Kysely } from 'kysely';
import { ragAuditEvent, ragAuditEventTypes } from './audit.js';
import { indexDeidPolicy } from './documents.js';
import type { Embedder } from './embed.js';
import { reciprocalRankFusion } from './fusion.js';
import type { RetrievalScope, RetrievedChunk, Retriever } from './retriever.js';
import { categoriesOfMask, disallowedMask } from './sensitivity-mask.js';
import { queryTerms, type DocumentIndex, type RankedChunk } from './vector-index.js';

export const maxRetrievalK = 50;

export interface RetrieverDeps {
  readonly db: Kysely<Database>;
  readonly fieldCrypto: FieldCrypto;
  readonly index: DocumentIndex;
  readonly deidentifier: Deidentifier;
  /** Absent: full-text retrieval only. */
  readonly embedder?: Embedder | undefined;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly instanceId: string;
  readonly logger?: Pick<Logger, 'warn'> | undefined;
  /** Longest query, in characters. Default 2000. */
  readonly maxQueryChars?: number;
  /** Candidates each ranker contributes to the fusion (at least k). Default 50. */
  readonly candidates?: number;
}

const unitPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const patientPattern = /^Patient\/[A-Za-z0-9.-]{1,64}$/;

function checkScope(scope: RetrievalScope): void {
  const bad = (field: string, expected: string): never => {
    throw new GatewayError('invalid_request', { detail: { field, expected } });
  };
  if (typeof scope.patient !== 'string' || !patientPattern.test(scope.patient)) bad('patient', 'Patient/<id>');
  if (!Number.isInteger(scope.k) || scope.k < 1 || scope.k > maxRetrievalK) bad('k', `an integer from 1 to ${maxRetrievalK}`);
  if (!scope.units.every((u) => typeof u === 'string' && unitPattern.test(u))) bad('units', 'unit ids');
  if (!scope.allowedSensitivity.every((c) => (sensitiveCategories as readonly string[]).includes(c))) bad('allowedSensitivity', 'sensitive categories');
}

/** Builds the retriever. */
export function createRetriever(deps: RetrieverDeps): Retriever {
  const maxQueryChars = deps.maxQueryChars ?? 2000;
  const candidates = deps.candidates ?? 50;
  const repo = createDocumentRepo(deps.db);

  return {
    async retrieve(query, scope, options = {}) {
      const caller = options.caller;
      const now = (): number => deps.clock.now();
      const patientHash = typeof scope.patient === 'string' ? deps.keyedHash(scope.patient, 'audit-patient') : undefined;
      // Audit records hold integers only (canonical JSON): a malformed k is recorded as absent.
      const facts: Record<string, string | number | boolean | undefined> = { k: Number.isSafeInteger(scope.k) ? scope.k : undefined };
      let endpointId: string | undefined;
      let chunks: RetrievedChunk[] = [];
      let failure: unknown;
      try {
        checkScope(scope);
        if (typeof query !== 'string' || query.trim() === '') throw new GatewayError('invalid_request', { detail: { field: 'query', expected: 'a non-empty string' } });
        if (query.length > maxQueryChars) throw new GatewayError('invalid_request', { detail: { field: 'query', limitChars: maxQueryChars } });
        const searchScope: SearchScope = {
          patientIndex: deps.fieldCrypto.blindIndex(scope.patient, 'patient'),
          disallowedMask: disallowedMask(scope.allowedSensitivity),
          units: [...new Set(scope.units)],
        };
        const deid = await deps.deidentifier.deidentify(query, { conversationId: `retrieval:${caller?.requestId ?? 'local'}`, policy: indexDeidPolicy });
        const terms = queryTerms(deid.text);
        const pool = Math.max(scope.k, candidates);
        const lexical = await deps.index.searchText(searchScope, terms, pool);
        facts.terms = terms.length;
        facts.lexicalHits = lexical.length;

        let vector: RankedChunk[] = [];
        const embedder = deps.embedder;
        if (embedder === undefined) facts.vector = 'off';
        else {
          try {
            const [queryVector] = await embedder.embed([deid.text], {
              requestId: caller?.requestId ?? 'retrieval',
              signal: options.signal,
              beforeCall: async (endpoint) => {
                endpointId = endpoint.id;
                // Bytes leave the organisation: the disclosure is durable before the call.
                if (!endpoint.selfHosted) {
                  await deps.audit.append(
                    ragAuditEvent({ type: ragAuditEventTypes.retrievalQuery, stage: 'disclosure', now: now(), instance: deps.instanceId, caller, patientHash, endpointId: endpoint.id, form: 'deidentified' }),
                  );
                }
              },
            });
            if (queryVector !== undefined) vector = await deps.index.searchVector(searchScope, { model: embedder.model, vector: queryVector }, pool);
            facts.vector = deps.index.vectorMode;
          } catch (err) {
            if (isGatewayError(err, 'audit_unavailable')) throw err;
            if (!isGatewayError(err)) throw err;
            facts.vector = 'failed';
            facts.vectorError = err.code;
            deps.logger?.warn({ requestId: caller?.requestId, code: err.code }, 'query embedding failed; retrieving by full text only');
          }
        }
        facts.vectorHits = vector.length;

        const fused = reciprocalRankFusion([lexical, vector], scope.k);
        const stored = new Map((await repo.readChunks(fused.map((f) => f.chunkId), searchScope)).map((c) => [c.id, c]));
        for (const hit of fused) {
          const row = stored.get(hit.chunkId);
          // Gone between search and read (deleted meanwhile): skipped, never substituted.
          if (row === undefined) continue;
          const text = await deps.fieldCrypto.decryptString(row.textEnc, documentChunkContext(row.id));
          chunks.push({
            documentId: row.documentId,
            chunkId: row.id,
            text,
            score: Math.round(hit.score * 1e6) / 1e6,
            sensitivity: categoriesOfMask(row.sensitivityMask),
            ...(row.label === null ? {} : { label: row.label }),
          });
        }
      } catch (err) {
        failure = err;
        chunks = [];
      }
      const documentIds = [...new Set(chunks.map((c) => c.documentId))];
      try {
        await deps.audit.append(
          ragAuditEvent({
            type: ragAuditEventTypes.retrievalQuery,
            now: now(),
            instance: deps.instanceId,
            caller,
            patientHash,
            error: failure,
            endpointId,
            form: endpointId === undefined ? undefined : 'deidentified',
            promptHmac: typeof query === 'string' ? deps.keyedHash(query, 'audit-prompt') : undefined,
            detail: { ...facts, returned: chunks.length, documents: documentIds.length, documentIds: documentIds.join(','), chunkIds: chunks.map((c) => c.chunkId).join(',') },
          }),
        );
      } catch (err) {
        throw new GatewayError('audit_unavailable', { cause: err });
      }
      if (failure !== undefined) throw failure;
      return chunks;
    },
  };
}
