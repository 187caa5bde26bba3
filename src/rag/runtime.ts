// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the document services from the configuration, once per process: the index for the
 * store's database (SQLite or PostgreSQL, pgvector checked at start), the embedder when
 * `rag.embeddingModel` is set, the ingester and the retriever. The gateway (main.ts) and the CLI
 * (`phigate documents`) both start here.
 */
import type { AuditWriter } from '../audit/writer.js';
import type { PhigateConfig } from '../config/schema.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Deidentifier } from '../deid/deidentify.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError } from '../kernel/errors.js';
import { authorizeEgress, createResidualDetector } from '../policy/egress.js';
import type { EndpointDirectory } from '../registry/endpoints.js';
import type { RegistrySnapshot, RegistryView } from '../registry/registry-view.js';
import { dialectOf } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Kysely } from 'kysely';
import { createDocumentIngester, type DocumentIngester, type DocumentLimits } from './documents.js';
import { createEmbedder, type EmbedEgress, type Embedder } from './embed.js';
import { createPostgresDocumentIndex } from './index/postgres-index.js';
import { createSqliteDocumentIndex } from './index/sqlite-index.js';
import { createRetriever } from './retrieve.js';
import type { Retriever } from './retriever.js';
import type { DocumentIndex } from './vector-index.js';

export interface DocumentServicesDeps {
  readonly config: Pick<PhigateConfig, 'rag' | 'policy'>;
  readonly store: { readonly db: Kysely<Database>; readonly fieldCrypto: FieldCrypto };
  readonly endpoints: EndpointDirectory;
  /** Read at every embedding call, so the door sees the BAA registry as it is then. */
  readonly registry: RegistryView;
  /** The gateway's de-identifier; documents use it with their own policy (typed redaction, no vault). */
  readonly deidentifier: Deidentifier;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly instanceId: string;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

export interface DocumentServices {
  readonly index: DocumentIndex;
  readonly embedder: Embedder | undefined;
  readonly ingester: DocumentIngester;
  readonly retriever: Retriever;
  readonly limits: DocumentLimits;
}

/** The limits of the configuration's `rag` section. */
export function documentLimitsOf(config: Pick<PhigateConfig, 'rag'>): DocumentLimits {
  return {
    maxBytes: config.rag.maxDocumentBytes,
    maxChunks: config.rag.maxChunksPerDocument,
    chunkChars: config.rag.chunkChars,
    overlapChars: Math.min(config.rag.chunkOverlapChars, Math.floor(config.rag.chunkChars / 2)),
  };
}

/** The registry as of now, or `registry_unavailable` after `timeoutMs`: the door never decides on stale facts. */
async function readRegistryWithin(registry: RegistryView, timeoutMs: number): Promise<RegistrySnapshot> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayError('registry_unavailable', { detail: { reason: 'timeout', timeoutMs } })), timeoutMs);
  });
  try {
    return await Promise.race([registry.snapshot(), deadline]);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('registry_unavailable', { cause: err, detail: { reason: 'read_failed' } });
  } finally {
    clearTimeout(timer);
  }
}

/** Builds and starts the document services; throws when `rag.embeddingModel` names no embeddings model. */
export async function createDocumentServices(deps: DocumentServicesDeps): Promise<DocumentServices> {
  const { config, store, logger } = deps;
  const index =
    dialectOf(store.db) === 'sqlite'
      ? createSqliteDocumentIndex(store.db)
      : createPostgresDocumentIndex(store.db, {
          vector: config.rag.postgresVector,
          onMode: (mode, reason) => {
            if (mode === 'pgvector') logger.info({ vectorSearch: 'pgvector', reason }, 'documents: vector search uses pgvector (HNSW)');
            else logger.warn({ vectorSearch: 'exact', reason }, 'documents: pgvector is not in use, so vector search is an exact scan of the patient\'s chunks (correct, slower at scale); install pgvector to index vectors');
          },
        });
  await index.init();
  const model = config.rag.embeddingModel;
  const detector = createResidualDetector(deps.deidentifier);
  const egress: EmbedEgress = async (endpoint, payload, sensitivity) => {
    const approval = await authorizeEgress(endpoint, payload, 'deidentified', {
      snapshot: await readRegistryWithin(deps.registry, config.policy.registryTimeoutMs),
      now: deps.clock.now(),
      sensitivity,
      hivRequiresSelfHosted: config.policy.hivRequiresSelfHosted,
      detector,
    });
    return approval.outbound;
  };
  const embedder = model === undefined ? undefined : createEmbedder({ endpoints: deps.endpoints, egress, model, batchSize: config.rag.embeddingBatchSize, now: deps.clock.now });
  if (embedder === undefined) logger.info({ vectorSearch: 'off' }, 'documents: no rag.embeddingModel is configured, so retrieval is full text (BM25) only');
  else logger.info({ embeddingModel: embedder.model, endpoint: embedder.endpointId }, 'documents: hybrid retrieval (full text and vectors, fused by rank)');
  const limits = documentLimitsOf(config);
  const ingester = createDocumentIngester({ db: store.db, fieldCrypto: store.fieldCrypto, deidentifier: deps.deidentifier, index, embedder, limits, clock: deps.clock });
  const retriever = createRetriever({
    db: store.db,
    fieldCrypto: store.fieldCrypto,
    index,
    deidentifier: deps.deidentifier,
    embedder,
    audit: deps.audit,
    clock: deps.clock,
    keyedHash: deps.keyedHash,
    instanceId: deps.instanceId,
    logger,
    maxQueryChars: config.rag.maxQueryChars,
    candidates: config.rag.candidates,
  });
  return { index, embedder, ingester, retriever, limits };
}
