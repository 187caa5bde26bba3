// SPDX-License-Identifier: Apache-2.0
// The DocumentIndex contract on PostgreSQL 17 in-process (PGlite) with the pgvector extension:
// tsvector full text and HNSW vector search with the scope in the same query; and the exact
// mode when pgvector is turned off.
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgliteVectorServer } from '../testing/harness.js';
import { describeDocumentIndexContract } from '../vector-index.contract.js';
import { createPostgresDocumentIndex } from './postgres-index.js';

const server = createPgliteVectorServer();
afterAll(() => server.close());

describeDocumentIndexContract(
  'PGlite + pgvector (HNSW)',
  async () => {
    const db = await server.createDb();
    return { db, index: createPostgresDocumentIndex(db) };
  },
  { vectorMode: 'pgvector' },
);

describeDocumentIndexContract(
  'PGlite, pgvector off (exact scan)',
  async () => {
    const db = await server.createDb();
    return { db, index: createPostgresDocumentIndex(db, { vector: 'exact' }) };
  },
  { vectorMode: 'exact' },
);

describe('pgvector specifics', () => {
  it('indexes each vector length with a partial HNSW index that the scoped query can use', async () => {
    const db = await server.createDb();
    try {
      const { migrateToLatest } = await import('../../store/migrate.js');
      await migrateToLatest(db);
      const index = createPostgresDocumentIndex(db);
      await index.init();
      await index.prepare(64);
      const { rows } = await sql<{ indexdef: string }>`select indexdef from pg_indexes where indexname = 'document_chunks_vec_64_idx'`.execute(db);
      expect(rows[0]?.indexdef).toMatch(/USING hnsw .*vector_cosine_ops.*WHERE \(embedding_dims = 64\)/);
      const literal = `[${new Array(64).fill(0.1).join(',')}]`;
      const plan = await db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        return sql<{ 'QUERY PLAN': string }>`explain select id from document_chunks c where c.patient_index = 'aa' and c.embedding_dims = 64
          order by c.embedding_vec::vector(64) <=> ${literal}::vector(64) limit 5`.execute(trx);
      });
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/document_chunks_vec_64_idx/);
    } finally {
      await db.destroy();
    }
  });
});
