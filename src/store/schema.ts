// SPDX-License-Identifier: Apache-2.0
/**
 * Table types for Kysely. Conventions shared by both dialects:
 * - ids are text; times are epoch milliseconds UTC in `bigint` columns (returned as JS numbers:
 *   `db.ts` parses Postgres int8 as a number; values stay far below 2^53);
 * - lists and maps are JSON in text columns (`dialect.ts` `toJsonText` / `fromJsonText`);
 * - PHI-bearing values are `FieldCrypto` ciphertexts (`v1.…`) in text columns named `*_enc`,
 *   and equality lookups go through blind indexes in `*_index` columns.
 *
 * Later migrations add their tables by augmenting {@link Database} from their own module:
 * ```ts
 * declare module '../schema.js' { interface Database { audit_events: AuditEventsTable } }
 * ```
 */

/** Wrapped data keys, one or more per data class; see crypto/envelope.ts. */
export interface DataKeysTable {
  id: string;
  data_class: string;
  kms_key_id: string;
  wrapped: string;
  created_at: number;
  retired_at: number | null;
}

export interface UsersTable {
  id: string;
  name: string;
  /** JSON array of role names. */
  roles: string;
  org_unit: string | null;
  kind: 'user' | 'service';
  created_at: number;
  disabled_at: number | null;
}

export interface ApiKeysTable {
  /** The key id shown in the key's prefix (`phigate_<env>_<id>_<secret>`). */
  id: string;
  user_id: string;
  /** HMAC-SHA-256 of the secret under the server's pepper, hex. Never the secret. */
  secret_hash: string;
  /** JSON array of role names. */
  roles: string;
  /** JSON array of use-case ids the key may call. */
  use_cases: string;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  created_at: number;
  rotated_from: string | null;
}

/** Pseudonym tokens and the encrypted values they stand for, per conversation. */
export interface TokenVaultTable {
  /** An opaque conversation id (a keyed hash, never a patient identifier). */
  conversation_hash: string;
  token: string;
  /** PHI category of the value (`NAME`, `MRN`, …), used to number tokens per type. */
  type: string;
  sequence: number;
  /** Blind index of the value, for "has this value already got a token?" */
  value_index: string;
  /** FieldCrypto ciphertext of the value, bound to (token_vault, value, `<conversation>/<token>`). */
  value_enc: string;
  expires_at: number;
}

/** Every table phigate's migrations create. */
export interface Database {
  data_keys: DataKeysTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  token_vault: TokenVaultTable;
}
