// SPDX-License-Identifier: Apache-2.0
/**
 * Real encryption with keys that live only in memory, for other modules' tests: a {@link Kms}
 * with a random KEK, an in-memory {@link DataKeyStore}, and {@link createTestFieldCrypto}
 * combining them. Nothing is written to disk; nothing survives the process.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { createFieldCrypto, type DataKeyRecord, type DataKeyStore, type EnvelopeFieldCrypto } from '../envelope.js';
import type { Kms } from '../kms.js';
import { createKeyRingKms, DATA_KEY_BYTES } from '../kms/key-ring.js';

export interface MemoryKms extends Kms {
  /** Adds a KEK version and makes it current. */
  rotate(): number;
}

export function createMemoryKms(): MemoryKms {
  const keys = new Map<number, KeyObject>([[1, createSecretKey(randomBytes(DATA_KEY_BYTES))]]);
  const ring = createKeyRingKms('memory', () => keys, 'the in-memory KMS');
  return {
    get id() {
      return ring.id;
    },
    generateDataKey: (context) => ring.generateDataKey(context),
    unwrapDataKey: (wrapped, context) => ring.unwrapDataKey(wrapped, context),
    rewrapDataKey: (wrapped, context) => ring.rewrapDataKey(wrapped, context),
    rotate() {
      const next = Math.max(...keys.keys()) + 1;
      keys.set(next, createSecretKey(randomBytes(DATA_KEY_BYTES)));
      return next;
    },
  };
}

export function createMemoryDataKeyStore(): DataKeyStore & { readonly records: ReadonlyMap<string, DataKeyRecord> } {
  const records = new Map<string, DataKeyRecord>();
  return {
    records,
    async insert(record) {
      if (records.has(record.id)) return false;
      records.set(record.id, record);
      return true;
    },
    async findById(id) {
      return records.get(id);
    },
    async findCurrent(dataClass) {
      let best: DataKeyRecord | undefined;
      for (const r of records.values()) {
        if (r.dataClass !== dataClass || r.retiredAt !== null) continue;
        if (best === undefined || r.createdAt > best.createdAt || (r.createdAt === best.createdAt && r.id > best.id)) best = r;
      }
      return best;
    },
    async list() {
      return [...records.values()];
    },
    async updateWrapped(id, kmsKeyId, wrapped) {
      const r = records.get(id);
      if (r !== undefined) records.set(id, { ...r, kmsKeyId, wrapped });
    },
    async retire(id, at) {
      const r = records.get(id);
      if (r !== undefined && r.retiredAt === null) records.set(id, { ...r, retiredAt: at });
    },
  };
}

/** The production field crypto over an in-memory KMS and key store. */
export function createTestFieldCrypto(): Promise<EnvelopeFieldCrypto> {
  return createFieldCrypto({ kms: createMemoryKms(), keyStore: createMemoryDataKeyStore() });
}
