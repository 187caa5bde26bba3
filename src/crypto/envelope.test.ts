// SPDX-License-Identifier: Apache-2.0
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { createDataKeyRepo } from '../store/repos/data-key-repo.js';
import type { Database } from '../store/schema.js';
import { BLIND_INDEX_KEY_ID, createFieldCrypto, type EnvelopeFieldCrypto } from './envelope.js';
import type { FieldContext } from './field-crypto.js';
import { ensureLocalKeyFile, type LocalKeyFileKms } from './kms/local-keyfile.js';

let dir: string;
let db: Kysely<Database>;
let kms: LocalKeyFileKms;
let crypto: EnvelopeFieldCrypto;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phigate-envelope-'));
  kms = await ensureLocalKeyFile(join(dir, 'keys', 'local-kek'));
  db = createDb('sqlite::memory:', { baseDir: dir });
  await migrateToLatest(db);
  crypto = await createFieldCrypto({ kms, keyStore: createDataKeyRepo(db) });
});

afterEach(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

const ctx: FieldContext = { table: 'token_vault', column: 'value', rowId: 'conv-1/[NAME_1]' };

describe('envelope field crypto', () => {
  it('writes v1.<keyId>.<nonce>.<ciphertext>.<tag> and reads it back', async () => {
    const ct = await crypto.encrypt('Jane Q. Doe', ctx, 'vault');
    expect(ct).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(ct).not.toContain('Jane');
    expect(await crypto.decryptString(ct, ctx)).toBe('Jane Q. Doe');
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(Buffer.from(await crypto.decrypt(await crypto.encrypt(bytes, ctx, 'vault'), ctx))).toEqual(Buffer.from(bytes));
    expect(await crypto.decryptString(await crypto.encrypt('', ctx, 'vault'), ctx)).toBe('');
  });

  it('round-trips any string (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), fc.string(), async (value, rowId) => {
        const c = { ...ctx, rowId };
        expect(await crypto.decryptString(await crypto.encrypt(value, c, 'identity'), c)).toBe(value);
      }),
      { numRuns: 200 },
    );
  });

  it('uses a fresh nonce every time', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add((await crypto.encrypt('same', ctx, 'vault')).split('.')[2] ?? '');
    expect(seen.size).toBe(200);
  });

  it('refuses 100% of ciphertexts moved to another table, column or row', async () => {
    const contexts: FieldContext[] = [];
    for (const table of ['token_vault', 'audit_events', 'users'])
      for (const column of ['value', 'detail'])
        for (const rowId of ['1', '2', 'conv-1/[NAME_1]', 'conv-1/[NAME_2]']) contexts.push({ table, column, rowId });
    const cts = await Promise.all(contexts.map((c, i) => crypto.encrypt(`canary-${i}`, c, i % 2 === 0 ? 'vault' : 'audit')));
    let moved = 0;
    let refused = 0;
    for (const [i, ct] of cts.entries()) {
      for (const [j, target] of contexts.entries()) {
        if (i === j) {
          expect(await crypto.decryptString(ct, target)).toBe(`canary-${i}`);
          continue;
        }
        moved += 1;
        try {
          await crypto.decrypt(ct, target);
        } catch (err) {
          expect(err).toMatchObject({ code: 'decrypt_failed' });
          refused += 1;
        }
      }
    }
    expect(moved).toBe(24 * 23);
    expect(refused).toBe(moved);
  });

  it('refuses every single-character change and malformed input', async () => {
    const ct = await crypto.encrypt('MRN 0012345', ctx, 'vault');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let refused = 0;
    for (let i = 0; i < ct.length; i++) {
      const ch = ct[i] ?? '';
      const swapped = ct.slice(0, i) + (alphabet[(alphabet.indexOf(ch) + 1) % alphabet.length] ?? 'A') + ct.slice(i + 1);
      await crypto.decrypt(swapped, ctx).then(
        () => undefined,
        () => (refused += 1),
      );
    }
    expect(refused).toBe(ct.length);
    for (const bad of ['', 'v1', 'v2.a.b.c.d', `${ct}.x`, ct.replace(/^v1/, 'v0'), 'v1.bad key.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA']) {
      await expect(crypto.decrypt(bad, ctx)).rejects.toMatchObject({ name: 'FieldCryptoError' });
    }
  });

  it('keeps one data key per class and reuses it', async () => {
    const keyOf = async (cls: string): Promise<string> => (await crypto.encrypt('x', ctx, cls)).split('.')[1] ?? '';
    const [a, b, c, d] = await Promise.all([keyOf('vault'), keyOf('vault'), keyOf('audit'), keyOf('content')]);
    expect(a).toBe(b);
    expect(new Set([a, c, d]).size).toBe(3);
    const rows = await db.selectFrom('data_keys').select(['data_class']).execute();
    expect(rows.map((r) => r.data_class).sort()).toEqual(['audit', 'blind-index', 'content', 'vault']);
  });

  it('refuses reserved or malformed data classes', async () => {
    for (const cls of ['blind-index', 'Vault', '', 'a.b', 'x'.repeat(40)]) {
      await expect(crypto.encrypt('x', ctx, cls)).rejects.toMatchObject({ code: 'invalid_data_class' });
    }
  });

  it('refuses a ciphertext naming an unknown key or the index key, without leaking the value', async () => {
    const ct = await crypto.encrypt('Jane Q. Doe', ctx, 'vault');
    const parts = ct.split('.');
    const unknown = [parts[0], 'AAAAAAAAAAAAAAAA', ...parts.slice(2)].join('.');
    await expect(crypto.decrypt(unknown, ctx)).rejects.toMatchObject({ code: 'unknown_data_key' });
    const index = [parts[0], BLIND_INDEX_KEY_ID, ...parts.slice(2)].join('.');
    await expect(crypto.decrypt(index, ctx)).rejects.toMatchObject({ code: 'unknown_data_key' });
    const err = await crypto.decrypt(ct, { ...ctx, rowId: 'elsewhere' }).then(
      () => new Error('decrypted'),
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ code: 'decrypt_failed' });
    expect(err.message).not.toMatch(/Jane|elsewhere|token_vault/);
  });

  it('refuses a wrapped data key copied onto another data_keys row', async () => {
    const vaultCt = await crypto.encrypt('x', ctx, 'vault');
    await crypto.encrypt('y', ctx, 'audit');
    const rows = await db.selectFrom('data_keys').selectAll().execute();
    const vault = rows.find((r) => r.data_class === 'vault');
    const audit = rows.find((r) => r.data_class === 'audit');
    await db.updateTable('data_keys').set({ wrapped: audit?.wrapped ?? '' }).where('id', '=', vault?.id ?? '').execute();
    const fresh = await createFieldCrypto({ kms, keyStore: createDataKeyRepo(db) });
    await expect(fresh.decrypt(vaultCt, ctx)).rejects.toMatchObject({ code: 'unwrap_failed' });
  });

  it('reloads keys from the store in a new instance; a different key file cannot', async () => {
    const ct = await crypto.encrypt('Jane Q. Doe', ctx, 'vault');
    const again = await createFieldCrypto({ kms, keyStore: createDataKeyRepo(db) });
    expect(await again.decryptString(ct, ctx)).toBe('Jane Q. Doe');
    crypto.forgetKeys();
    expect(await crypto.decryptString(ct, ctx)).toBe('Jane Q. Doe');
    const otherKms = await ensureLocalKeyFile(join(dir, 'other', 'local-kek'));
    await expect(createFieldCrypto({ kms: otherKms, keyStore: createDataKeyRepo(db) })).rejects.toMatchObject({ code: 'unwrap_failed' });
  });

  it('computes blind indexes: hex, deterministic, separated by purpose, keyed per installation', async () => {
    const a = crypto.blindIndex('MRN0012345', 'mrn');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(crypto.blindIndex('MRN0012345', 'mrn')).toBe(a);
    expect(crypto.blindIndex('MRN0012345', 'token-vault')).not.toBe(a);
    expect(crypto.blindIndex('bc', 'a')).not.toBe(crypto.blindIndex('c', 'ab'));
    const otherDb = createDb('sqlite::memory:', { baseDir: dir });
    try {
      await migrateToLatest(otherDb);
      const other = await createFieldCrypto({ kms, keyStore: createDataKeyRepo(otherDb) });
      expect(other.blindIndex('MRN0012345', 'mrn')).not.toBe(a);
    } finally {
      await otherDb.destroy();
    }
  });

  it('converges on one index key when instances start together', async () => {
    const otherDb = createDb('sqlite::memory:', { baseDir: dir });
    try {
      await migrateToLatest(otherDb);
      const many = await Promise.all(Array.from({ length: 5 }, () => createFieldCrypto({ kms, keyStore: createDataKeyRepo(otherDb) })));
      expect(new Set(many.map((m) => m.blindIndex('v', 'p'))).size).toBe(1);
    } finally {
      await otherDb.destroy();
    }
  });

  it('rotates a class’s data key for new writes; old ciphertexts still decrypt', async () => {
    const old = await crypto.encrypt('before', ctx, 'vault');
    const id = await crypto.rotateDataKey('vault');
    const fresh = await crypto.encrypt('after', ctx, 'vault');
    expect(fresh.split('.')[1]).toBe(id);
    expect(old.split('.')[1]).not.toBe(id);
    expect(await crypto.decryptString(old, ctx)).toBe('before');
    const retired = await db.selectFrom('data_keys').select('id').where('data_class', '=', 'vault').where('retired_at', 'is not', null).execute();
    expect(retired.map((r) => r.id)).toEqual([old.split('.')[1]]);
  });

  it('rewraps every data key under a new KEK without touching data', async () => {
    const ct = await crypto.encrypt('keep me', ctx, 'vault');
    await crypto.encrypt('x', ctx, 'audit');
    await kms.rotate();
    expect(await crypto.rewrapDataKeys()).toEqual({ rewrapped: 3, total: 3 });
    expect(await crypto.rewrapDataKeys()).toEqual({ rewrapped: 0, total: 3 });
    await kms.retire(1);
    const fresh = await createFieldCrypto({ kms, keyStore: createDataKeyRepo(db) });
    expect(await fresh.decryptString(ct, ctx)).toBe('keep me');
  });
});
