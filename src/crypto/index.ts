// SPDX-License-Identifier: Apache-2.0
/** Envelope encryption, the KMS seam and its adapters. */
export type { FieldContext, FieldCrypto } from './field-crypto.js';
export { KmsError, kmsErrorCodes, type GeneratedDataKey, type KeyContext, type Kms, type KmsErrorCode, type WrappedKey } from './kms.js';
export {
  BLIND_INDEX_DATA_CLASS,
  BLIND_INDEX_KEY_ID,
  createFieldCrypto,
  FieldCryptoError,
  fieldCryptoErrorCodes,
  type DataKeyRecord,
  type DataKeyStore,
  type EnvelopeFieldCrypto,
  type FieldCryptoErrorCode,
  type FieldCryptoOptions,
} from './envelope.js';
export {
  createLocalKeyFile,
  DEFAULT_LOCAL_KEY_FILE,
  ensureLocalKeyFile,
  loadLocalKeyFileKms,
  type LocalKeyFileInfo,
  type LocalKeyFileKms,
} from './kms/local-keyfile.js';
export { constantTimeEqual } from './constant-time.js';
