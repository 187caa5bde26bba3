// SPDX-License-Identifier: Apache-2.0
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDb, parseStoreUrl } from './db.js';
import { createTestFieldCrypto } from '../crypto/testing/memory-kms.js';
import { createEncryptedTokenVault, type TokenVaultRepo as DeidRepo } from '../deid/token-vault.js';
import type { PhiCategory } from '../deid/types.js';
import { migrateToLatest } from './migrate.js';
import { createTokenVaultRepo } from './repos/token-vault-repo.js';
import { describeStoreContract } from './store.contract.js';

describeStoreContract('SQLite in memory', async () => ({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }));

describeStoreContract('SQLite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'phigate-store-'));
  return { db: createDb('sqlite:state/phigate.db', { baseDir: dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});


describe('store urls', () => {
  it('resolves sqlite paths against the base folder and recognises the others', () => {
    expect(parseStoreUrl('sqlite:phigate.db', '/srv/home')).toEqual({ kind: 'sqlite', path: '/srv/home/phigate.db' });
    expect(parseStoreUrl('sqlite:/var/lib/p.db', '/srv/home')).toEqual({ kind: 'sqlite', path: '/var/lib/p.db' });
    expect(parseStoreUrl('sqlite::memory:', '/x')).toEqual({ kind: 'sqlite-memory' });
    expect(parseStoreUrl('postgres://u@h/db', '/x')).toEqual({ kind: 'postgres', connectionString: 'postgres://u@h/db' });
  });

  it('refuses anything else without echoing the url', () => {
    const secret = 'mysql://root:hunter2@h/db';
    expect(() => parseStoreUrl(secret, '/x')).toThrow(/expected sqlite/);
    try {
      parseStoreUrl(secret, '/x');
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(() => parseStoreUrl('sqlite:', '/x')).toThrow();
  });
});

describe('fit with deid', () => {
  it('the database vault repo is a deid TokenVaultRepo', async () => {
    const db = createDb('sqlite::memory:', { baseDir: tmpdir() });
    try {
      await migrateToLatest(db);
      const crypto = await createTestFieldCrypto();
      const repo: DeidRepo = createTokenVaultRepo<PhiCategory>(db);
      const vault = createEncryptedTokenVault({ repo, crypto });
      const token = await vault.tokenize('conv-1', 'NAME', 'Jane Q. Doe');
      expect(await vault.tokenize('conv-1', 'NAME', 'Jane Q. Doe')).toBe(token);
      expect(await vault.lookup('conv-1', token)).toBe('Jane Q. Doe');
      const rows = await db.selectFrom('token_vault').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain('Jane');
    } finally {
      await db.destroy();
    }
  });
});
