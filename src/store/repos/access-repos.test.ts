// SPDX-License-Identifier: Apache-2.0
// The access repository contract on SQLite (memory) and PGlite; the real server runs it in access-repos.int.test.ts.
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { createDb } from '../db.js';
import { createPgliteServer } from '../testing/pglite.js';
import { describeAccessRepoContract } from './access-repos.contract.js';

const pglite = createPgliteServer();
afterAll(() => pglite.close());

describeAccessRepoContract('SQLite', async () => ({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }));
describeAccessRepoContract('PGlite', async () => ({ db: await pglite.createDb() }));
