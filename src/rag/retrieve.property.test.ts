// SPDX-License-Identifier: Apache-2.0
// The retrieval scope property (testing/retrieval-property.ts) on SQLite and on PostgreSQL in
// process (PGlite with pgvector).
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { createDb } from '../store/db.js';
import { describeProperty } from './testing/retrieval-property.js';
import { createPgliteVectorServer, createRagHarness } from './testing/harness.js';

describeProperty('SQLite', () => createRagHarness({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }), 100);

const server = createPgliteVectorServer();
afterAll(() => server.close());
describeProperty('PostgreSQL (PGlite + pgvector)', async () => createRagHarness({ db: await server.createDb() }), 15);
