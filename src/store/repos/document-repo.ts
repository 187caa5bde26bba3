// SPDX-License-Identifier: Apache-2.0
/**
 * The document tables (`documents`, `document_chunks`, migration 0010). Rows hold what
 * rag/documents.ts prepared: the patient only as a blind index, each chunk's raw text only as a
 * FieldCrypto ciphertext bound to the chunk id ({@link documentChunkContext}), the de-identified
 * text the indexes search, and the access metadata every search filters on.
 *
 * Reads of chunk ciphertexts take the caller's scope and apply it in SQL again, so a chunk id
 * from anywhere else cannot be turned into text for a caller outside its scope.
 */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { FieldContext } from '../../crypto/field-crypto.js';
import type { SensitiveCategory } from '../../registry/use-case-spec.js';
import { stringListFromJson, toJsonText } from '../dialect.js';
import type { DocumentsTable } from '../migrations/0010-documents.js';
import type { Database } from '../schema.js';

/** The data class chunk texts are encrypted under (its own data key, rotated on its own). */
export const documentDataClass = 'documents';

/** Where a chunk's text lives, for associated data: a ciphertext moved to another chunk does not decrypt. */
export function documentChunkContext(chunkId: string): FieldContext {
  return { table: 'document_chunks', column: 'text', rowId: chunkId };
}

/** What a caller may see, reduced to stored values. */
export interface SearchScope {
  /** `FieldCrypto.blindIndex('Patient/<id>', 'patient')`. */
  readonly patientIndex: string;
  /** Sensitivity bits the caller may not see (rag/sensitivity-mask.ts). */
  readonly disallowedMask: number;
  /** Units whose restricted chunks the caller may see; unrestricted chunks are always in scope. */
  readonly units: readonly string[];
}

/** An embedding and the model that made it. */
export interface StoredVector {
  readonly model: string;
  readonly vector: Float32Array;
}

/**
 * The scope as a SQL condition on `document_chunks` aliased `c`. Every query that ranks or reads
 * chunks uses it, so the two databases and the two rankers cannot drift apart.
 */
export function scopeCondition(scope: SearchScope): RawBuilder<unknown> {
  if (!/^[0-9a-f]{16,128}$/.test(scope.patientIndex)) throw new RangeError('patientIndex must be a blind index');
  if (!Number.isSafeInteger(scope.disallowedMask) || scope.disallowedMask < 0) throw new RangeError('disallowedMask must be a non-negative integer');
  const units = scope.units.length === 0 ? sql`c.unit is null` : sql`(c.unit is null or c.unit in (${sql.join(scope.units.map((u) => sql`${u}`))}))`;
  return sql`c.patient_index = ${scope.patientIndex} and (c.sensitivity_mask & ${scope.disallowedMask}) = 0 and ${units}`;
}

/** A Float32 vector as little-endian bytes (the stored form on both databases). */
export function encodeVector(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return bytes;
}

/** The inverse of {@link encodeVector}. */
export function decodeVector(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError('a stored vector must be a whole number of float32 values');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** A document's metadata (no text, no patient id). */
export interface DocumentRecord {
  readonly id: string;
  readonly patientIndex: string;
  readonly source: 'text' | 'fhir';
  readonly label: string | null;
  /** Epoch ms. */
  readonly date: number | null;
  readonly sensitivity: readonly SensitiveCategory[];
  readonly unit: string | null;
  readonly charCount: number;
  readonly chunkCount: number;
  readonly embeddingModel: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface NewDocument extends DocumentRecord {
  readonly contentIndex: string;
  readonly sourceIndex: string | null;
  readonly sensitivityMask: number;
}

export interface NewChunk {
  readonly id: string;
  readonly documentId: string;
  readonly ordinal: number;
  readonly patientIndex: string;
  readonly sensitivityMask: number;
  readonly unit: string | null;
  /** FieldCrypto ciphertext under {@link documentChunkContext}. */
  readonly textEnc: string;
  readonly deidText: string;
  readonly embedding?: StoredVector | undefined;
}

/** A chunk as read for an answer: still encrypted. */
export interface StoredChunk {
  readonly id: string;
  readonly documentId: string;
  readonly ordinal: number;
  readonly textEnc: string;
  readonly sensitivityMask: number;
  readonly label: string | null;
}

export interface DocumentRepo {
  /** Inserts a document and its chunks (call inside a transaction to make them one change). */
  insert(document: NewDocument, chunks: readonly NewChunk[]): Promise<void>;
  findById(id: string): Promise<DocumentRecord | undefined>;
  /** The document with this content for this patient, if already stored. */
  findByContent(patientIndex: string, contentIndex: string): Promise<DocumentRecord | undefined>;
  /** The document ingested from this DocumentReference for this patient, with its content index. */
  findBySource(patientIndex: string, sourceIndex: string): Promise<(DocumentRecord & { readonly contentIndex: string }) | undefined>;
  /** Newest first. */
  list(filter?: { readonly patientIndex?: string; readonly limit?: number }): Promise<readonly DocumentRecord[]>;
  chunkIds(documentId: string): Promise<readonly string[]>;
  /** Deletes a document and (cascade) its chunks; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** The chunks among `ids` that are inside `scope`, with their document's label. */
  readChunks(ids: readonly string[], scope: SearchScope): Promise<readonly StoredChunk[]>;
  /** Chunks and documents stored for one patient index (for summaries). */
  countForPatient(patientIndex: string): Promise<{ readonly documents: number; readonly chunks: number }>;
}

function toRecord(row: Selectable<DocumentsTable>): DocumentRecord {
  return {
    id: row.id,
    patientIndex: row.patient_index,
    source: row.source === 'fhir' ? 'fhir' : 'text',
    label: row.label,
    date: row.doc_date === null ? null : Number(row.doc_date),
    sensitivity: stringListFromJson(row.sensitivity) as SensitiveCategory[],
    unit: row.unit,
    charCount: Number(row.char_count),
    chunkCount: Number(row.chunk_count),
    embeddingModel: row.embedding_model,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  };
}

/** Chunk rows per multi-row INSERT (well under SQLite's parameter limit). */
const insertBatch = 100;

export function createDocumentRepo(db: Kysely<Database>): DocumentRepo {
  return {
    async insert(document, chunks) {
      await db
        .insertInto('documents')
        .values({
          id: document.id,
          patient_index: document.patientIndex,
          content_index: document.contentIndex,
          source_index: document.sourceIndex,
          source: document.source,
          label: document.label,
          doc_date: document.date,
          sensitivity: toJsonText(document.sensitivity),
          sensitivity_mask: document.sensitivityMask,
          unit: document.unit,
          char_count: document.charCount,
          chunk_count: document.chunkCount,
          embedding_model: document.embeddingModel,
          created_by: document.createdBy,
          created_at: document.createdAt,
        })
        .execute();
      for (let i = 0; i < chunks.length; i += insertBatch) {
        await db
          .insertInto('document_chunks')
          .values(
            chunks.slice(i, i + insertBatch).map((chunk) => ({
              id: chunk.id,
              document_id: chunk.documentId,
              ordinal: chunk.ordinal,
              patient_index: chunk.patientIndex,
              sensitivity_mask: chunk.sensitivityMask,
              unit: chunk.unit,
              text_enc: chunk.textEnc,
              deid_text: chunk.deidText,
              embedding: chunk.embedding === undefined ? null : encodeVector(chunk.embedding.vector),
              embedding_model: chunk.embedding?.model ?? null,
              embedding_dims: chunk.embedding?.vector.length ?? null,
            })),
          )
          .execute();
      }
    },
    async findById(id) {
      const row = await db.selectFrom('documents').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async findByContent(patientIndex, contentIndex) {
      const row = await db.selectFrom('documents').selectAll().where('patient_index', '=', patientIndex).where('content_index', '=', contentIndex).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async findBySource(patientIndex, sourceIndex) {
      const row = await db.selectFrom('documents').selectAll().where('patient_index', '=', patientIndex).where('source_index', '=', sourceIndex).executeTakeFirst();
      return row === undefined ? undefined : { ...toRecord(row), contentIndex: row.content_index };
    },
    async list(filter = {}) {
      let query = db.selectFrom('documents').selectAll();
      if (filter.patientIndex !== undefined) query = query.where('patient_index', '=', filter.patientIndex);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 1000).execute();
      return rows.map(toRecord);
    },
    async chunkIds(documentId) {
      const rows = await db.selectFrom('document_chunks').select('id').where('document_id', '=', documentId).orderBy('ordinal').execute();
      return rows.map((row) => row.id);
    },
    async delete(id) {
      const result = await db.deleteFrom('documents').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async readChunks(ids, scope) {
      if (ids.length === 0) return [];
      const result = await sql<{ id: string; document_id: string; ordinal: number; text_enc: string; sensitivity_mask: number; label: string | null }>`
        select c.id, c.document_id, c.ordinal, c.text_enc, c.sensitivity_mask, d.label
        from document_chunks c join documents d on d.id = c.document_id
        where c.id in (${sql.join(ids.map((id) => sql`${id}`))}) and ${scopeCondition(scope)}`.execute(db);
      return result.rows.map((row) => ({
        id: row.id,
        documentId: row.document_id,
        ordinal: Number(row.ordinal),
        textEnc: row.text_enc,
        sensitivityMask: Number(row.sensitivity_mask),
        label: row.label,
      }));
    },
    async countForPatient(patientIndex) {
      const docs = await db.selectFrom('documents').select((eb) => eb.fn.countAll<number | string>().as('n')).where('patient_index', '=', patientIndex).executeTakeFirst();
      const chunks = await db.selectFrom('document_chunks').select((eb) => eb.fn.countAll<number | string>().as('n')).where('patient_index', '=', patientIndex).executeTakeFirst();
      return { documents: Number(docs?.n ?? 0), chunks: Number(chunks?.n ?? 0) };
    },
  };
}
