// SPDX-License-Identifier: Apache-2.0
/** Who is calling: every authenticated request resolves to exactly one principal. */

export type AuthMethod = 'api_key' | 'jwt' | 'session';

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
}
