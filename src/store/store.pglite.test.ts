// SPDX-License-Identifier: Apache-2.0
// The repository contract on in-process PostgreSQL; the real server runs it in store.int.test.ts.
import { afterAll } from 'vitest';
import { describeStoreContract } from './store.contract.js';
import { createPgliteServer } from './testing/pglite.js';

const pglite = createPgliteServer();
afterAll(() => pglite.close());

describeStoreContract('PGlite', async () => ({ db: await pglite.createDb() }));
