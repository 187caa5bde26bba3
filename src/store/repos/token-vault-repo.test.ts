// SPDX-License-Identifier: Apache-2.0
// deid's TokenVaultRepo contract, run on the database repository (SQLite in memory and PGlite;
// the real server runs the store contract in store.int.test.ts).
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterAll, afterEach } from 'vitest';
import { runTokenVaultRepoContract } from '../../deid/testing/token-vault-repo.contract.js';
import type { PhiCategory } from '../../deid/types.js';
import { createDb } from '../db.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { createPgliteServer } from '../testing/pglite.js';
import { createTokenVaultRepo } from './token-vault-repo.js';

const open: Kysely<Database>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.destroy()));
});

const pglite = createPgliteServer();
afterAll(() => pglite.close());

async function repoOver(db: Kysely<Database>) {
  open.push(db);
  await migrateToLatest(db);
  return createTokenVaultRepo<PhiCategory>(db);
}

runTokenVaultRepoContract('database (SQLite)', () => repoOver(createDb('sqlite::memory:', { baseDir: tmpdir() })));
runTokenVaultRepoContract('database (PGlite)', async () => repoOver(await pglite.createDb()));
