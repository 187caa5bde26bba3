// SPDX-License-Identifier: Apache-2.0
/**
 * The document services over a real database for tests: migrations, the production field crypto
 * over an in-memory KMS, the real de-identification engine, the index of the database's dialect,
 * the echo provider for embeddings (deterministic vectors, reached through the egress door) and a
 * memory audit sink whose records the test can read.
 */
import { vector } from '@electric-sql/pglite-pgvector';
import type { Kysely } from 'kysely';
import { createMemoryAuditSink, type MemoryAuditSink } from '../../audit/testing/memory-sink.js';
import { createAuditWriter, type AuditWriter } from '../../audit/writer.js';
import { configSchema } from '../../config/schema.js';
import { createFieldCrypto, type EnvelopeFieldCrypto } from '../../crypto/envelope.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import { createDeidEngine, type DeidEngine } from '../../deid/detect.js';
import { createDeidentifier, type Deidentifier } from '../../deid/deidentify.js';
import { createProviders } from '../../providers/registry.js';
import { createEndpointDirectory } from '../../registry/endpoints.js';
import { createMemoryRegistry } from '../../registry/testing/memory-registry.js';
import { migrateToLatest } from '../../store/migrate.js';
import { createDataKeyRepo } from '../../store/repos/data-key-repo.js';
import type { Database } from '../../store/schema.js';
import { createPgliteServer, type PgliteServer } from '../../store/testing/pglite.js';
import { createDocumentServices, type DocumentServices } from '../runtime.js';

let engine: DeidEngine | undefined;

/** One detection engine per test process (building it takes a few hundred milliseconds). */
export function sharedDeidEngine(): DeidEngine {
  return (engine ??= createDeidEngine({ language: 'en' }));
}

export interface RagHarness extends DocumentServices {
  readonly db: Kysely<Database>;
  readonly fieldCrypto: EnvelopeFieldCrypto;
  readonly deidentifier: Deidentifier;
  readonly sink: MemoryAuditSink;
  readonly audit: AuditWriter;
  readonly keyedHash: (value: string, purpose: string) => string;
  close(): Promise<void>;
}

export interface RagHarnessOptions {
  /** A migrated or empty database; the harness migrates it. */
  readonly db: Kysely<Database>;
  /** Embed with the echo provider (`embed` model, 256 dimensions). Default true. */
  readonly embeddings?: boolean;
  /** Extra `rag` configuration. */
  readonly rag?: Record<string, unknown>;
  /** Extra endpoints (zod input form) besides the echo embedding endpoint. */
  readonly endpoints?: readonly Record<string, unknown>[];
  readonly embeddingModel?: string;
  readonly now?: () => number;
  readonly postgresVector?: 'auto' | 'exact';
  /** Environment for secret references of extra endpoints. */
  readonly env?: NodeJS.ProcessEnv;
}

export async function createRagHarness(options: RagHarnessOptions): Promise<RagHarness> {
  const { db } = options;
  await migrateToLatest(db);
  const embeddings = options.embeddings ?? true;
  const config = configSchema.parse({
    endpoints: [{ id: 'echo-embed', kind: 'echo', models: [{ name: 'embed', capabilities: ['embeddings'] }] }, ...(options.endpoints ?? [])],
    rag: {
      ...(embeddings ? { embeddingModel: options.embeddingModel ?? 'embed' } : {}),
      ...(options.postgresVector === undefined ? {} : { postgresVector: options.postgresVector }),
      ...options.rag,
    },
  });
  const providers = createProviders(config.endpoints, { baseDir: '/tmp', env: options.env ?? {} });
  const endpoints = createEndpointDirectory(config.endpoints, providers);
  const fieldCrypto = await createFieldCrypto({ kms: createMemoryKms(), keyStore: createDataKeyRepo(db) });
  const deidentifier = createDeidentifier({ detector: sharedDeidEngine() });
  const sink = createMemoryAuditSink();
  const audit = await createAuditWriter({ sink, writeTimeoutMs: 2000 });
  const keyedHash = (value: string, purpose: string): string => fieldCrypto.blindIndex(value, purpose);
  const clock = { now: options.now ?? Date.now };
  const services = await createDocumentServices({
    config,
    store: { db, fieldCrypto },
    endpoints,
    registry: createMemoryRegistry(),
    deidentifier,
    audit,
    clock,
    keyedHash,
    instanceId: 'test',
    logger: { info: () => undefined, warn: () => undefined },
  });
  return {
    ...services,
    db,
    fieldCrypto,
    deidentifier,
    sink,
    audit,
    keyedHash,
    async close() {
      await audit.drain();
      await Promise.all([...providers.values()].map((p) => p.close()));
      await db.destroy();
    },
  };
}

/**
 * PGlite with the pgvector extension behind Kysely's PostgresDialect, one schema per database
 * (store/testing/pglite.ts with the extension loaded; it lives in public, so every schema's
 * search path can see its types).
 */
export type PgliteVectorServer = PgliteServer;

export function createPgliteVectorServer(): PgliteVectorServer {
  return createPgliteServer({
    extensions: { vector },
    setupSql: 'create extension if not exists vector schema public',
    alsoSearch: ['public'],
    schemaPrefix: 'rag',
  });
}
