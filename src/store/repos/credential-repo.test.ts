// SPDX-License-Identifier: Apache-2.0
/** The authentication repositories on SQLite and on PostgreSQL (PGlite): the same SQL must behave the same. */
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../db.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { createPgliteServer } from '../testing/pglite.js';
import { createApiKeyRepo } from './api-key-repo.js';
import { createCredentialRepo } from './credential-repo.js';
import { createSessionRepo } from './session-repo.js';
import { createUserRepo } from './user-repo.js';

const pglite = createPgliteServer();
afterAll(async () => {
  await pglite.close();
});

const backends: readonly [string, () => Promise<Kysely<Database>>][] = [
  ['SQLite', async () => createDb('sqlite::memory:', { baseDir: tmpdir() })],
  ['PGlite', () => pglite.createDb()],
];

describe.each(backends)('authentication repositories on %s', (_name, open) => {
  async function withDb(test: (db: Kysely<Database>) => Promise<void>): Promise<void> {
    const db = await open();
    try {
      await migrateToLatest(db);
      await test(db);
    } finally {
      await db.destroy();
    }
  }

  it('keep credentials, and claim each TOTP step once, in increasing order only', () =>
    withDb(async (db) => {
      const repo = createCredentialRepo(db);
      expect(await repo.find('u1')).toBeUndefined();
      await repo.setPassword('u1', '$scrypt$x', 1);
      await repo.setTotpSecret('u1', 'v1.cipher', 2);
      expect(await repo.find('u1')).toEqual({ userId: 'u1', passwordHash: '$scrypt$x', totpSecretEnc: 'v1.cipher', totpLastStep: null });
      expect(await repo.claimTotpStep('u1', 100)).toBe(true);
      expect(await repo.claimTotpStep('u1', 100)).toBe(false);
      expect(await repo.claimTotpStep('u1', 99)).toBe(false);
      expect(await repo.claimTotpStep('u1', 101)).toBe(true);
      expect(await repo.claimTotpStep('nobody', 1)).toBe(false);
      await repo.setTotpSecret('u1', 'v1.other', 3);
      expect((await repo.find('u1'))?.totpLastStep).toBeNull();
    }));

  it('count sign-in failures, keep delegations and revoked tokens', () =>
    withDb(async (db) => {
      const repo = createCredentialRepo(db);
      await repo.recordLoginFailure('h', 1, 0, 1);
      await repo.recordLoginFailure('h', 2, 500, 2);
      expect(await repo.loginFailures('h')).toEqual({ failures: 2, lockedUntil: 500 });
      await repo.clearLoginFailures('h');
      expect(await repo.loginFailures('h')).toBeUndefined();
      await repo.allowDelegation('svc', 'u2', 1);
      await repo.allowDelegation('svc', 'u1', 1);
      await repo.allowDelegation('svc', 'u1', 2);
      expect(await repo.delegations('svc')).toEqual(['u1', 'u2']);
      expect(await repo.isDelegated('svc', 'u1')).toBe(true);
      expect(await repo.removeDelegation('svc', 'u1')).toBe(true);
      expect(await repo.isDelegated('svc', 'u1')).toBe(false);
      await repo.revokeToken('t', 10, 1);
      await repo.revokeToken('t', 10, 2);
      expect([await repo.isTokenRevoked('t'), await repo.isTokenRevoked('u')]).toEqual([true, false]);
    }));

  it('store sessions by hash, touch forward only, delete one or all of a user', () =>
    withDb(async (db) => {
      const repo = createSessionRepo(db);
      const base = { userId: 'u1', csrfHash: 'c', createdAt: 1, lastSeenAt: 1, expiresAt: 100 };
      await repo.create({ idHash: 'a', ...base });
      await repo.create({ idHash: 'b', ...base });
      await repo.touch('a', 5);
      await repo.touch('a', 3);
      expect((await repo.find('a'))?.lastSeenAt).toBe(5);
      await repo.delete('a');
      expect(await repo.find('a')).toBeUndefined();
      expect(await repo.deleteByUser('u1')).toBe(1);
    }));

  it('bring a scheduled key revocation forward, never back', () =>
    withDb(async (db) => {
      await createUserRepo(db).create({ id: 'u1', name: 'n', roles: [], kind: 'user' });
      const keys = createApiKeyRepo(db, { touchFlushMs: 0 });
      await keys.create({ id: 'k1', userId: 'u1', secretHash: 'h', roles: [], useCases: [] });
      await keys.revoke('k1', 1000);
      await keys.revoke('k1', 400);
      await keys.revoke('k1', 2000);
      expect((await keys.findById('k1'))?.revokedAt).toBe(400);
      await keys.close();
    }));
});
