// SPDX-License-Identifier: Apache-2.0
/**
 * The embedded index: SQLite FTS5 (BM25, Porter stemming) for full text, and an exact cosine scan
 * over the Float32 BLOBs of the chunks in scope for vectors. Both queries carry the scope in their
 * WHERE clause; FTS5's BM25 is ranked after that filter, so only in-scope chunks compete for the k
 * places. (BM25's term weights use statistics of the whole FTS table; callers see ranks, never
 * the raw BM25 value.)
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { exactVectorSearch, scopeCondition, searchBody, type DocumentIndex, type RankedChunk } from '../vector-index.js';

/** Rows per multi-row INSERT into the FTS table (SQLite's default limit is 32,766 parameters). */
const insertBatch = 200;

export function createSqliteDocumentIndex(db: Kysely<Database>): DocumentIndex {
  return {
    kind: 'sqlite',
    vectorMode: 'exact',
    async init() {
      // The migration made the FTS5 table; fail at start, not at the first search, if it is missing.
      await sql`select count(*) as n from document_chunks_fts where 0`.execute(db);
    },
    prepare: () => Promise.resolve(),
    async add(trx, chunks) {
      for (let i = 0; i < chunks.length; i += insertBatch) {
        const rows = chunks.slice(i, i + insertBatch).map((c) => sql`(${c.id}, ${searchBody(c.deidText)})`);
        await sql`insert into document_chunks_fts (chunk_id, body) values ${sql.join(rows)}`.execute(trx);
      }
    },
    async remove(trx, chunkIds) {
      for (let i = 0; i < chunkIds.length; i += insertBatch) {
        const ids = chunkIds.slice(i, i + insertBatch).map((id) => sql`${id}`);
        await sql`delete from document_chunks_fts where chunk_id in (${sql.join(ids)})`.execute(trx);
      }
    },
    async searchText(scope, terms, limit) {
      if (terms.length === 0 || limit < 1) return [];
      // Terms are letters and digits only (queryTerms), quoted so FTS5 reads no operators in them.
      const match = terms.map((t) => `"${t.replaceAll('"', '')}"`).join(' OR ');
      const result = await sql<{ id: string; document_id: string }>`
        select c.id, c.document_id from document_chunks_fts
        join document_chunks c on c.id = document_chunks_fts.chunk_id
        where document_chunks_fts match ${match} and ${scopeCondition(scope)}
        order by bm25(document_chunks_fts), c.id
        limit ${limit}`.execute(db);
      return result.rows.map((row, i): RankedChunk => ({ chunkId: row.id, documentId: row.document_id, rank: i + 1 }));
    },
    searchVector: (scope, query, limit) => (limit < 1 ? Promise.resolve([]) : exactVectorSearch(db, scope, query, limit)),
  };
}
