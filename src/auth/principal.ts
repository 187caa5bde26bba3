// SPDX-License-Identifier: Apache-2.0
/** Who is calling: every authenticated request resolves to exactly one principal. */

export type AuthMethod = 'api_key' | 'jwt' | 'session';

/** The person a service account acts for, proven by that person's token or an allow-listed assertion. */
export interface OnBehalfOf {
  readonly userId: string;
  readonly roles: readonly string[];
  readonly orgUnit?: string;
  /** `token`: the user's own OIDC token came with the request; `assertion`: `x-phigate-on-behalf-of` from an allow-listed service. */
  readonly proof: 'token' | 'assertion';
}

export interface Principal {
  /** The unique user or service-account id. */
  readonly userId: string;
  readonly kind: 'user' | 'service';
  readonly roles: readonly string[];
  readonly authMethod: AuthMethod;
  /** Set when the request was authenticated with an API key. */
  readonly apiKeyId?: string;
  /** Use cases the credential is scoped to; empty means the credential is not scoped by use case. */
  readonly useCases: readonly string[];
  /** Organisational unit (ward, department) of the user, when known. */
  readonly orgUnit?: string;
  /**
   * Set only for service accounts acting for a user. Authorization decides patient access on the
   * user's roles and relationships; a service principal without it never reaches PHI.
   */
  readonly onBehalfOf?: OnBehalfOf;
}
