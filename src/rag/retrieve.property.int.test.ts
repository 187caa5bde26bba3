// SPDX-License-Identifier: Apache-2.0
// The retrieval scope property (testing/retrieval-property.ts) on the real PostgreSQL server
// (127.0.0.1:5432, database `test`): pgvector when the server has it, else the exact scan.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createDb } from '../store/db.js';
import { describeProperty } from './testing/retrieval-property.js';
import { createRagHarness } from './testing/harness.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.end();
});

describeProperty(
  'PostgreSQL server',
  async () => {
    const schema = `phigate_ragprop_${randomBytes(6).toString('hex')}`;
    await admin.query(`create schema ${schema}`);
    schemas.push(schema);
    return createRagHarness({ db: createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 }) });
  },
  20,
);
