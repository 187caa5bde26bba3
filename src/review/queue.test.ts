// SPDX-License-Identifier: Apache-2.0
// The review queue contract on SQLite (memory) and PGlite; the PostgreSQL server and the
// multi-process races run in queue.int.test.ts.
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { createDb } from '../store/db.js';
import { createPgliteServer } from '../store/testing/pglite.js';
import { describeReviewQueueContract } from './queue.contract.js';

const pglite = createPgliteServer();
afterAll(() => pglite.close());

describeReviewQueueContract('SQLite', async () => ({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }));
describeReviewQueueContract('PGlite', async () => ({ db: await pglite.createDb() }));
