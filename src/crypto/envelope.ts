// SPDX-License-Identifier: Apache-2.0
/**
 * Envelope encryption for database fields: the {@link FieldCrypto} implementation.
 *
 * - AES-256-GCM, a fresh 96-bit random nonce per value, 128-bit tag.
 * - Associated data = canonical JSON of `{table, column, rowId, keyId}`: a ciphertext copied to
 *   another table, column or row does not decrypt.
 * - One data key per data class (`vault`, `audit`, `identity`, `content`, …). Data keys are
 *   generated and wrapped by the {@link Kms}, stored wrapped (`data_keys`), and kept unwrapped in
 *   memory only as `KeyObject`s once used.
 * - Ciphertext format, all parts base64url except the version:
 *   `v1.<keyId>.<nonce>.<ciphertext>.<tag>`. The key id names the `data_keys` row, so old
 *   ciphertexts keep decrypting after a data-key rotation.
 * - Blind indexes: HMAC-SHA-256 under a separate index key (itself a wrapped data key with a
 *   fixed id, so every instance converges on the same one), hex. The index key is never rotated
 *   in place: that would orphan every stored index.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { decodeBase64urlStrict } from './base64url.js';
import { canonicalJson } from '../kernel/canonical-json.js';
import type { FieldContext, FieldCrypto } from './field-crypto.js';
import type { KeyContext, Kms } from './kms.js';

/** A row of `data_keys`. Times are epoch milliseconds. */
export interface DataKeyRecord {
  readonly id: string;
  readonly dataClass: string;
  /** The KEK (with version) that wrapped `wrapped`, as the KMS reported it. */
  readonly kmsKeyId: string;
  readonly wrapped: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

/** Where wrapped data keys live; `store/repos/data-key-repo.ts` implements it over the database. */
export interface DataKeyStore {
  /** Inserts; returns false (and changes nothing) if the id exists. */
  insert(record: DataKeyRecord): Promise<boolean>;
  findById(id: string): Promise<DataKeyRecord | undefined>;
  /** The newest key of the class that is not retired. */
  findCurrent(dataClass: string): Promise<DataKeyRecord | undefined>;
  list(): Promise<readonly DataKeyRecord[]>;
  /** Replaces the wrapped form (after a KEK rotation). */
  updateWrapped(id: string, kmsKeyId: string, wrapped: string): Promise<void>;
  /** Stops the key being used for new writes; it still decrypts. */
  retire(id: string, at: number): Promise<void>;
}

export interface FieldCryptoOptions {
  readonly kms: Kms;
  readonly keyStore: DataKeyStore;
  /** Clock, epoch ms. */
  readonly now?: () => number;
  /**
   * How long this instance keeps using its cached current key for a class before checking the
   * store for a newer one (another instance may have rotated). Default 5 minutes.
   */
  readonly currentKeyRecheckMs?: number;
}

/** {@link FieldCrypto} plus the key-management operations the CLI and background jobs use. */
export interface EnvelopeFieldCrypto extends FieldCrypto {
  /** Retires the current data key of `dataClass` and makes a new one for new writes. Returns the new key id. */
  rotateDataKey(dataClass: string): Promise<string>;
  /** Re-wraps every stored data key under the KMS's current KEK. Data is not touched. */
  rewrapDataKeys(): Promise<{ readonly rewrapped: number; readonly total: number }>;
  /** Drops every cached unwrapped data key (they reload from the store on next use). */
  forgetKeys(): void;
}

export const fieldCryptoErrorCodes = {
  malformed_ciphertext: 'the value is not a v1 ciphertext',
  decrypt_failed: 'the ciphertext does not authenticate for this table, column and row',
  unknown_data_key: 'the ciphertext names a data key that is not in the store',
  invalid_data_class: 'the data class is not a lowercase identifier, or is reserved',
} as const;

export type FieldCryptoErrorCode = keyof typeof fieldCryptoErrorCodes;

/** Thrown by field encryption. Messages are fixed: never values, contexts or key material. */
export class FieldCryptoError extends Error {
  readonly code: FieldCryptoErrorCode;

  constructor(code: FieldCryptoErrorCode, options?: { cause?: unknown }) {
    super(fieldCryptoErrorCodes[code], options);
    this.name = 'FieldCryptoError';
    this.code = code;
  }
}

/** The reserved data class and fixed id of the blind-index key. */
export const BLIND_INDEX_DATA_CLASS = 'blind-index';
export const BLIND_INDEX_KEY_ID = 'blind-index-1';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const DATA_CLASS_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Builds the field crypto. Async because the blind-index key is loaded (or created) up front:
 * `blindIndex` is synchronous so repositories can use it inside query builders.
 */
export async function createFieldCrypto(options: FieldCryptoOptions): Promise<EnvelopeFieldCrypto> {
  const { kms, keyStore } = options;
  const now = options.now ?? Date.now;
  const recheckMs = options.currentKeyRecheckMs ?? 5 * 60_000;

  const keyContext = (record: Pick<DataKeyRecord, 'id' | 'dataClass'>): KeyContext => ({
    purpose: 'phigate-data-key',
    dataClass: record.dataClass,
    dataKeyId: record.id,
  });

  /** Unwrapped keys by id. Promises, so concurrent first uses unwrap once. */
  const keys = new Map<string, Promise<KeyObject>>();
  /** Current key per data class. */
  const current = new Map<string, Promise<{ readonly id: string; readonly loadedAt: number }>>();

  const unwrapRecord = async (record: DataKeyRecord): Promise<KeyObject> => {
    const plaintext = await kms.unwrapDataKey({ kekId: record.kmsKeyId, ciphertext: record.wrapped }, keyContext(record));
    try {
      return createSecretKey(Buffer.from(plaintext));
    } finally {
      plaintext.fill(0);
    }
  };

  const keyById = (id: string): Promise<KeyObject> => {
    let pending = keys.get(id);
    if (pending === undefined) {
      pending = (async () => {
        const record = await keyStore.findById(id);
        if (record === undefined || record.dataClass === BLIND_INDEX_DATA_CLASS) throw new FieldCryptoError('unknown_data_key');
        return unwrapRecord(record);
      })();
      keys.set(id, pending);
      // A failed load (store down, KMS refusing) must not be remembered.
      pending.catch(() => keys.delete(id));
    }
    return pending;
  };

  const newDataKey = async (dataClass: string): Promise<string> => {
    const id = randomBytes(12).toString('base64url');
    const generated = await kms.generateDataKey(keyContext({ id, dataClass }));
    const key = createSecretKey(Buffer.from(generated.plaintext));
    generated.plaintext.fill(0);
    await keyStore.insert({
      id,
      dataClass,
      kmsKeyId: generated.wrapped.kekId,
      wrapped: generated.wrapped.ciphertext,
      createdAt: now(),
      retiredAt: null,
    });
    keys.set(id, Promise.resolve(key));
    return id;
  };

  const currentKeyId = async (dataClass: string): Promise<string> => {
    const cached = current.get(dataClass);
    if (cached !== undefined) {
      const value = await cached;
      if (now() - value.loadedAt < recheckMs) return value.id;
      if (current.get(dataClass) === cached) current.delete(dataClass);
    }
    let pending = current.get(dataClass);
    if (pending === undefined) {
      pending = (async () => {
        const record = await keyStore.findCurrent(dataClass);
        const id = record?.id ?? (await newDataKey(dataClass));
        return { id, loadedAt: now() };
      })();
      current.set(dataClass, pending);
      pending.catch(() => current.delete(dataClass));
    }
    return (await pending).id;
  };

  const indexKey = await loadIndexKey();

  async function loadIndexKey(): Promise<KeyObject> {
    let record = await keyStore.findById(BLIND_INDEX_KEY_ID);
    if (record === undefined) {
      const generated = await kms.generateDataKey(keyContext({ id: BLIND_INDEX_KEY_ID, dataClass: BLIND_INDEX_DATA_CLASS }));
      generated.plaintext.fill(0);
      // Fixed id + insert-if-absent: when instances race, every one ends up with the winner's key.
      await keyStore.insert({
        id: BLIND_INDEX_KEY_ID,
        dataClass: BLIND_INDEX_DATA_CLASS,
        kmsKeyId: generated.wrapped.kekId,
        wrapped: generated.wrapped.ciphertext,
        createdAt: now(),
        retiredAt: null,
      });
      record = await keyStore.findById(BLIND_INDEX_KEY_ID);
      if (record === undefined) throw new FieldCryptoError('unknown_data_key');
    }
    return unwrapRecord(record);
  }

  const checkDataClass = (dataClass: string): void => {
    if (!DATA_CLASS_PATTERN.test(dataClass) || dataClass === BLIND_INDEX_DATA_CLASS) throw new FieldCryptoError('invalid_data_class');
  };

  const decrypt = async (ciphertext: string, context: FieldContext): Promise<Uint8Array> => {
    const parts = ciphertext.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new FieldCryptoError('malformed_ciphertext');
    const keyId = parts[1] ?? '';
    const nonce = decodeBase64urlStrict(parts[2] ?? '');
    const ct = decodeBase64urlStrict(parts[3] ?? '');
    const tag = decodeBase64urlStrict(parts[4] ?? '');
    if (!KEY_ID_PATTERN.test(keyId) || nonce?.length !== NONCE_BYTES || ct === undefined || tag?.length !== TAG_BYTES) {
      throw new FieldCryptoError('malformed_ciphertext');
    }
    const key = await keyById(keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(context, keyId));
      decipher.setAuthTag(tag);
      return new Uint8Array(Buffer.concat([decipher.update(ct), decipher.final()]));
    } catch (err) {
      throw new FieldCryptoError('decrypt_failed', { cause: err });
    }
  };

  return {
    async encrypt(plaintext, context, dataClass) {
      checkDataClass(dataClass);
      const keyId = await currentKeyId(dataClass);
      const key = await keyById(keyId);
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(context, keyId));
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      const ct = Buffer.concat([cipher.update(data), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${VERSION}.${keyId}.${nonce.toString('base64url')}.${ct.toString('base64url')}.${tag.toString('base64url')}`;
    },
    decrypt,
    async decryptString(ciphertext, context) {
      const bytes = await decrypt(ciphertext, context);
      return Buffer.from(bytes).toString('utf8');
    },
    blindIndex(value, purpose) {
      const purposeBytes = Buffer.from(purpose, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(purposeBytes.length);
      // Length-prefixed purpose: ("a", "bc") and ("ab", "c") must not collide.
      return createHmac('sha256', indexKey).update(length).update(purposeBytes).update(value, 'utf8').digest('hex');
    },
    async rotateDataKey(dataClass) {
      checkDataClass(dataClass);
      const previous = await keyStore.findCurrent(dataClass);
      const id = await newDataKey(dataClass);
      if (previous !== undefined) await keyStore.retire(previous.id, now());
      current.set(dataClass, Promise.resolve({ id, loadedAt: now() }));
      return id;
    },
    async rewrapDataKeys() {
      const all = await keyStore.list();
      let rewrapped = 0;
      for (const record of all) {
        if (record.kmsKeyId === kms.id) continue;
        const next = await kms.rewrapDataKey({ kekId: record.kmsKeyId, ciphertext: record.wrapped }, keyContext(record));
        await keyStore.updateWrapped(record.id, next.kekId, next.ciphertext);
        rewrapped += 1;
      }
      return { rewrapped, total: all.length };
    },
    forgetKeys() {
      keys.clear();
      current.clear();
    },
  };
}

function associatedData(context: FieldContext, keyId: string): Buffer {
  return Buffer.from(canonicalJson({ table: context.table, column: context.column, rowId: context.rowId, keyId }), 'utf8');
}
