// SPDX-License-Identifier: Apache-2.0
/**
 * The seam repositories use for PHI-bearing columns: envelope encryption bound to where the
 * value lives, and keyed hashes for equality lookups without plaintext.
 */

/** Where a ciphertext belongs. Bound as associated data, so a ciphertext moved elsewhere fails to decrypt. */
export interface FieldContext {
  readonly table: string;
  readonly column: string;
  readonly rowId: string;
}

export interface FieldCrypto {
  /** Encrypts under the current data key of `dataClass`; returns a self-describing string (version, key id, nonce, ciphertext, tag). */
  encrypt(plaintext: string | Uint8Array, context: FieldContext, dataClass: string): Promise<string>;
  decrypt(ciphertext: string, context: FieldContext): Promise<Uint8Array>;
  decryptString(ciphertext: string, context: FieldContext): Promise<string>;
  /** HMAC-SHA-256 under a key separate from the data keys, hex; `purpose` separates index domains. */
  blindIndex(value: string, purpose: string): string;
}
