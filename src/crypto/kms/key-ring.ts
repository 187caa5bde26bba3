// SPDX-License-Identifier: Apache-2.0
/**
 * AES-256-GCM key wrapping over a ring of versioned KEKs held in this process: the shared core of
 * the local key-file KMS and the in-memory test KMS. Wrapped form:
 * `lk1.<version>.<nonce>.<ciphertext>.<tag>` (base64url), AAD = canonical JSON of
 * `{context, kek, purpose}`, so the context and the KEK version are both authenticated.
 */
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { decodeBase64urlStrict } from '../base64url.js';
import { canonicalJson } from '../../kernel/canonical-json.js';
import { KmsError, type GeneratedDataKey, type KeyContext, type Kms, type WrappedKey } from '../kms.js';

export const DATA_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'lk1';

/**
 * A {@link Kms} over `keys()` (version → KEK, read on every call so rotation is seen at once).
 * `prefix` names the KMS in key ids: `<prefix>:v<version>`. `where` names the key source in errors.
 */
export function createKeyRingKms(prefix: string, keys: () => ReadonlyMap<number, KeyObject>, where: string): Kms {
  const kekId = (version: number): string => `${prefix}:v${version}`;
  const currentVersion = (): number => Math.max(...keys().keys());

  const wrapWith = (version: number, plaintext: Uint8Array, context: KeyContext): WrappedKey => {
    const key = keys().get(version);
    if (key === undefined) throw new KmsError('unknown_kek');
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(kekId(version), context));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    return {
      kekId: kekId(version),
      ciphertext: [FORMAT, String(version), nonce.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.'),
    };
  };

  const unwrap = (wrapped: WrappedKey, context: KeyContext): Uint8Array => {
    const parts = wrapped.ciphertext.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT || !/^[1-9][0-9]{0,8}$/.test(parts[1] ?? '')) {
      throw new KmsError('malformed_wrapped_key');
    }
    const version = Number(parts[1]);
    if (wrapped.kekId !== kekId(version)) throw new KmsError('malformed_wrapped_key');
    const key = keys().get(version);
    if (key === undefined) throw new KmsError('unknown_kek', `the wrapped data key names ${kekId(version)}, which ${where} does not hold`);
    const nonce = decodeBase64urlStrict(parts[2] ?? '');
    const ct = decodeBase64urlStrict(parts[3] ?? '');
    const tag = decodeBase64urlStrict(parts[4] ?? '');
    if (nonce?.length !== NONCE_BYTES || tag?.length !== TAG_BYTES || ct?.length !== DATA_KEY_BYTES) {
      throw new KmsError('malformed_wrapped_key');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(kekId(version), context));
      decipher.setAuthTag(tag);
      return new Uint8Array(Buffer.concat([decipher.update(ct), decipher.final()]));
    } catch (err) {
      throw new KmsError('unwrap_failed', undefined, { cause: err });
    }
  };

  return {
    get id() {
      return kekId(currentVersion());
    },
    async generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
      checkContext(context);
      const plaintext = new Uint8Array(randomBytes(DATA_KEY_BYTES));
      return { plaintext, wrapped: wrapWith(currentVersion(), plaintext, context) };
    },
    async unwrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<Uint8Array> {
      checkContext(context);
      return unwrap(wrapped, context);
    },
    async rewrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> {
      checkContext(context);
      const plaintext = unwrap(wrapped, context);
      try {
        return wrapWith(currentVersion(), plaintext, context);
      } finally {
        plaintext.fill(0);
      }
    },
  };
}

function aad(kekId: string, context: KeyContext): Buffer {
  return Buffer.from(canonicalJson({ context, kek: kekId, purpose: 'phigate-data-key' }), 'utf8');
}

function checkContext(context: KeyContext): void {
  for (const [k, v] of Object.entries(context)) {
    if (typeof v !== 'string') throw new KmsError('kms_unavailable', `key context entry ${k} must be a string`);
  }
}
