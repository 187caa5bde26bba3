// SPDX-License-Identifier: Apache-2.0
/** The store: Kysely over SQLite or PostgreSQL, migrations, and the repositories. */
export { createDb, parseStoreUrl, type CreateDbOptions, type StoreTarget } from './db.js';
export { affected, binaryType, databaseNow, dialectOf, fromJsonText, millisType, stringListFromJson, toJsonText, type DialectName } from './dialect.js';
export { createListMigrationProvider, migrateToLatest, MigrationError } from './migrate.js';
export { migrations } from './migrations/index.js';
export type { Database } from './schema.js';
export { createStore, openStore, type OpenedStore, type OpenStoreOptions, type Store, type StoreOptions } from './store.js';
export { createApiKeyRepo, type ApiKeyRecord, type ApiKeyRepo, type ApiKeyRepoOptions, type NewApiKey } from './repos/api-key-repo.js';
export { createDataKeyRepo, type DataKeyRepo } from './repos/data-key-repo.js';
export {
  createTokenVaultRepo,
  tokenVaultContext,
  tokenVaultField,
  type TokenVaultRecord,
  type TokenVaultRepo,
  type TokenVaultRepoOptions,
} from './repos/token-vault-repo.js';
export { createUserRepo, type NewUser, type RepoOptions, type UserKind, type UserRecord, type UserRepo } from './repos/user-repo.js';
