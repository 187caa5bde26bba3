// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0010: clinical documents for retrieval.
 *
 * - `documents`: one row per ingested note. The patient is stored only as a blind index
 *   (`patient_index`, the same `FieldCrypto.blindIndex(ref, 'patient')` the access tables use), so
 *   the table names no patient; the label (document type and year) is non-PHI by construction
 *   (rag/documents.ts). `content_index` (a keyed hash of patient and text) makes re-ingesting the
 *   same note a no-op; `source_index` (a keyed hash of the DocumentReference id) lets a new version
 *   of a DocumentReference replace the old one.
 * - `document_chunks`: the note in bounded pieces. The raw text exists only as a FieldCrypto
 *   ciphertext (`text_enc`, data class `documents`, bound to the chunk id); `deid_text` is the
 *   de-identified text (typed placeholders such as `[NAME]`), which is what the full-text and
 *   vector indexes hold. Access metadata (patient index, sensitivity bit mask, unit) is repeated on
 *   every chunk so the search filters the scope in the same query that ranks.
 * - Full text: SQLite gets an FTS5 table (`document_chunks_fts`, Porter stemming, BM25 ranking);
 *   PostgreSQL a generated `tsvector` column with a GIN index. pgvector, when the server has it,
 *   is added at start by rag/index/postgres-index.ts (an extension is a property of the server,
 *   not of the schema), so this migration runs on any PostgreSQL.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { binaryType, dialectOf, millisType } from '../dialect.js';

export interface DocumentsTable {
  id: string;
  patient_index: string;
  /** Keyed hash of patient and text: the same note for the same patient is stored once. */
  content_index: string;
  /** Keyed hash of `DocumentReference/<id>` when the note came from FHIR. */
  source_index: string | null;
  /** `text` or `fhir`. */
  source: string;
  /** Non-PHI label for citations: document type and year. */
  label: string | null;
  /** The note's date (epoch ms), when known. */
  doc_date: number | null;
  /** JSON array of sensitive categories. */
  sensitivity: string;
  /** The same categories as bits (rag/sensitivity-mask.ts). */
  sensitivity_mask: number;
  /** The unit the note is restricted to, if any. */
  unit: string | null;
  char_count: number;
  chunk_count: number;
  /** The embedding model the chunks were embedded with; null when indexed for full text only. */
  embedding_model: string | null;
  created_by: string;
  created_at: number;
}

export interface DocumentChunksTable {
  id: string;
  document_id: string;
  ordinal: number;
  patient_index: string;
  sensitivity_mask: number;
  unit: string | null;
  /** FieldCrypto ciphertext of the raw chunk, bound to (document_chunks, text, id). */
  text_enc: string;
  /** The de-identified chunk: what the indexes and the embedding model see. */
  deid_text: string;
  /** Float32 little-endian vector of `deid_text`, when embedded. */
  embedding: Uint8Array | null;
  embedding_model: string | null;
  embedding_dims: number | null;
}

declare module '../schema.js' {
  interface Database {
    documents: DocumentsTable;
    document_chunks: DocumentChunksTable;
  }
}

export const migration0010Documents: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async up(db: Kysely<any>): Promise<void> {
    const dialect = dialectOf(db);
    await db.schema
      .createTable('documents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_index', 'text', (c) => c.notNull())
      .addColumn('content_index', 'text', (c) => c.notNull())
      .addColumn('source_index', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('label', 'text')
      .addColumn('doc_date', millisType)
      .addColumn('sensitivity', 'text', (c) => c.notNull())
      .addColumn('sensitivity_mask', 'integer', (c) => c.notNull())
      .addColumn('unit', 'text')
      .addColumn('char_count', 'integer', (c) => c.notNull())
      .addColumn('chunk_count', 'integer', (c) => c.notNull())
      .addColumn('embedding_model', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('documents_content_idx').on('documents').columns(['patient_index', 'content_index']).unique().execute();
    // NULLs are distinct in unique indexes on both databases, so plain-text notes never collide here.
    await db.schema.createIndex('documents_source_idx').on('documents').columns(['patient_index', 'source_index']).unique().execute();
    await db.schema.createIndex('documents_patient_idx').on('documents').columns(['patient_index', 'created_at']).execute();

    await db.schema
      .createTable('document_chunks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('document_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
      .addColumn('ordinal', 'integer', (c) => c.notNull())
      .addColumn('patient_index', 'text', (c) => c.notNull())
      .addColumn('sensitivity_mask', 'integer', (c) => c.notNull())
      .addColumn('unit', 'text')
      .addColumn('text_enc', 'text', (c) => c.notNull())
      .addColumn('deid_text', 'text', (c) => c.notNull())
      .addColumn('embedding', binaryType(db))
      .addColumn('embedding_model', 'text')
      .addColumn('embedding_dims', 'integer')
      .execute();
    await db.schema.createIndex('document_chunks_document_idx').on('document_chunks').columns(['document_id', 'ordinal']).execute();
    await db.schema.createIndex('document_chunks_scope_idx').on('document_chunks').columns(['patient_index', 'sensitivity_mask']).execute();

    if (dialect === 'sqlite') {
      // Standalone FTS5 table: the chunk id rides along unindexed; the body is the de-identified
      // text with its placeholders removed (they would otherwise match the words "name", "date").
      await sql
        .raw(`CREATE VIRTUAL TABLE document_chunks_fts USING fts5(chunk_id UNINDEXED, body, tokenize = 'porter unicode61 remove_diacritics 2')`)
        .execute(db);
    } else {
      await sql
        .raw(
          `ALTER TABLE document_chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, regexp_replace(deid_text, '\\[[A-Z][A-Z_]*(_[0-9]+)?\\]', ' ', 'g'))) STORED`,
        )
        .execute(db);
      await sql.raw('CREATE INDEX document_chunks_tsv_idx ON document_chunks USING gin (tsv)').execute(db);
    }
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async down(db: Kysely<any>): Promise<void> {
    if (dialectOf(db) === 'sqlite') await sql.raw('DROP TABLE IF EXISTS document_chunks_fts').execute(db);
    await db.schema.dropTable('document_chunks').ifExists().execute();
    await db.schema.dropTable('documents').ifExists().execute();
  },
};
