// SPDX-License-Identifier: Apache-2.0
/**
 * The retrieval seam the request road calls. Access is part of the query, never a filter applied
 * to ranked results: only chunks of the one patient the caller was authorised for, with
 * sensitivity labels the use case allows and a unit the caller may see, are ever ranked, and at
 * most `k` come back.
 */
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

export interface Retriever {
  retrieve(query: string, scope: RetrievalScope, options?: { readonly signal?: AbortSignal }): Promise<readonly RetrievedChunk[]>;
}
