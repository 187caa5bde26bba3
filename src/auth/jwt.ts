// SPDX-License-Identifier: Apache-2.0
/**
 * OIDC/JWT bearer tokens, verified with `jose` against the identity provider's JWKS.
 *
 * - Issuer, audience and the algorithm allow-list are fixed by configuration; `alg: none` and
 *   HMAC algorithms are never accepted (the allow-list only holds asymmetric ones).
 * - The JWKS is cached (`jwksMaxAgeMs`) and refetched when a token names an unknown `kid`, at
 *   most once per `jwksCooldownMs` — that is how key rollover at the provider is picked up.
 * - Clock skew up to `clockToleranceSec` is tolerated on `exp`, `nbf` and `iat`.
 * - Claims map to a phigate user: the user whose id equals the user-id claim, otherwise the user
 *   whose name equals the name claim. Unknown users are refused (`unknownUsers: reject`, the
 *   default, so access is granted only to people an administrator created) or created on first
 *   use with the token's roles (`provision`).
 * - Roles come from the roles claim when the token carries one (the provider is the source of
 *   group membership), otherwise from the stored user.
 * - `token_expired`, `token_revoked` (a revoked `jti`, or a disabled user) and `token_invalid`
 *   (anything else) are distinct answers.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { PhigateConfig } from '../config/schema.js';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import { uuidv7 } from '../kernel/ids.js';
import type { UserRecord, UserRepo } from '../store/repos/user-repo.js';
import type { Principal } from './principal.js';

export type OidcConfig = NonNullable<PhigateConfig['auth']['oidc']>;

export interface JwtAuthenticatorOptions {
  readonly config: OidcConfig;
  readonly users: Pick<UserRepo, 'findById' | 'findByName' | 'create'>;
  /** Whether a token id (keyed hash of issuer and jti) was revoked. */
  readonly isRevoked: (tokenHash: string) => Promise<boolean>;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly clock: Clock;
  /** Called after a user was provisioned from a token, so the creation is audited. */
  readonly onProvisioned?: (user: UserRecord) => Promise<void>;
}

export interface JwtAuthenticator {
  authenticate(token: string): Promise<Principal>;
}

/** Compact JWS shape: three base64url parts, the first a JSON header. Cheap pre-check before routing to the verifier. */
export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value) && value.startsWith('eyJ');
}

const maxIdLength = 128;

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value.length > 0 && value.length <= maxIdLength ? value : undefined;
}

function rolesClaim(payload: JWTPayload, name: string): readonly string[] | undefined {
  // Dotted names reach nested claims such as Keycloak's realm_access.roles.
  let value: unknown = payload;
  for (const part of name.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((role) => role.length > 0);
  if (Array.isArray(value) && value.every((role) => typeof role === 'string')) return value as string[];
  return undefined;
}

export function createJwtAuthenticator(options: JwtAuthenticatorOptions): JwtAuthenticator {
  const { config } = options;
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
    cooldownDuration: config.jwksCooldownMs,
    cacheMaxAge: config.jwksMaxAgeMs,
    timeoutDuration: 5000,
  });

  async function verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        clockTolerance: config.clockToleranceSec,
        currentDate: new Date(options.clock.now()),
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new GatewayError('token_expired');
      if (err instanceof joseErrors.JWKSTimeout) throw new GatewayError('token_invalid', { cause: err, detail: { reason: 'jwks_unavailable' } });
      // The jose message can quote claim values; keep only its code.
      const code = err instanceof joseErrors.JOSEError ? err.code : 'ERR_UNKNOWN';
      throw new GatewayError('token_invalid', { detail: { reason: code } });
    }
  }

  async function resolveUser(payload: JWTPayload): Promise<UserRecord> {
    const id = stringClaim(payload, config.claims.userId);
    const name = stringClaim(payload, config.claims.name);
    if (id === undefined && name === undefined) throw new GatewayError('token_invalid', { detail: { reason: 'missing_user_claim' } });
    const found = (id === undefined ? undefined : await options.users.findById(id)) ?? (name === undefined ? undefined : await options.users.findByName(name));
    if (found) return found;
    // The same answer as a bad signature: a caller cannot probe which users exist.
    if (config.unknownUsers === 'reject') throw new GatewayError('unauthenticated');
    const orgUnit = stringClaim(payload, config.claims.orgUnit);
    const created = await options.users.create({
      id: id ?? uuidv7(options.clock.now()),
      name: name ?? id ?? uuidv7(),
      roles: rolesClaim(payload, config.claims.roles) ?? [],
      orgUnit: orgUnit ?? null,
      kind: 'user',
    });
    await options.onProvisioned?.(created);
    return created;
  }

  return {
    async authenticate(token) {
      const payload = await verify(token);
      if (typeof payload.jti === 'string' && (await options.isRevoked(options.keyedHash(`${payload.iss ?? ''}\n${payload.jti}`, 'jwt-revocation')))) {
        throw new GatewayError('token_revoked');
      }
      const user = await resolveUser(payload);
      if (user.disabledAt !== null) throw new GatewayError('token_revoked');
      const orgUnit = stringClaim(payload, config.claims.orgUnit) ?? user.orgUnit ?? undefined;
      return {
        userId: user.id,
        kind: user.kind,
        roles: rolesClaim(payload, config.claims.roles) ?? user.roles,
        authMethod: 'jwt',
        useCases: [],
        ...(orgUnit === undefined ? {} : { orgUnit }),
      };
    },
  };
}

/** The revocation-list key for a token, as {@link createJwtAuthenticator} computes it. */
export function revokedTokenHash(keyedHash: (value: string, purpose: string) => string, issuer: string, jti: string): string {
  return keyedHash(`${issuer}\n${jti}`, 'jwt-revocation');
}
