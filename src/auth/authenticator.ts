// SPDX-License-Identifier: Apache-2.0
/**
 * Resolves a request's credentials to one principal: a phigate API key or an OIDC bearer token,
 * then — for service accounts — the user it acts for.
 *
 * Delegation headers:
 * - `x-phigate-user-token: <JWT>`: the user's own OIDC token, verified like any bearer token.
 *   This is proof, so no allow-list is needed.
 * - `x-phigate-on-behalf-of: <userId>`: an assertion, accepted only for users on the service
 *   account's stored allow-list (`phigate users delegate`).
 * Only service accounts may send either header; a user credential that does is refused, so no
 * one borrows another person's identity.
 */
import { GatewayError } from '../kernel/errors.js';
import type { CredentialRepo } from '../store/repos/credential-repo.js';
import type { UserRepo } from '../store/repos/user-repo.js';
import { parseApiKey, type ApiKeyAuthenticator } from './api-keys.js';
import { looksLikeJwt, type JwtAuthenticator } from './jwt.js';
import type { OnBehalfOf, Principal } from './principal.js';

export const userTokenHeader = 'x-phigate-user-token';
export const onBehalfOfHeader = 'x-phigate-on-behalf-of';

export interface AuthenticatorOptions {
  readonly apiKeys: ApiKeyAuthenticator;
  /** Absent when OIDC is not configured: bearer tokens other than API keys are then refused. */
  readonly jwt?: JwtAuthenticator | undefined;
  readonly users: Pick<UserRepo, 'findById'>;
  readonly delegations: Pick<CredentialRepo, 'isDelegated'>;
}

export interface Authenticator {
  /** `header` reads one request header (lower-case name). */
  authenticate(header: (name: string) => string | undefined): Promise<Principal>;
  readonly apiKeys: ApiKeyAuthenticator;
}

/** The credential a request presents: `Authorization: Bearer …` (OpenAI clients) or `x-api-key` (Anthropic clients). */
export function presentedCredential(header: (name: string) => string | undefined): string | undefined {
  const authorization = header('authorization');
  if (authorization !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return header('x-api-key')?.trim() || undefined;
}

const userIdPattern = /^[A-Za-z0-9._@:-]{1,128}$/;

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  async function primary(presented: string): Promise<Principal> {
    if (parseApiKey(presented) === undefined && looksLikeJwt(presented)) {
      if (!options.jwt) throw new GatewayError('unauthenticated');
      return options.jwt.authenticate(presented);
    }
    return options.apiKeys.authenticate(presented);
  }

  async function delegation(principal: Principal, header: (name: string) => string | undefined): Promise<OnBehalfOf | undefined> {
    const userToken = header(userTokenHeader)?.trim();
    const asserted = header(onBehalfOfHeader)?.trim();
    if (!userToken && !asserted) return undefined;
    if (principal.kind !== 'service') throw new GatewayError('on_behalf_of_denied', { param: userToken ? userTokenHeader : onBehalfOfHeader });
    if (userToken) {
      if (!options.jwt || !looksLikeJwt(userToken)) throw new GatewayError('token_invalid', { param: userTokenHeader });
      const user = await options.jwt.authenticate(userToken);
      if (user.kind !== 'user' || (asserted && asserted !== user.userId)) throw new GatewayError('on_behalf_of_denied', { param: userTokenHeader });
      return { userId: user.userId, roles: user.roles, proof: 'token', ...(user.orgUnit === undefined ? {} : { orgUnit: user.orgUnit }) };
    }
    const userId = asserted as string;
    // One answer for "not allowed", "no such user" and "disabled": the allow-list is not an oracle.
    if (!userIdPattern.test(userId) || !(await options.delegations.isDelegated(principal.userId, userId))) {
      throw new GatewayError('on_behalf_of_denied', { param: onBehalfOfHeader });
    }
    const user = await options.users.findById(userId);
    if (!user || user.kind !== 'user' || user.disabledAt !== null) throw new GatewayError('on_behalf_of_denied', { param: onBehalfOfHeader });
    return { userId: user.id, roles: user.roles, proof: 'assertion', ...(user.orgUnit === null ? {} : { orgUnit: user.orgUnit }) };
  }

  return {
    apiKeys: options.apiKeys,
    async authenticate(header) {
      const presented = presentedCredential(header);
      if (!presented) throw new GatewayError('unauthenticated');
      const principal = await primary(presented);
      const onBehalfOf = await delegation(principal, header);
      return onBehalfOf ? { ...principal, onBehalfOf } : principal;
    },
  };
}
