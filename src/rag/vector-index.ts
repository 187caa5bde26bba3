// SPDX-License-Identifier: Apache-2.0
/**
 * The `DocumentIndex` seam: full-text and vector search over de-identified chunks, with the
 * caller's scope (patient blind index, allowed sensitivity, units) in the WHERE clause of the very
 * query that ranks — a chunk outside the scope is never a candidate, so it can neither be returned
 * nor push an allowed chunk out of the top k.
 *
 * Implementations: SQLite (FTS5 BM25 + exact cosine over Float32 BLOBs, `index/sqlite-index.ts`)
 * and PostgreSQL (`tsvector` + pgvector HNSW, or an exact scan when pgvector is missing,
 * `index/postgres-index.ts`). Both pass `vector-index.contract.ts`.
 */
import { sql, type Kysely } from 'kysely';
import { decodeVector, scopeCondition, type SearchScope, type StoredVector } from '../store/repos/document-repo.js';
import type { Database } from '../store/schema.js';

export { decodeVector, encodeVector, scopeCondition } from '../store/repos/document-repo.js';
export type { SearchScope } from '../store/repos/document-repo.js';
/** A query vector and the model that made it (vectors of different models are never compared). */
export type QueryVector = StoredVector;

/** One chunk as the index stores it. */
export interface IndexedChunk {
  readonly id: string;
  readonly documentId: string;
  /** The de-identified text (placeholders such as `[NAME]` included). */
  readonly deidText: string;
  readonly embedding?: QueryVector | undefined;
}

/** A search hit: ids and rank only (1 = best). */
export interface RankedChunk {
  readonly chunkId: string;
  readonly documentId: string;
  readonly rank: number;
}

export interface DocumentIndex {
  readonly kind: 'sqlite' | 'postgres';
  /** `exact`: cosine over every in-scope vector; `pgvector`: HNSW inside PostgreSQL. */
  readonly vectorMode: 'exact' | 'pgvector';
  /** Checks or prepares what the index needs beyond the migrations; call once at start. */
  init(): Promise<void>;
  /** Prepares vector storage for `dimensions` (outside any transaction), before chunks of that size are added. */
  prepare(dimensions: number): Promise<void>;
  /** Indexes chunks whose `document_chunks` rows were written in the same transaction. */
  add(trx: Kysely<Database>, chunks: readonly IndexedChunk[]): Promise<void>;
  /** Removes index entries of chunks about to be deleted in the same transaction. */
  remove(trx: Kysely<Database>, chunkIds: readonly string[]): Promise<void>;
  /** Full-text search (OR of the terms), best first, at most `limit` in-scope hits. */
  searchText(scope: SearchScope, terms: readonly string[], limit: number): Promise<RankedChunk[]>;
  /** Nearest chunks by cosine similarity, best first, at most `limit` in-scope hits. */
  searchVector(scope: SearchScope, query: QueryVector, limit: number): Promise<RankedChunk[]>;
}

/** `[NAME]`, `[DATE_2]`: the de-identifier's placeholders. */
export const placeholderPattern = /\[[A-Z][A-Z_]*(?:_\d+)?\]/g;

/** What the full-text index holds for a chunk: the de-identified text without placeholders. */
export function searchBody(deidText: string): string {
  return deidText.replace(placeholderPattern, ' ');
}

const stopwords = new Set(
  'a an and are as at be been but by did do does for from had has have he her him his i if in into is it its me my no not of on or our she so than that the their them then there these they this to was we were what when where which who why will with you your'.split(' '),
);

/** Longest query a search takes, in terms. */
export const maxQueryTerms = 32;

/**
 * The search terms of a (de-identified) query: placeholders removed, lower-cased words of letters
 * and digits, common function words dropped, de-duplicated, at most {@link maxQueryTerms}.
 */
export function queryTerms(deidQuery: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const match of searchBody(deidQuery).normalize('NFKC').toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const term = match[0].slice(0, 64);
    if (stopwords.has(term) || seen.has(term)) continue;
    seen.add(term);
    out.push(term);
    if (out.length === maxQueryTerms) break;
  }
  return out;
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Exact vector search on either database: the scoped rows' vectors are read (the WHERE clause
 * holds the scope, the model and the dimension), and ranked by cosine here. Per-patient sets are
 * small, so this is both simple and exact.
 */
export async function exactVectorSearch(db: Kysely<Database>, scope: SearchScope, query: QueryVector, limit: number): Promise<RankedChunk[]> {
  const result = await sql<{ id: string; document_id: string; embedding: Uint8Array }>`
    select c.id, c.document_id, c.embedding from document_chunks c
    where ${scopeCondition(scope)} and c.embedding is not null and c.embedding_model = ${query.model} and c.embedding_dims = ${query.vector.length}`.execute(db);
  const scored = result.rows.map((row) => ({ row, score: cosine(query.vector, decodeVector(row.embedding)) }));
  scored.sort((x, y) => y.score - x.score || (x.row.id < y.row.id ? -1 : x.row.id > y.row.id ? 1 : 0));
  return scored.slice(0, limit).map(({ row }, i) => ({ chunkId: row.id, documentId: row.document_id, rank: i + 1 }));
}
