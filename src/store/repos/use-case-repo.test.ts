// SPDX-License-Identifier: Apache-2.0
// The use-case repository contract on SQLite (memory) and PGlite; the real server runs it in use-case-repo.int.test.ts.
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { createDb } from '../db.js';
import { createPgliteServer } from '../testing/pglite.js';
import { describeUseCaseRepoContract } from './use-case-repo.contract.js';

const pglite = createPgliteServer();
afterAll(() => pglite.close());

describeUseCaseRepoContract('SQLite', async () => ({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }));
describeUseCaseRepoContract('PGlite', async () => ({ db: await pglite.createDb() }));
