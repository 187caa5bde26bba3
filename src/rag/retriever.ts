// SPDX-License-Identifier: Apache-2.0
/**
 * The retrieval seam the request road calls. Access is part of the query, never a filter applied
 * to ranked results: only chunks of the one patient the caller was authorised for, with
 * sensitivity labels the use case allows and a unit the caller may see, are ever ranked, and at
 * most `k` come back.
 */
import type { AuditEvent } from '../audit/record.js';
import type { SensitiveCategory } from '../registry/use-case-spec.js';

export interface RetrievalScope {
  /** `Patient/<id>`: the patient the access decision allowed for this request. */
  readonly patient: string;
  /** Sensitive categories the use case may receive; documents labelled with any other are never ranked. */
  readonly allowedSensitivity: readonly SensitiveCategory[];
  /** The caller's organisational units; a document restricted to a unit is ranked only for its members. */
  readonly units: readonly string[];
  /** At most this many chunks (1..50). */
  readonly k: number;
}

export interface RetrievedChunk {
  readonly documentId: string;
  readonly chunkId: string;
  /** The chunk's text, decrypted for this request only. */
  readonly text: string;
  readonly score: number;
  readonly sensitivity: readonly SensitiveCategory[];
  /** Non-PHI label (document type, year), for citations. */
  readonly label?: string;
}

/**
 * Who is retrieving, for the audit record the retriever writes (ids and codes only). The request
 * road passes what its authorize step established: `retrievalCallerOf(ctx)` (rag/caller.ts).
 */
export interface RetrievalCaller {
  /** The request this retrieval belongs to (joins the record to the request's trail). */
  readonly requestId: string;
  readonly actor?: AuditEvent['actor'];
  readonly onBehalfOf?: AuditEvent['onBehalfOf'];
  readonly purpose?: string | undefined;
  readonly useCase?: string | undefined;
  /** care_team, unit, break_glass. */
  readonly accessBasis?: string | undefined;
  readonly breakGlassSessionId?: string | undefined;
  readonly client?: AuditEvent['client'];
}

export interface RetrieveOptions {
  readonly signal?: AbortSignal;
  /** Recorded in the `retrieval.query` audit event; without it the event names no actor. */
  readonly caller?: RetrievalCaller;
}

export interface Retriever {
  /**
   * The best chunks for `query` inside `scope`, best first, at most `scope.k`. Writes one
   * `retrieval.query` audit event (document and chunk ids, counts; never text) and returns only
   * once it is durable. Refuses with `invalid_request` for a bad query or scope, and with
   * `audit_unavailable` when the record cannot be written (then nothing is returned).
   */
  retrieve(query: string, scope: RetrievalScope, options?: RetrieveOptions): Promise<readonly RetrievedChunk[]>;
}
