// SPDX-License-Identifier: Apache-2.0
/**
 * SMART on FHIR Backend Services (hl7.org/fhir/smart-app-launch/backend-services.html): phigate
 * authenticates to the EHR as a confidential system client. It discovers the token endpoint at
 * `<base>/.well-known/smart-configuration`, signs a client assertion (RFC 7523: `iss = sub =
 * client_id`, `aud` = the token URL, `exp` at most five minutes ahead, a unique `jti`, the `kid`
 * of our registered public key) with RS384 or ES384, and exchanges it with
 * `grant_type=client_credentials` for an access token limited to the scopes the request needs.
 *
 * Scopes are minimal: `system/<Type>.rs` (SMART v2; `.read` in v1) for exactly the resource
 * types a use case reads, plus Patient. Tokens are cached per scope set until shortly before they
 * expire; concurrent callers share one exchange. The private key and the tokens never appear in
 * logs, errors or audit records.
 */
import { createPrivateKey, createPublicKey, randomUUID, type JsonWebKey as NodeJwk } from 'node:crypto';
import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK, type KeyObject } from 'jose';
import { z } from 'zod';
import { GatewayError } from '../kernel/errors.js';
import { exchange, isJsonContentType, parseJsonObject, type CallBudget, type HttpOptions } from './http.js';

export type SmartAlgorithm = 'RS384' | 'ES384';
export type SmartScopeVersion = 'v2' | 'v1';

/** Client assertions live this long (the specification allows at most five minutes). */
export const assertionLifetimeSec = 240;

const clientAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * The scopes a request needs: read and search on each resource type, plus Patient, deduplicated
 * and sorted (so equal needs share one cached token).
 */
export function smartScopes(resourceTypes: readonly string[], version: SmartScopeVersion = 'v2'): readonly string[] {
  const types = new Set(['Patient', ...resourceTypes]);
  const suffix = version === 'v2' ? 'rs' : 'read';
  return [...types].sort().map((type) => `system/${type}.${suffix}`);
}

const discoverySchema = z.object({
  token_endpoint: z.string().min(1),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
  grant_types_supported: z.array(z.string()).optional(),
});

const tokenSchema = z.object({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().int().positive().max(86_400).optional(),
  scope: z.string().optional(),
});

export interface SmartBackendOptions {
  /** The FHIR base URL; discovery is `<baseUrl>/.well-known/smart-configuration`. */
  readonly baseUrl: string;
  readonly clientId: string;
  /** The resolved private key: PKCS#8 PEM or a private JWK (JSON). */
  readonly privateKey: string;
  readonly keyId: string;
  readonly algorithm: SmartAlgorithm;
  /** Use this token endpoint instead of the discovered one. */
  readonly tokenUrl?: string | undefined;
  readonly http: HttpOptions;
  /** A token is renewed this long before it expires (at most half its lifetime). Default 60 s. */
  readonly refreshMarginMs?: number;
  /** How long a discovery document is reused. Default 1 hour. */
  readonly discoveryTtlMs?: number;
}

export interface SmartBackendAuth {
  /** A bearer token granted (at least) `scopes`; from cache while it has more than the margin left. */
  accessToken(scopes: readonly string[], budget: CallBudget): Promise<string>;
  /** Forgets the cached token for `scopes` (after the server answered 401 to it). */
  invalidate(scopes: readonly string[]): void;
}

interface CachedToken {
  readonly token: string;
  readonly renewAt: number;
}

function isAllowedEndpoint(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.username !== '' || url.password !== '') return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
  } catch {
    return false;
  }
}

/** Waits for `promise`, giving up early when the caller's signal aborts or the deadline passes. */
function within<T>(promise: Promise<T>, budget: CallBudget, now: () => number, stage: 'token'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const remaining = budget.deadline - now();
    const timer = setTimeout(() => {
      cleanup();
      reject(new GatewayError('fhir_timeout', { detail: { stage, limit: 'deadline' } }));
    }, Math.max(0, remaining));
    const onAbort = (): void => {
      cleanup();
      reject(new GatewayError('client_disconnected'));
    };
    function cleanup(): void {
      clearTimeout(timer);
      budget.signal.removeEventListener('abort', onAbort);
    }
    if (budget.signal.aborted) return onAbort();
    budget.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err instanceof Error ? err : new Error('token exchange failed'));
      },
    );
  });
}

/** Imports the signing key; the error says what is wrong, never what the key holds. */
async function importSigningKey(text: string, algorithm: SmartAlgorithm): Promise<CryptoKey | KeyObject | Uint8Array> {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as JWK;
      if (typeof jwk.d !== 'string') throw new Error('not a private key');
      return await importJWK(jwk, algorithm);
    }
    return await importPKCS8(trimmed, algorithm);
  } catch (err) {
    throw new GatewayError('fhir_unavailable', { cause: new Error(`the SMART signing key is not a ${algorithm} private key (PKCS#8 PEM or JWK)`, { cause: err }), detail: { stage: 'token', reason: 'signing_key_invalid' } });
  }
}

/**
 * The public JWKS to register with the EHR for our signing key (the private parts removed), with
 * its `kid`, `alg` and `use: sig`.
 */
export async function publicJwksOf(privateKey: string, algorithm: SmartAlgorithm, keyId: string): Promise<JSONWebKeySet> {
  // Proves the key suits the algorithm (the same check signing makes) before deriving its public half.
  await importSigningKey(privateKey, algorithm);
  const trimmed = privateKey.trim();
  const key = trimmed.startsWith('{') ? createPrivateKey({ key: JSON.parse(trimmed) as NodeJwk, format: 'jwk' }) : createPrivateKey(trimmed);
  const publicJwk = createPublicKey(key).export({ format: 'jwk' });
  return { keys: [{ ...publicJwk, kid: keyId, alg: algorithm, use: 'sig' }] };
}

/** Creates the SMART Backend Services client for one EHR. */
export function createSmartBackendAuth(options: SmartBackendOptions): SmartBackendAuth {
  const { http } = options;
  const now = (): number => http.clock.now();
  const base = options.baseUrl.replace(/\/+$/, '');
  const discoveryTtl = options.discoveryTtlMs ?? 3_600_000;
  const tokens = new Map<string, CachedToken>();
  const pending = new Map<string, Promise<CachedToken>>();
  let key: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;
  let discovered: { tokenUrl: string; at: number } | undefined;

  async function tokenUrl(budget: CallBudget): Promise<string> {
    if (options.tokenUrl !== undefined) return options.tokenUrl;
    if (discovered && now() - discovered.at < discoveryTtl) return discovered.tokenUrl;
    const detail = { stage: 'discovery' } as const;
    const answer = await exchange(http, `${base}/.well-known/smart-configuration`, { method: 'GET', headers: { accept: 'application/json' } }, budget, detail);
    if (answer.status !== 200) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'status', status: answer.status } });
    if (!isJsonContentType(answer.headers.get('content-type'))) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'content_type' } });
    const parsed = discoverySchema.safeParse(parseJsonObject(answer, detail));
    if (!parsed.success) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'invalid_smart_configuration' } });
    const config = parsed.data;
    // The specification requires these lists; when a server publishes them they must allow what we do.
    if (config.token_endpoint_auth_methods_supported && !config.token_endpoint_auth_methods_supported.includes('private_key_jwt')) {
      throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'private_key_jwt_unsupported' } });
    }
    if (config.token_endpoint_auth_signing_alg_values_supported && !config.token_endpoint_auth_signing_alg_values_supported.includes(options.algorithm)) {
      throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'algorithm_unsupported', algorithm: options.algorithm } });
    }
    if (config.grant_types_supported && !config.grant_types_supported.includes('client_credentials')) {
      throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'client_credentials_unsupported' } });
    }
    if (!isAllowedEndpoint(config.token_endpoint)) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'token_endpoint_not_https' } });
    discovered = { tokenUrl: config.token_endpoint, at: now() };
    return config.token_endpoint;
  }

  async function assertion(audience: string): Promise<string> {
    key ??= importSigningKey(options.privateKey, options.algorithm);
    const signingKey = await key.catch((err: unknown) => {
      key = undefined;
      throw err;
    });
    const issuedAt = Math.floor(now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: options.algorithm, kid: options.keyId, typ: 'JWT' })
      .setIssuer(options.clientId)
      .setSubject(options.clientId)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + assertionLifetimeSec)
      .setJti(randomUUID())
      .sign(signingKey);
  }

  async function fetchToken(scopes: readonly string[], deadline: number): Promise<CachedToken> {
    // The exchange is shared by concurrent callers, so it runs on its own signal, not one caller's.
    const budget: CallBudget = { signal: new AbortController().signal, deadline };
    const url = await tokenUrl(budget);
    const detail = { stage: 'token' } as const;
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: scopes.join(' '),
      client_assertion_type: clientAssertionType,
      client_assertion: await assertion(url),
    });
    const answer = await exchange(
      http,
      url,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: body.toString() },
      budget,
      detail,
    );
    // The body of a refusal may echo the assertion; it is neither parsed nor kept.
    if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
      throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'token_refused', status: answer.status } });
    }
    if (answer.status !== 200) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'status', status: answer.status } });
    const parsed = tokenSchema.safeParse(parseJsonObject(answer, detail));
    if (!parsed.success) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'invalid_token_response' } });
    if (parsed.data.scope !== undefined) {
      const granted = new Set(parsed.data.scope.split(/\s+/).filter(Boolean));
      const missing = scopes.filter((scope) => !granted.has(scope));
      if (missing.length > 0) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'scope_not_granted', scopes: missing } });
    }
    const lifetimeMs = (parsed.data.expires_in ?? 300) * 1000;
    const margin = Math.min(options.refreshMarginMs ?? 60_000, lifetimeMs / 2);
    return { token: parsed.data.access_token, renewAt: now() + lifetimeMs - margin };
  }

  return {
    async accessToken(scopes, budget) {
      const cacheKey = [...scopes].sort().join(' ');
      const cached = tokens.get(cacheKey);
      if (cached && now() < cached.renewAt) return cached.token;
      let inFlight = pending.get(cacheKey);
      if (inFlight === undefined) {
        inFlight = fetchToken(scopes, Math.min(budget.deadline, now() + http.timeoutMs * 2)).finally(() => pending.delete(cacheKey));
        pending.set(cacheKey, inFlight);
        // A caller that gives up does not make the shared exchange an unhandled rejection.
        inFlight.catch(() => undefined);
      }
      const fresh = await within(inFlight, budget, now, 'token');
      tokens.set(cacheKey, fresh);
      return fresh.token;
    },
    invalidate(scopes) {
      tokens.delete([...scopes].sort().join(' '));
    },
  };
}
