// SPDX-License-Identifier: Apache-2.0
// The vendor repository contract on SQLite (memory) and PGlite; the real server runs it in vendor-repo.int.test.ts.
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { createDb } from '../db.js';
import { createPgliteServer } from '../testing/pglite.js';
import { describeVendorRepoContract } from './vendor-repo.contract.js';

const pglite = createPgliteServer();
afterAll(() => pglite.close());

describeVendorRepoContract('SQLite', async () => ({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }));
describeVendorRepoContract('PGlite', async () => ({ db: await pglite.createDb() }));
