// SPDX-License-Identifier: Apache-2.0
/**
 * The contract every `TokenVaultRepo` must meet (the in-memory fake and the database repo), and
 * the encrypted vault's behaviour on top of it. Call it from a test file with a factory:
 * `runTokenVaultRepoContract('sqlite', async () => createTokenVaultRepo(db))`.
 */
import { describe, expect, it } from 'vitest';
import { createEncryptedTokenVault } from '../token-vault.js';
import type { TokenVaultRecord, TokenVaultRepo } from '../token-vault.js';
import { createTestFieldCrypto } from './test-field-crypto.js';

const record = (over: Partial<TokenVaultRecord> = {}): TokenVaultRecord => ({
  conversationId: 'c1', token: '[NAME_1]', type: 'NAME', sequence: 1, valueIndex: 'idx-1', ciphertext: 'ct-1', expiresAt: 2_000, ...over,
});

/** Registers the contract suite for one repository implementation. */
export function runTokenVaultRepoContract(name: string, makeRepo: () => Promise<TokenVaultRepo>): void {
  describe(`TokenVaultRepo contract: ${name}`, () => {
    it('inserts and reads by token and by value index', async () => {
      const repo = await makeRepo();
      expect(await repo.insert(record())).toBe('inserted');
      expect(await repo.getByToken('c1', '[NAME_1]')).toEqual(record());
      expect(await repo.getByValueIndex('c1', 'idx-1')).toEqual(record());
      expect(await repo.getByToken('c2', '[NAME_1]')).toBeUndefined();
      expect(await repo.getByValueIndex('c1', 'other')).toBeUndefined();
    });

    it('reports conflicts on either unique key instead of overwriting', async () => {
      const repo = await makeRepo();
      await repo.insert(record());
      expect(await repo.insert(record({ valueIndex: 'idx-2', ciphertext: 'x' }))).toBe('conflict');
      expect(await repo.insert(record({ token: '[NAME_2]', sequence: 2, ciphertext: 'x' }))).toBe('conflict');
      expect((await repo.getByToken('c1', '[NAME_1]'))?.ciphertext).toBe('ct-1');
      expect(await repo.insert(record({ conversationId: 'c2' }))).toBe('inserted');
    });

    it('tracks the highest sequence per conversation and type', async () => {
      const repo = await makeRepo();
      expect(await repo.maxSequence('c1', 'NAME')).toBe(0);
      await repo.insert(record());
      await repo.insert(record({ token: '[NAME_5]', sequence: 5, valueIndex: 'idx-5' }));
      await repo.insert(record({ token: '[DATE_9]', type: 'DATE', sequence: 9, valueIndex: 'idx-9' }));
      expect(await repo.maxSequence('c1', 'NAME')).toBe(5);
      expect(await repo.maxSequence('c1', 'DATE')).toBe(9);
      expect(await repo.maxSequence('c2', 'NAME')).toBe(0);
    });

    it('updates expiry and deletes expired rows and whole conversations', async () => {
      const repo = await makeRepo();
      await repo.insert(record());
      await repo.insert(record({ token: '[NAME_2]', sequence: 2, valueIndex: 'idx-2', expiresAt: 1_000 }));
      await repo.insert(record({ conversationId: 'c2' }));
      await repo.setExpiry('c1', '[NAME_1]', 5_000);
      expect((await repo.getByToken('c1', '[NAME_1]'))?.expiresAt).toBe(5_000);
      expect(await repo.deleteExpired(2_000)).toBe(2);
      expect(await repo.getByToken('c1', '[NAME_1]')).toBeDefined();
      expect(await repo.deleteConversation('c1')).toBe(1);
      expect(await repo.getByToken('c1', '[NAME_1]')).toBeUndefined();
    });

    it('backs an encrypted vault that round-trips values', async () => {
      const vault = createEncryptedTokenVault({ repo: await makeRepo(), crypto: createTestFieldCrypto() });
      const token = await vault.tokenize('conv', 'EMAIL', 'a@b.org');
      expect(await vault.tokenize('conv', 'EMAIL', 'A@B.org')).toBe(token);
      expect(await vault.lookup('conv', token)).toBe('a@b.org');
    });
  });
}
