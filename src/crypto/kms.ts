// SPDX-License-Identifier: Apache-2.0
/**
 * The key-management seam. A KMS holds the key-encryption keys (KEKs) and hands out data keys:
 * it returns a fresh data key once in plaintext together with its wrapped form, and later
 * unwraps the wrapped form back. KEKs never leave the KMS; phigate stores only wrapped data keys.
 *
 * Every call takes a {@link KeyContext}: string pairs bound to the wrapped key as associated data
 * (AES-GCM AAD for the local key file, `EncryptionContext` for AWS KMS, `context` for Vault
 * Transit). Unwrapping with a different context fails, so a wrapped key copied to another
 * `data_keys` row or data class is useless.
 *
 * Adapters: `kms/local-keyfile.ts` now; Vault Transit, AWS KMS and Azure Key Vault fit the same
 * shape (their wrapped blobs are opaque strings, their key ids name key and version).
 */

/** Associated data for a wrapped key. Keys and values are plain strings; order does not matter. */
export type KeyContext = Readonly<Record<string, string>>;

/** A data key as the KMS wrapped it. Safe to store; useless without the KMS. */
export interface WrappedKey {
  /**
   * Which key-encryption key, including its version, wrapped this data key
   * (e.g. `local:v2`, `vault:transit/phigate:v7`). Rotation finds stale keys by this id.
   */
  readonly kekId: string;
  /** Opaque, text-safe, adapter-specific wrapped bytes. */
  readonly ciphertext: string;
}

/** A freshly generated data key. Callers zero `plaintext` once they have made a key object from it. */
export interface GeneratedDataKey {
  readonly plaintext: Uint8Array;
  readonly wrapped: WrappedKey;
}

export interface Kms {
  /** The KEK new wraps use, with its version (`local:v3`). Changes when the KEK is rotated. */
  readonly id: string;
  /** Generates a random 256-bit data key and wraps it under the current KEK, bound to `context`. */
  generateDataKey(context: KeyContext): Promise<GeneratedDataKey>;
  /** Unwraps a data key. Throws {@link KmsError} if the context differs or the wrapped key was altered. */
  unwrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<Uint8Array>;
  /**
   * Re-wraps a data key under the current KEK without exposing it to the caller (where the KMS
   * supports that) — the rotation path: data encrypted under the data key is not touched.
   */
  rewrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey>;
}

export const kmsErrorCodes = {
  /** The wrapped key does not authenticate under this context: altered, moved, or wrong context. */
  unwrap_failed: 'the wrapped data key does not authenticate under this key context',
  /** The wrapped key names a KEK or version this KMS does not hold (retired, or another KMS). */
  unknown_kek: 'the wrapped data key names a key-encryption key this KMS does not hold',
  /** The wrapped key is not in this adapter's format. */
  malformed_wrapped_key: 'the wrapped data key is not in a format this KMS reads',
  /** The KMS itself cannot be used (file missing, unsafe permissions, server refusing). */
  kms_unavailable: 'the key management service cannot be used',
} as const;

export type KmsErrorCode = keyof typeof kmsErrorCodes;

/**
 * Errors a KMS throws. Messages name files, key ids and reasons — never key material, wrapped
 * bytes or context values beyond their keys.
 */
export class KmsError extends Error {
  readonly code: KmsErrorCode;

  constructor(code: KmsErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? kmsErrorCodes[code], options);
    this.name = 'KmsError';
    this.code = code;
  }
}
