// SPDX-License-Identifier: Apache-2.0
/**
 * Strict base64url decoding. Node's decoder ignores stray characters and the unused low bits of
 * the last character, so two different strings can decode to the same bytes; ciphertexts are
 * parsed strictly so that every altered character is an error rather than a silent alias.
 */
export function decodeBase64urlStrict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
