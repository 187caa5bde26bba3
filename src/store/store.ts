// SPDX-License-Identifier: Apache-2.0
/**
 * The `Store` seam: the bundle of repositories, written once over `Kysely<Database>` for both
 * SQLite and PostgreSQL, with `FieldCrypto` for the encrypted columns.
 *
 * ```ts
 * const store = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms });
 * await store.users.create({ id, name: 'admin', roles: ['admin'], kind: 'user' });
 * await store.close();
 * ```
 */
import type { Kysely } from 'kysely';
import { createFieldCrypto, type EnvelopeFieldCrypto } from '../crypto/envelope.js';
import type { Kms } from '../crypto/kms.js';
import { createDb, type CreateDbOptions } from './db.js';
import { migrateToLatest } from './migrate.js';
import { createApiKeyRepo, type ApiKeyRepo, type ApiKeyRepoOptions } from './repos/api-key-repo.js';
import { createDataKeyRepo, type DataKeyRepo } from './repos/data-key-repo.js';
import { createTokenVaultRepo, type TokenVaultRepo } from './repos/token-vault-repo.js';
import { createUserRepo, type UserRepo } from './repos/user-repo.js';
import type { Database } from './schema.js';

export interface Store {
  readonly users: UserRepo;
  readonly apiKeys: ApiKeyRepo;
  readonly dataKeys: DataKeyRepo;
  readonly tokenVault: TokenVaultRepo;
  /** For repositories added later and for transactions spanning several repositories. */
  readonly db: Kysely<Database>;
  /** Flushes batched writes and closes the database. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Clock, epoch ms. */
  readonly now?: () => number;
  /** See {@link ApiKeyRepoOptions.touchFlushMs}. */
  readonly apiKeyTouchFlushMs?: number;
  readonly onBackgroundError?: (err: unknown) => void;
}

/** Bundles the repositories over an open, migrated database. */
export function createStore(db: Kysely<Database>, options: StoreOptions = {}): Store {
  const repoOptions = options.now === undefined ? {} : { now: options.now };
  const apiKeyOptions: ApiKeyRepoOptions = {
    ...repoOptions,
    ...(options.apiKeyTouchFlushMs === undefined ? {} : { touchFlushMs: options.apiKeyTouchFlushMs }),
    ...(options.onBackgroundError === undefined ? {} : { onFlushError: options.onBackgroundError }),
  };
  const apiKeys = createApiKeyRepo(db, apiKeyOptions);
  return {
    users: createUserRepo(db, repoOptions),
    apiKeys,
    dataKeys: createDataKeyRepo(db),
    tokenVault: createTokenVaultRepo(db, repoOptions),
    db,
    async close() {
      try {
        await apiKeys.close();
      } finally {
        await db.destroy();
      }
    },
  };
}

export interface OpenStoreOptions extends CreateDbOptions, StoreOptions {
  /** `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. */
  readonly url: string;
  readonly kms: Kms;
}

/** An opened store and the field crypto it was built with (for key rotation and other repos). */
export interface OpenedStore extends Store {
  readonly fieldCrypto: EnvelopeFieldCrypto;
}

/**
 * What the server and CLI call at start: opens the database, runs migrations, loads the data
 * keys through the KMS and bundles the repositories. Closes the database if any step fails.
 */
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  const db = createDb(options.url, options);
  try {
    await migrateToLatest(db);
    const fieldCrypto = await createFieldCrypto({
      kms: options.kms,
      keyStore: createDataKeyRepo(db),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    return { ...createStore(db, options), fieldCrypto };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}
