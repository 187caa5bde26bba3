// SPDX-License-Identifier: Apache-2.0
/**
 * A small but real `FieldCrypto` for tests: AES-256-GCM with the field context as associated
 * data and HMAC-SHA-256 blind indexes, under random keys held in memory.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { FieldContext, FieldCrypto } from '../../crypto/field-crypto.js';

const aad = (c: FieldContext): Buffer => Buffer.from(JSON.stringify([c.table, c.column, c.rowId]));

/** Creates a test `FieldCrypto` with fresh random keys. */
export function createTestFieldCrypto(): FieldCrypto {
  const dataKey = randomBytes(32);
  const indexKey = randomBytes(32);
  const decrypt = (ciphertext: string, context: FieldContext): Uint8Array => {
    const [version, iv, body, tag] = ciphertext.split('.');
    if (version !== 't1' || !iv || body === undefined || !tag) throw new Error('malformed ciphertext');
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(aad(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  };
  return {
    encrypt(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
      return Promise.resolve(['t1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.'));
    },
    decrypt: (ciphertext, context) => Promise.resolve(decrypt(ciphertext, context)),
    decryptString: (ciphertext, context) => Promise.resolve(Buffer.from(decrypt(ciphertext, context)).toString('utf8')),
    blindIndex: (value, purpose) => createHmac('sha256', indexKey).update(purpose).update('\u0000').update(value).digest('hex'),
  };
}
