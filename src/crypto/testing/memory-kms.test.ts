// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { describeKmsContract } from '../kms.contract.js';
import { createMemoryKms, createTestFieldCrypto } from './memory-kms.js';

describeKmsContract('in-memory (tests)', async () => {
  const kms = createMemoryKms();
  return { kms, rotate: async () => kms.rotate() };
});

describe('test field crypto', () => {
  it('is the real envelope encryption', async () => {
    const crypto = await createTestFieldCrypto();
    const ctx = { table: 't', column: 'c', rowId: 'r' };
    const ct = await crypto.encrypt('value', ctx, 'vault');
    expect(ct.startsWith('v1.')).toBe(true);
    expect(await crypto.decryptString(ct, ctx)).toBe('value');
    await expect(crypto.decrypt(ct, { ...ctx, rowId: 'other' })).rejects.toMatchObject({ code: 'decrypt_failed' });
  });
});
