// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { createEncryptedTokenVault, createMemoryTokenVault } from './token-vault.js';
import type { TokenVault } from './token-vault.js';
import { createMemoryTokenVaultRepo } from './testing/memory-token-vault-repo.js';
import { createTestFieldCrypto } from './testing/test-field-crypto.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const implementations: [string, (now: () => number) => TokenVault][] = [
  ['memory', (now) => createMemoryTokenVault({ ttlMs: 1000, now })],
  ['encrypted', (now) => createEncryptedTokenVault({ ttlMs: 1000, now, repo: createMemoryTokenVaultRepo(), crypto: createTestFieldCrypto() })],
];

describe.each(implementations)('TokenVault contract: %s', (_name, make) => {
  it('numbers tokens per type and conversation and reuses them for the same value', async () => {
    const vault = make(clock().now);
    expect(await vault.tokenize('c1', 'NAME', 'John Smith')).toBe('[NAME_1]');
    expect(await vault.tokenize('c1', 'NAME', 'Ann Lee')).toBe('[NAME_2]');
    expect(await vault.tokenize('c1', 'NAME', '  john   SMITH ')).toBe('[NAME_1]');
    expect(await vault.tokenize('c1', 'PHONE', '555-1234')).toBe('[PHONE_1]');
    expect(await vault.tokenize('c2', 'NAME', 'Ann Lee')).toBe('[NAME_1]');
    expect(await vault.lookup('c1', '[NAME_2]')).toBe('Ann Lee');
    expect(await vault.lookup('c2', '[NAME_1]')).toBe('Ann Lee');
    expect(await vault.lookup('c1', '[NAME_9]')).toBeUndefined();
    expect(await vault.lookup('c1', 'NAME_1')).toBeUndefined();
    expect(await vault.lookup('nope', '[NAME_1]')).toBeUndefined();
  });

  it('forgets mappings after the TTL and on explicit expiry', async () => {
    const c = clock();
    const vault = make(c.now);
    await vault.tokenize('c1', 'NAME', 'John Smith');
    await vault.tokenize('c2', 'EMAIL', 'a@b.org');
    c.advance(999);
    expect(await vault.lookup('c1', '[NAME_1]')).toBe('John Smith');
    expect(await vault.expire('c2')).toBe(1);
    expect(await vault.lookup('c2', '[EMAIL_1]')).toBeUndefined();
    c.advance(1);
    expect(await vault.lookup('c1', '[NAME_1]')).toBeUndefined();
    expect(await vault.expire()).toBe(1);
    // After expiry the value is new to the conversation and gets a fresh token.
    const again = await vault.tokenize('c1', 'NAME', 'John Smith');
    expect(await vault.lookup('c1', again)).toBe('John Smith');
  });

  it('issues distinct tokens under concurrent calls', async () => {
    const vault = make(clock().now);
    const values = Array.from({ length: 20 }, (_, i) => `person ${i}`);
    const tokens = await Promise.all(values.map((v) => vault.tokenize('c', 'NAME', v)));
    expect(new Set(tokens).size).toBe(20);
    for (const [i, v] of values.entries()) expect(await vault.lookup('c', tokens[i]!)).toBe(v);
  });

  it('rejects oversized values and empty conversation ids', async () => {
    const vault = make(clock().now);
    await expect(vault.tokenize('', 'NAME', 'x')).rejects.toThrow(RangeError);
    await expect(vault.tokenize('c', 'NAME', 'x'.repeat(5000))).rejects.toThrow(RangeError);
  });
});

describe('encrypted token vault', () => {
  it('stores no plaintext and binds ciphertexts to their row', async () => {
    const repo = createMemoryTokenVaultRepo();
    const crypto = createTestFieldCrypto();
    const vault = createEncryptedTokenVault({ repo, crypto });
    await vault.tokenize('conv-1', 'NAME', 'Zebulon Quackenbush');
    await vault.tokenize('conv-1', 'SSN', '123-45-6789');
    const dump = JSON.stringify(repo.rows);
    expect(dump).not.toMatch(/Zebulon|Quackenbush|123-45-6789|zebulon/i);
    // A ciphertext copied onto another token's row must not decrypt.
    const [a, b] = repo.rows;
    (repo.rows as unknown as { ciphertext: string }[])[1] = { ...b!, ciphertext: a!.ciphertext };
    await expect(vault.lookup('conv-1', '[SSN_1]')).rejects.toThrow();
  });

  it('uses a per-conversation blind index so conversations are not linkable', async () => {
    const repo = createMemoryTokenVaultRepo();
    const vault = createEncryptedTokenVault({ repo, crypto: createTestFieldCrypto() });
    await vault.tokenize('a', 'NAME', 'Same Person');
    await vault.tokenize('b', 'NAME', 'Same Person');
    expect(repo.rows[0]!.valueIndex).not.toBe(repo.rows[1]!.valueIndex);
  });
});
