// SPDX-License-Identifier: Apache-2.0
/**
 * The composition root: state folder → configuration → KMS → store → providers → audit →
 * app → HTTPS server. `initHome` makes a new state folder; `startGateway` serves one.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { stopAccessService } from './access/service.js';
import { buildApp } from './app.js';
import { anomalyAuditEvents, runAnomalyScan, scheduleAnomalyScans, storeAnomalyReport } from './audit/anomaly.js';
import { createAuditWriter } from './audit/writer.js';
import { auditToolEventTypes } from './audit/catalogue.js';
import { createInferenceContentLog } from './audit/retention.js';
import { startAuditCheckpoints } from './audit/checkpoints.js';
import { createSqlAuditSink } from './audit/sql-sink.js';
import { createSqliteWorkerSink } from './audit/sqlite-worker-sink.js';
import { createConfiguredWitnesses } from './audit/witness.js';
import { generateApiKey } from './auth/api-keys.js';
import { createAuthServices } from './auth/runtime.js';
import { loadConfig } from './config/load.js';
import type { PhigateConfig } from './config/schema.js';
import { createKms } from './crypto/kms/index.js';
import { resolveSecret } from './config/secrets.js';
import { createFhirContextSource } from './fhir/context.js';
import { createSelfSignedCertificate, loadTlsMaterial } from './http/tls.js';
import { systemClock } from './kernel/clock.js';
import { configFileName } from './kernel/home.js';
import { uuidv7 } from './kernel/ids.js';
import { createProviders } from './providers/registry.js';
import { createDocumentServices } from './rag/runtime.js';
import { createDeidEngine } from './deid/detect.js';
import { createDeidentifier } from './deid/deidentify.js';
import { createEncryptedTokenVault } from './deid/token-vault.js';
import { deidPolicies } from './deid/transforms/apply.js';
import type { PhiCategory } from './deid/types.js';
import { createEndpointDirectory } from './registry/endpoints.js';
import { createRegistryView } from './registry/registry-store.js';
import { runBaaExpiryCheck, scheduleBaaExpiryChecks } from './registry/baa-expiry.js';
import { vendorServiceFor } from './registry/vendors.js';
import { createVendorRepo } from './store/repos/vendor-repo.js';
import { createTokenVaultRepo } from './store/repos/token-vault-repo.js';
import { parseStoreUrl } from './store/db.js';
import { openStore, type OpenedStore } from './store/store.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { createMetrics } from './telemetry/metrics.js';
import type { GatewayDeps } from './gateway/pipeline/context.js';

/** Resolves a path from the config against the state folder. */
export function inHome(home: string, path: string): string {
  return isAbsolute(path) ? path : resolve(home, path);
}

const configTemplate = `# phigate configuration. Every option, its default and its meaning: docs/config.md.
# Secrets are references (env:NAME or file:PATH), never values.
server:
  host: 127.0.0.1
  port: 8443
  tls:
    enabled: true
    certFile: tls/cert.pem
    keyFile: tls/key.pem
store:
  url: sqlite:phigate.db
kms:
  kind: local
  keyFile: keys/local-kek
logging:
  level: info
# The built-in echo endpoint answers with exactly what a vendor would have received.
# Add real vendors here; see the README ("Configure a real vendor").
endpoints:
  - id: echo
    kind: echo
    models:
      - name: echo
        capabilities: [chat, embeddings]
`;

export interface InitResult {
  readonly home: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly caCertPath: string;
  readonly adminUserId: string;
}

/** Whether a state folder has been initialised. */
export function isInitialised(home: string): boolean {
  return existsSync(join(home, configFileName));
}

/**
 * Creates a state folder: configuration, key file (0600), self-signed certificate, database
 * with its first admin user, and that user's API key — returned once, never stored in clear.
 */
export async function initHome(home: string, env: NodeJS.ProcessEnv = process.env): Promise<InitResult> {
  if (isInitialised(home)) throw new Error(`${home} is already initialised (found ${configFileName}); choose another --home or remove it`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, '.gitignore'), '*\n', { mode: 0o600 });
  writeFileSync(join(home, configFileName), configTemplate, { mode: 0o600 });
  const config = loadConfig({ home, env });
  const kms = await createKms(config.kms, { baseDir: home, env, createLocalKeyFile: true });
  const certFile = inHome(home, config.server.tls.certFile);
  if (config.server.tls.enabled) await createSelfSignedCertificate(certFile, inHome(home, config.server.tls.keyFile));
  const store = await openStore({ url: config.store.url, baseDir: home, kms });
  try {
    const adminUserId = uuidv7();
    await store.users.create({ id: adminUserId, name: 'admin', roles: ['admin'], kind: 'user' });
    const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
    await store.apiKeys.create({ id: key.keyId, userId: adminUserId, secretHash: key.secretHash, roles: ['admin'], useCases: [] });
    return { home, baseUrl: baseUrlOf(config), apiKey: key.key, caCertPath: certFile, adminUserId };
  } finally {
    await store.close();
  }
}

function baseUrlOf(config: PhigateConfig, port: number = config.server.port): string {
  const scheme = config.server.tls.enabled ? 'https' : 'http';
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return `${scheme}://${host}:${port}/v1`;
}

export interface StartOptions {
  readonly home: string;
  readonly host?: string;
  readonly port?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Where logs go; stdout by default. */
  readonly logger?: Logger;
  /** The output filter's source of a patient's identifiers when no FHIR context supplies them (see filter-output.ts). */
  readonly patientPhiSource?: GatewayDeps['patientPhiSource'];
}

export interface RunningGateway {
  readonly baseUrl: string;
  readonly port: number;
  readonly config: PhigateConfig;
  readonly store: OpenedStore;
  readonly logger: Logger;
  /** Stops accepting, lets in-flight requests and streams finish (up to the grace period), then closes everything. */
  close(): Promise<void>;
}

/**
 * Loads everything and listens. Configuration errors throw before any port is opened; the
 * caller prints them and exits non-zero.
 */
export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const env = options.env ?? process.env;
  const loaded = loadConfig({ home: options.home, env });
  const config: PhigateConfig = {
    ...loaded,
    server: { ...loaded.server, host: options.host ?? loaded.server.host, port: options.port ?? loaded.server.port },
  };
  const logger = options.logger ?? createLogger({ level: config.logging.level });
  const metrics = createMetrics();
  const tls = config.server.tls.enabled
    ? loadTlsMaterial(inHome(options.home, config.server.tls.certFile), inHome(options.home, config.server.tls.keyFile))
    : undefined;
  const providers = createProviders(config.endpoints, { baseDir: options.home, env, proxyUrl: config.egress.proxyUrl });
  // The EHR's FHIR server for minimum-necessary context; its signing key reference is resolved here, so a bad one fails at boot.
  const fhirContext = config.fhir === undefined ? undefined : createFhirContextSource(config.fhir, { fetch: globalThis.fetch, clock: systemClock, secret: (ref) => resolveSecret(ref, options.home, env) });
  const kms = await createKms(config.kms, { baseDir: options.home, env });
  const store = await openStore({
    url: config.store.url,
    baseDir: options.home,
    sqliteSync: config.store.sqliteSync,
    kms,
    onBackgroundError: (err) => logger.warn({ err }, 'background store write failed'),
  });
  // A SQLite file is committed from a writer thread, so no fsync or lock wait blocks the event loop.
  const storeTarget = parseStoreUrl(config.store.url, options.home);
  const workerSink = storeTarget.kind === 'sqlite' ? createSqliteWorkerSink(storeTarget.path, { sync: config.store.sqliteSync }) : undefined;
  const audit = await createAuditWriter({
    sink: workerSink ?? createSqlAuditSink(store.db),
    writeTimeoutMs: config.audit.writeTimeoutMs,
    onCommit: (records, seconds) => {
      metrics.auditBatchSize.observe(records);
      metrics.auditAppendDuration.observe(seconds);
    },
    onFailure: (err) => logger.error({ err }, 'audit commit failed'),
  });
  const checkpoints = await startAuditCheckpoints({
    db: store.db,
    fieldCrypto: store.fieldCrypto,
    intervalMs: config.audit.checkpointIntervalMs,
    witnesses: createConfiguredWitnesses(config.audit.witness, options.home, env),
    onError: (err) => logger.warn({ err }, 'audit checkpoint failed'),
  });
  const vault = createEncryptedTokenVault({ repo: createTokenVaultRepo<PhiCategory>(store.db), crypto: store.fieldCrypto, ttlMs: config.deid.tokenTtlMs });
  const deidentifier = createDeidentifier({
    detector: createDeidEngine({ language: config.deid.language }),
    policy: deidPolicies[config.deid.policy],
    vault,
    // Surrogate and date-shift secrets derive from the KMS-held index key, so no separate secret is stored.
    key: store.fieldCrypto.blindIndex('deid-transform-key', 'deid'),
  });
  const instanceId = `${hostname()}:${process.pid}`;
  const auth = await createAuthServices({ config, store, audit, clock: systemClock, logger, instanceId });
  // Missing catalogue entries are inserted unsigned; a failure leaves them missing (nothing covered), so start anyway.
  await vendorServiceFor({ config, store, audit, clock: systemClock, instanceId })
    .ensureCatalogue({ requestId: `start-${uuidv7()}` })
    .catch((err: unknown) => logger.error({ err }, 'vendor catalogue could not be seeded'));
  const baaExpiry = scheduleBaaExpiryChecks(
    () => runBaaExpiryCheck({ repo: createVendorRepo(store.db), audit, clock: systemClock, instanceId, logger }),
    (err) => logger.error({ err }, 'BAA expiry check failed'),
  );
  // Inference content of use cases that keep it; the same hourly tick destroys day keys past
  // audit.contentRetentionDays and deletes rows past their use case's shorter retention (a use
  // case asking for longer is capped by the day-key schedule).
  const contentLog = createInferenceContentLog({ db: store.db, kms, now: () => Date.now(), retentionDays: config.audit.contentRetentionDays });
  const contentPurge = scheduleBaaExpiryChecks(
    async () => {
      const now = Date.now();
      const result = await contentLog.purge();
      if (result.daysDestroyed.length === 0 && result.rowsDeleted === 0) return;
      await audit.append({
        id: uuidv7(now),
        recordedAt: new Date(now).toISOString(),
        type: auditToolEventTypes.contentPurge,
        stage: 'completed',
        outcome: 'success',
        status: 200,
        requestId: `purge-${uuidv7(now)}`,
        instance: instanceId,
        detail: { days: result.daysDestroyed.length, rows: result.rowsDeleted, held: result.daysHeld.length },
      });
    },
    (err) => logger.error({ err }, 'inference content purge failed'),
  );
  const scanIntervalMs = config.audit.anomalyScanIntervalDays * 86_400_000;
  const anomalyScans = scheduleAnomalyScans(
    scanIntervalMs,
    async () => {
      const now = Date.now();
      const report = await runAnomalyScan(store.db, { since: now - scanIntervalMs, until: now, now });
      await storeAnomalyReport(store.db, report);
      for (const event of anomalyAuditEvents(report, { instance: instanceId, now, requestId: `scan-${report.id}` })) await audit.append(event);
    },
    (err) => logger.error({ err }, 'anomaly scan failed'),
  );
  // Documents and patient-scoped retrieval; on PostgreSQL pgvector is checked here, and a bad rag.embeddingModel fails at boot.
  const documents = await createDocumentServices({
    config,
    store,
    endpoints: createEndpointDirectory(config.endpoints, providers),
    registry: createRegistryView(store.db),
    deidentifier,
    audit,
    clock: systemClock,
    keyedHash: (value, purpose) => store.fieldCrypto.blindIndex(value, purpose),
    instanceId,
    logger,
  });
  let shuttingDown = false;
  const app = buildApp({
    config,
    logger,
    metrics,
    clock: systemClock,
    apiKeys: auth.apiKeys,
    auth: auth.authenticator,
    limits: auth.limits,
    authServices: auth,
    audit,
    endpoints: createEndpointDirectory(config.endpoints, providers),
    registry: createRegistryView(store.db),
    keyedHash: (value, purpose) => store.fieldCrypto.blindIndex(value, purpose),
    instanceId,
    deid: { deidentifier, vault },
    store,
    ...(options.patientPhiSource === undefined ? {} : { patientPhiSource: options.patientPhiSource }),
    ...(fhirContext === undefined ? {} : { fhirContext }),
    documents,
    retriever: documents.retriever,
    contentLog,
    isReady: async () => {
      if (shuttingDown) return false;
      await store.users.findById('readiness-probe');
      return true;
    },
  });

  /** Closes everything behind the HTTP server, in dependency order. */
  async function release(): Promise<void> {
    await baaExpiry.stop();
    await contentPurge.stop();
    await audit.drain();
    await workerSink?.close();
    await checkpoints.close();
    await Promise.allSettled([...providers.values()].map((provider) => provider.close()));
    await auth.close();
    anomalyScans.stop();
    await stopAccessService(store);
    await store.close();
  }

  let server: Server;
  try {
    server = await new Promise<Server>((resolveServer, reject) => {
      const created = serve(
        {
          fetch: app.fetch,
          hostname: config.server.host,
          port: config.server.port,
          ...(tls
            ? { createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key, minVersion: config.server.tls.minVersion } }
            : {}),
        },
        () => resolveServer(created as Server),
      );
      created.once('error', reject);
    });
  } catch (err) {
    shuttingDown = true;
    await release();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new Error(`cannot listen on ${config.server.host}:${config.server.port} (${code}); choose another with --host/--port or server.host/server.port`, { cause: err });
    }
    throw err;
  }
  server.requestTimeout = config.server.requestTimeoutMs;
  server.headersTimeout = Math.min(60_000, config.server.requestTimeoutMs);
  const port = (server.address() as AddressInfo).port;
  const baseUrl = baseUrlOf(config, port);

  async function close(): Promise<void> {
    shuttingDown = true;
    const closed = new Promise<void>((done) => server.close(() => done()));
    // Keep-alive connections become idle as their last response ends; close them as they do.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const grace = setTimeout(() => server.closeAllConnections(), config.server.shutdownGraceMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(grace);
    await release();
  }

  return { baseUrl, port, config, store, logger, close };
}
