// SPDX-License-Identifier: Apache-2.0
/**
 * The repository contract, run against every database phigate supports: SQLite (memory and a
 * file), PGlite, and a real PostgreSQL server (`store.int.test.ts`). A backend passes by giving
 * a fresh, empty `Kysely<Database>`; the suite migrates it itself.
 *
 * ```ts
 * describeStoreContract('sqlite memory', async () => ({ db: createDb('sqlite::memory:', { baseDir }) }));
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFieldCrypto, type EnvelopeFieldCrypto } from '../crypto/envelope.js';
import { ensureLocalKeyFile, type LocalKeyFileKms } from '../crypto/kms/local-keyfile.js';
import { dialectOf } from './dialect.js';
import { migrateToLatest } from './migrate.js';
import { migrations } from './migrations/index.js';
import { createDataKeyRepo } from './repos/data-key-repo.js';
import { tokenVaultContext } from './repos/token-vault-repo.js';
import type { Database } from './schema.js';
import { createStore, type Store } from './store.js';

export interface StoreUnderTest {
  /** A fresh, empty database. The suite migrates and destroys it. */
  readonly db: Kysely<Database>;
  /** Runs after `db.destroy()`: drop the schema, delete the file. */
  readonly cleanup?: () => Promise<void>;
}

export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let under: StoreUnderTest;
    let store: Store;
    let crypto: EnvelopeFieldCrypto;
    let kms: LocalKeyFileKms;
    let keyDir: string;
    let clock: number;
    const now = (): number => clock;

    beforeEach(async () => {
      clock = 1_800_000_000_000;
      keyDir = await mkdtemp(join(tmpdir(), 'phigate-store-keys-'));
      kms = await ensureLocalKeyFile(join(keyDir, 'keys', 'local-kek'));
      under = await open();
      await migrateToLatest(under.db);
      crypto = await createFieldCrypto({ kms, keyStore: createDataKeyRepo(under.db), now });
      store = createStore(under.db, { now, apiKeyTouchFlushMs: 60_000 });
    });

    afterEach(async () => {
      await store.close();
      await under.cleanup?.();
      await rm(keyDir, { recursive: true, force: true });
    });

    describe('migrations', () => {
      it('are applied once; a second run applies nothing', async () => {
        expect(await migrateToLatest(under.db)).toEqual([]);
        const tables = (await under.db.introspection.getTables()).map((t) => t.name);
        for (const table of ['data_keys', 'users', 'api_keys', 'token_vault']) expect(tables).toContain(table);
        expect(Object.keys(migrations)[0]).toBe('0001-init');
        expect(['sqlite', 'postgres']).toContain(dialectOf(under.db));
      });
    });

    describe('users', () => {
      it('creates, finds by id and name, lists, sets roles and disables', async () => {
        const created = await store.users.create({ id: 'u1', name: 'admin', roles: ['admin'], kind: 'user' });
        expect(created).toEqual({ id: 'u1', name: 'admin', roles: ['admin'], orgUnit: null, kind: 'user', createdAt: clock, disabledAt: null });
        expect(await store.users.findById('u1')).toEqual(created);
        expect(await store.users.findByName('admin')).toEqual(created);
        expect(await store.users.findById('nope')).toBeUndefined();
        clock += 1;
        await store.users.create({ id: 's1', name: 'scribe-bot', roles: [], orgUnit: 'cardiology', kind: 'service' });
        expect((await store.users.list()).map((u) => u.id)).toEqual(['u1', 's1']);
        expect(await store.users.setRoles('u1', ['admin', 'auditor'])).toBe(true);
        expect((await store.users.findById('u1'))?.roles).toEqual(['admin', 'auditor']);
        expect(await store.users.setRoles('nope', [])).toBe(false);
        clock += 5;
        expect(await store.users.disable('u1')).toBe(true);
        clock += 5;
        expect(await store.users.disable('u1')).toBe(true);
        expect((await store.users.findById('u1'))?.disabledAt).toBe(clock - 5);
        expect(await store.users.disable('nope')).toBe(false);
      });

      it('refuses a duplicate id or name and an unknown kind', async () => {
        await store.users.create({ id: 'u1', name: 'a', roles: [], kind: 'user' });
        await expect(store.users.create({ id: 'u1', name: 'b', roles: [], kind: 'user' })).rejects.toThrow();
        await expect(store.users.create({ id: 'u2', name: 'a', roles: [], kind: 'user' })).rejects.toThrow();
        await expect(store.users.create({ id: 'u3', name: 'c', roles: [], kind: 'robot' as 'user' })).rejects.toThrow();
      });
    });

    describe('api keys', () => {
      beforeEach(async () => {
        await store.users.create({ id: 'u1', name: 'admin', roles: ['admin'], kind: 'user' });
      });

      it('creates and finds a key; lists a user’s keys newest first', async () => {
        const first = await store.apiKeys.create({ id: 'k1', userId: 'u1', secretHash: 'ab'.repeat(32), roles: ['clinician'], useCases: ['scribe'] });
        expect(first).toEqual({
          id: 'k1', userId: 'u1', secretHash: 'ab'.repeat(32), roles: ['clinician'], useCases: ['scribe'],
          expiresAt: null, revokedAt: null, lastUsedAt: null, createdAt: clock, rotatedFrom: null,
        });
        expect(await store.apiKeys.findById('k1')).toEqual(first);
        clock += 10;
        const second = await store.apiKeys.create({
          id: 'k2', userId: 'u1', secretHash: 'cd'.repeat(32), roles: [], useCases: [], expiresAt: clock + 1000, rotatedFrom: 'k1',
        });
        expect(second.rotatedFrom).toBe('k1');
        expect((await store.apiKeys.listByUser('u1')).map((k) => k.id)).toEqual(['k2', 'k1']);
        expect(await store.apiKeys.listByUser('nobody')).toEqual([]);
        expect(await store.apiKeys.findById('k3')).toBeUndefined();
      });

      it('refuses a key for an unknown user (foreign key)', async () => {
        await expect(store.apiKeys.create({ id: 'k1', userId: 'ghost', secretHash: 'x', roles: [], useCases: [] })).rejects.toThrow();
      });

      it('revokes once and keeps the first revocation time', async () => {
        await store.apiKeys.create({ id: 'k1', userId: 'u1', secretHash: 'x', roles: [], useCases: [] });
        expect(await store.apiKeys.revoke('k1', 100)).toBe(true);
        expect(await store.apiKeys.revoke('k1', 200)).toBe(true);
        expect((await store.apiKeys.findById('k1'))?.revokedAt).toBe(100);
        expect(await store.apiKeys.revoke('nope')).toBe(false);
      });

      it('batches last-used touches until flushed and never moves them backwards', async () => {
        await store.apiKeys.create({ id: 'k1', userId: 'u1', secretHash: 'x', roles: [], useCases: [] });
        await store.apiKeys.create({ id: 'k2', userId: 'u1', secretHash: 'y', roles: [], useCases: [] });
        store.apiKeys.touchLastUsed('k1', 500);
        store.apiKeys.touchLastUsed('k1', 400);
        store.apiKeys.touchLastUsed('k2', 300);
        store.apiKeys.touchLastUsed('missing', 300);
        expect((await store.apiKeys.findById('k1'))?.lastUsedAt).toBeNull();
        await store.apiKeys.flush();
        expect((await store.apiKeys.findById('k1'))?.lastUsedAt).toBe(500);
        expect((await store.apiKeys.findById('k2'))?.lastUsedAt).toBe(300);
        store.apiKeys.touchLastUsed('k1', 450);
        await store.apiKeys.flush();
        expect((await store.apiKeys.findById('k1'))?.lastUsedAt).toBe(500);
        store.apiKeys.touchLastUsed('k2', 900);
        await store.apiKeys.close();
        expect((await store.apiKeys.findById('k2'))?.lastUsedAt).toBe(900);
      });
    });

    describe('data keys', () => {
      it('stores wrapped keys, refuses duplicate ids, finds the newest unretired per class', async () => {
        const record = { id: 'dk1', dataClass: 'audit', kmsKeyId: 'local:v1', wrapped: 'w1', createdAt: 10, retiredAt: null };
        expect(await store.dataKeys.insert(record)).toBe(true);
        expect(await store.dataKeys.insert({ ...record, wrapped: 'other' })).toBe(false);
        expect(await store.dataKeys.findById('dk1')).toEqual(record);
        await store.dataKeys.insert({ ...record, id: 'dk2', createdAt: 20 });
        expect((await store.dataKeys.findCurrent('audit'))?.id).toBe('dk2');
        await store.dataKeys.retire('dk2', 30);
        expect((await store.dataKeys.findCurrent('audit'))?.id).toBe('dk1');
        expect((await store.dataKeys.findById('dk2'))?.retiredAt).toBe(30);
        expect(await store.dataKeys.findCurrent('vault')).toBeUndefined();
        await store.dataKeys.updateWrapped('dk1', 'local:v2', 'w2');
        expect(await store.dataKeys.findById('dk1')).toMatchObject({ kmsKeyId: 'local:v2', wrapped: 'w2' });
        const ids = (await store.dataKeys.list()).map((k) => k.id);
        expect(ids).toEqual(expect.arrayContaining(['dk1', 'dk2', 'blind-index-1']));
      });

      it('gives every instance the same blind-index key when they start together', async () => {
        const instances = await Promise.all(
          Array.from({ length: 4 }, () => createFieldCrypto({ kms, keyStore: createDataKeyRepo(under.db), now })),
        );
        const indexes = new Set([crypto, ...instances].map((c) => c.blindIndex('MRN0012345', 'mrn')));
        expect(indexes.size).toBe(1);
        const rows = await under.db.selectFrom('data_keys').select('id').where('data_class', '=', 'blind-index').execute();
        expect(rows).toHaveLength(1);
      });

      it('keeps data readable across a data-key rotation and a KEK rotation with rewrap', async () => {
        const ctx = { table: 'token_vault', column: 'value', rowId: 'c/1' };
        const before = await crypto.encrypt('Jane Q. Doe', ctx, 'vault');
        const newId = await crypto.rotateDataKey('vault');
        const after = await crypto.encrypt('Jane Q. Doe', ctx, 'vault');
        expect(after.split('.')[1]).toBe(newId);
        expect(before.split('.')[1]).not.toBe(newId);
        await kms.rotate();
        const { rewrapped, total } = await crypto.rewrapDataKeys();
        expect(rewrapped).toBe(total);
        expect((await store.dataKeys.list()).every((k) => k.kmsKeyId === kms.id)).toBe(true);
        // A fresh instance, cold cache, reads both through the rewrapped keys.
        const fresh = await createFieldCrypto({ kms, keyStore: store.dataKeys, now });
        expect(await fresh.decryptString(before, ctx)).toBe('Jane Q. Doe');
        expect(await fresh.decryptString(after, ctx)).toBe('Jane Q. Doe');
        expect(fresh.blindIndex('x', 'p')).toBe(crypto.blindIndex('x', 'p'));
      });
    });

    describe('token vault', () => {
      // The vault's behaviour (numbering, reuse, expiry) is deid's contract, run on this repo in
      // repos/token-vault-repo.test.ts; here: the rows hold only ciphertext bound to their place.
      const recordFor = async (token: string, value: string, sequence: number) => ({
        conversationId: 'conv-a',
        token,
        type: 'NAME',
        sequence,
        valueIndex: crypto.blindIndex(`conv-a\u0000${value}`, 'test'),
        ciphertext: await crypto.encrypt(value, tokenVaultContext('conv-a', token), 'vault'),
        expiresAt: clock + 1000,
      });

      it('stores records, reports conflicts on token or value, and never holds the value in clear', async () => {
        const record = await recordFor('[NAME_1]', 'Jane Q. Doe', 1);
        expect(await store.tokenVault.insert(record)).toBe('inserted');
        expect(await store.tokenVault.insert({ ...record, valueIndex: 'other' })).toBe('conflict');
        expect(await store.tokenVault.insert({ ...record, token: '[NAME_2]', sequence: 2 })).toBe('conflict');
        expect(await store.tokenVault.getByToken('conv-a', '[NAME_1]')).toEqual(record);
        expect(await store.tokenVault.getByValueIndex('conv-a', record.valueIndex)).toEqual(record);
        expect(await crypto.decryptString(record.ciphertext, tokenVaultContext('conv-a', '[NAME_1]'))).toBe('Jane Q. Doe');
        const raw = await store.db.selectFrom('token_vault').selectAll().execute();
        expect(raw[0]?.value_enc.startsWith('v1.')).toBe(true);
        expect(JSON.stringify(raw)).not.toContain('Jane');
      });

      it('refuses a ciphertext copied onto another row', async () => {
        const a = await recordFor('[NAME_1]', 'Jane Q. Doe', 1);
        await store.tokenVault.insert(a);
        await store.tokenVault.insert(await recordFor('[NAME_2]', 'John Roe', 2));
        await store.db.updateTable('token_vault').set({ value_enc: a.ciphertext }).where('conversation_hash', '=', 'conv-a').where('token', '=', '[NAME_2]').execute();
        const moved = await store.tokenVault.getByToken('conv-a', '[NAME_2]');
        await expect(crypto.decryptString(moved?.ciphertext ?? '', tokenVaultContext('conv-a', '[NAME_2]'))).rejects.toMatchObject({ code: 'decrypt_failed' });
      });
    });
  });
}
