// SPDX-License-Identifier: Apache-2.0
/**
 * API keys: `phigate_<keyId>_<secret>`. The prefix makes a leaked key easy to find with secret
 * scanners; the key id locates the row; only a keyed hash (HMAC-SHA-256) of the 256-bit secret
 * is stored, compared in constant time. The secret is shown once, at creation.
 */
import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import { randomToken } from '../kernel/ids.js';
import type { Principal } from './principal.js';

export const apiKeyPrefix = 'phigate_';
const keyIdPattern = /^[a-z0-9]{12}$/;
const secretPattern = /^[A-Za-z0-9_-]{43}$/;
const keyIdAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The stored form of a key, as the authenticator needs it. */
export interface StoredApiKey {
  readonly id: string;
  readonly userId: string;
  readonly userKind: 'user' | 'service';
  readonly secretHash: string;
  readonly roles: readonly string[];
  readonly useCases: readonly string[];
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  /** The owner's organisational unit, when known. */
  readonly orgUnit?: string | undefined;
}

export interface ApiKeyLookup {
  findForAuthentication(keyId: string): Promise<StoredApiKey | undefined>;
  /** Records use; implementations may batch, since it is not security-relevant. */
  touchLastUsed(keyId: string, at: number): void;
}

/** Keyed hash of a key secret; the key is a blind-index key held by the KMS. */
export type SecretHasher = (secret: string) => string;

export interface ParsedApiKey {
  readonly keyId: string;
  readonly secret: string;
}

/** Splits a presented key; returns undefined for anything that is not shaped like a phigate key. */
export function parseApiKey(presented: string): ParsedApiKey | undefined {
  if (!presented.startsWith(apiKeyPrefix)) return undefined;
  const rest = presented.slice(apiKeyPrefix.length);
  const keyId = rest.slice(0, 12);
  const secret = rest.slice(13);
  if (rest[12] !== '_' || !keyIdPattern.test(keyId) || !secretPattern.test(secret)) return undefined;
  return { keyId, secret };
}

/** Makes a new key: the full value to show once, and its id and hash to store. */
export function generateApiKey(hashSecret: SecretHasher): { key: string; keyId: string; secretHash: string } {
  const bytes = randomToken(12);
  let keyId = '';
  for (let i = 0; i < 12; i++) keyId += keyIdAlphabet[bytes.charCodeAt(i) % keyIdAlphabet.length];
  const secret = randomToken(32);
  return { key: `${apiKeyPrefix}${keyId}_${secret}`, keyId, secretHash: hashSecret(secret) };
}

export interface ApiKeyAuthenticatorOptions {
  readonly lookup: ApiKeyLookup;
  readonly hashSecret: SecretHasher;
  readonly clock: Clock;
  /** How long a looked-up key is trusted before it is read again; bounds revocation delay. */
  readonly cacheTtlMs?: number;
  readonly cacheSize?: number;
}

export interface ApiKeyAuthenticator {
  authenticate(presented: string): Promise<Principal>;
  /** Drops a key from this instance's cache, e.g. after revocation. */
  forget(keyId: string): void;
}

/**
 * Verifies presented keys. Unknown, malformed and wrong keys all get the same `unauthenticated`
 * answer so a caller cannot learn which key ids exist; only a correct secret reaches the
 * expired/revoked answers.
 */
export function createApiKeyAuthenticator(options: ApiKeyAuthenticatorOptions): ApiKeyAuthenticator {
  const ttl = options.cacheTtlMs ?? 30_000;
  const maxEntries = options.cacheSize ?? 10_000;
  const cache = new Map<string, { key: StoredApiKey | undefined; loadedAt: number }>();

  async function load(keyId: string, now: number): Promise<StoredApiKey | undefined> {
    const cached = cache.get(keyId);
    if (cached && now - cached.loadedAt < ttl) return cached.key;
    const key = await options.lookup.findForAuthentication(keyId);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(keyId, { key, loadedAt: now });
    return key;
  }

  return {
    async authenticate(presented) {
      const now = options.clock.now();
      const parsed = parseApiKey(presented);
      // Hash even when the shape is wrong, so timing does not reveal which check failed.
      const presentedHash = Buffer.from(options.hashSecret(parsed?.secret ?? presented), 'hex');
      if (!parsed) throw new GatewayError('unauthenticated');
      const stored = await load(parsed.keyId, now);
      const storedHash = Buffer.from(stored?.secretHash ?? '', 'hex');
      const matches = storedHash.length === presentedHash.length && timingSafeEqual(storedHash, presentedHash);
      if (!stored || !matches) throw new GatewayError('unauthenticated');
      if (stored.revokedAt !== null && stored.revokedAt <= now) throw new GatewayError('api_key_revoked');
      if (stored.expiresAt !== null && stored.expiresAt <= now) throw new GatewayError('api_key_expired');
      options.lookup.touchLastUsed(stored.id, now);
      return {
        userId: stored.userId,
        kind: stored.userKind,
        roles: stored.roles,
        authMethod: 'api_key',
        apiKeyId: stored.id,
        useCases: stored.useCases,
        ...(stored.orgUnit === undefined ? {} : { orgUnit: stored.orgUnit }),
      };
    },
    forget(keyId) {
      cache.delete(keyId);
    },
  };
}
