// SPDX-License-Identifier: Apache-2.0
/**
 * The `rag` section of the configuration: documents and retrieval. Imported by config/schema.ts;
 * depends on zod only, so the configuration module stays at the bottom of the dependency graph.
 */
import { z } from 'zod';

export const ragConfigSchema = z
  .strictObject({
    /**
     * The model that embeds chunks and queries: a model name that an endpoint of `endpoints`
     * serves with the `embeddings` capability (a BAA-covered or self-hosted one for notes with
     * sensitive categories; elsewhere those are indexed for full text only). Absent: retrieval is
     * full text (BM25) only.
     */
    embeddingModel: z.string().min(1).max(128).optional(),
    /** Texts per embedding call. */
    embeddingBatchSize: z.number().int().min(1).max(512).default(32),
    /** Largest note accepted, in UTF-8 bytes of its text; a larger one is refused and nothing is stored. */
    maxDocumentBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
    /** Most chunks one note may make. */
    maxChunksPerDocument: z.number().int().min(1).max(100_000).default(2_000),
    /** Chunk size bound, in characters, overlap included. */
    chunkChars: z.number().int().min(200).max(8_000).default(1_500),
    /** Characters repeated from the previous chunk when a section continues (at most half of chunkChars). */
    chunkOverlapChars: z.number().int().min(0).max(4_000).default(200),
    /** Longest retrieval query, in characters. */
    maxQueryChars: z.number().int().min(16).max(20_000).default(2_000),
    /** Candidates each ranker (full text, vector) contributes before fusion. */
    candidates: z.number().int().min(1).max(1_000).default(50),
    /** PostgreSQL: `auto` uses pgvector when the server has it, `exact` always scans exactly. */
    postgresVector: z.enum(['auto', 'exact']).default('auto'),
  })
  .prefault({});

export type RagConfig = z.infer<typeof ragConfigSchema>;
