// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the authentication services one gateway instance (or one CLI run) needs from the
 * configuration and the store: API-key and OIDC authenticators, console sessions and sign-in,
 * administration, rate limits, and the revocation bus — over Redis when `redis.url` is set,
 * in-process otherwise.
 */
import type { AuditWriter } from '../audit/writer.js';
import type { PhigateConfig } from '../config/schema.js';
import type { Clock } from '../kernel/clock.js';
import { uuidv7 } from '../kernel/ids.js';
import { createLimiter, type Limiter } from '../limits/limiter.js';
import { createMemoryCounterStore, createRedisCounterStore } from '../limits/counter-store.js';
import { createCredentialRepo, type CredentialRepo } from '../store/repos/credential-repo.js';
import { createSessionRepo } from '../store/repos/session-repo.js';
import type { OpenedStore } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { createAdminService, type AdminService } from './admin.js';
import { createApiKeyAuthenticator, type ApiKeyAuthenticator } from './api-keys.js';
import { createAuthenticator, type Authenticator } from './authenticator.js';
import { createJwtAuthenticator, type JwtAuthenticator } from './jwt.js';
import { createLoginService, type LoginService } from './login.js';
import { createRedisClient, type Redis } from './redis.js';
import { createLocalRevocationBus, createRedisRevocationBus, type RevocationBus } from './revocation-bus.js';
import { createRedisSessionStore, createSessionManager, type SessionManager } from './sessions.js';
import { createStoreApiKeyLookup } from './store-lookup.js';

export interface AuthServices {
  readonly apiKeys: ApiKeyAuthenticator;
  readonly jwt: JwtAuthenticator | undefined;
  readonly authenticator: Authenticator;
  readonly credentials: CredentialRepo;
  readonly sessions: SessionManager;
  readonly login: LoginService;
  readonly admin: AdminService;
  readonly limits: Limiter;
  readonly revocations: RevocationBus;
  close(): Promise<void>;
}

export interface AuthServicesOptions {
  readonly config: PhigateConfig;
  readonly store: OpenedStore;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instanceId: string;
  /** scrypt cost (log2 N) for new password hashes; lowered by tests. */
  readonly passwordCostLog2?: number;
}

export async function createAuthServices(options: AuthServicesOptions): Promise<AuthServices> {
  const { config, store, clock, logger } = options;
  const keyedHash = (value: string, purpose: string): string => store.fieldCrypto.blindIndex(value, purpose);
  const hashSecret = (secret: string): string => keyedHash(secret, 'api-key');
  const credentials = createCredentialRepo(store.db);
  const apiKeys = createApiKeyAuthenticator({ lookup: createStoreApiKeyLookup(store), hashSecret, clock, cacheTtlMs: config.auth.apiKeys.cacheTtlMs });

  let redis: Redis | undefined;
  let revocations: RevocationBus;
  const onRevoked = (keyId: string): void => apiKeys.forget(keyId);
  if (config.redis.url) {
    redis = createRedisClient(config.redis.url);
    redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
    revocations = await createRedisRevocationBus(config.redis.url, { onRevoked, onError: (err) => logger.warn({ err }, 'redis revocation bus error') });
  } else {
    revocations = createLocalRevocationBus({ onRevoked });
  }

  const oidc = config.auth.oidc;
  const admin = (sessions: SessionManager): AdminService =>
    createAdminService({
      users: store.users,
      apiKeys: store.apiKeys,
      credentials,
      fieldCrypto: store.fieldCrypto,
      hashSecret,
      keyedHash,
      audit: options.audit,
      revocations,
      sessions,
      clock,
      instanceId: options.instanceId,
      rotationOverlapMs: config.auth.apiKeys.rotationOverlapMs,
      ...(options.passwordCostLog2 === undefined ? {} : { passwordCostLog2: options.passwordCostLog2 }),
    });
  // Provisioning is done by phigate itself on the strength of the token; the audit record says so.
  const system = { requestId: 'oidc-provisioning', actor: { userId: 'system:oidc', kind: 'service', roles: [], authMethod: 'jwt' } } as const;
  const jwt = oidc
    ? createJwtAuthenticator({
        config: oidc,
        users: store.users,
        isRevoked: (hash) => credentials.isTokenRevoked(hash),
        keyedHash,
        clock,
        onProvisioned: async (user) => {
          await options.audit.append({
            id: uuidv7(clock.now()),
            recordedAt: new Date(clock.now()).toISOString(),
            type: 'user.create',
            stage: 'completed',
            outcome: 'success',
            requestId: system.requestId,
            status: 200,
            actor: system.actor,
            instance: options.instanceId,
            subject: { kind: 'user', id: user.id },
            change: { roles: user.roles, provisionedFrom: 'oidc' },
          } as Parameters<AuditWriter['append']>[0]);
        },
      })
    : undefined;
  const sessions = createSessionManager({
    store: redis ? createRedisSessionStore(redis) : createSessionRepo(store.db),
    clock,
    idleTimeoutMs: config.auth.console.idleTimeoutMs,
    absoluteLifetimeMs: config.auth.console.absoluteLifetimeMs,
  });
  const login = createLoginService({
    users: store.users,
    credentials,
    fieldCrypto: store.fieldCrypto,
    sessions,
    keyedHash,
    clock,
    config: config.auth.console,
    ...(options.passwordCostLog2 === undefined ? {} : { passwordCostLog2: options.passwordCostLog2 }),
  });
  const limits = createLimiter({ config: config.limits, store: redis ? createRedisCounterStore(redis) : createMemoryCounterStore(), clock });
  const authenticator = createAuthenticator({ apiKeys, jwt, users: store.users, delegations: credentials });

  return {
    apiKeys,
    jwt,
    authenticator,
    credentials,
    sessions,
    login,
    admin: admin(sessions),
    limits,
    revocations,
    async close() {
      await revocations.close();
      if (redis) await redis.quit().catch(() => undefined);
    },
  };
}
