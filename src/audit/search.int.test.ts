// SPDX-License-Identifier: Apache-2.0
// The audit search suite on the real PostgreSQL server, each run in a fresh schema.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { describeAuditSearchContract } from './search.contract.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

describeAuditSearchContract('PostgreSQL', async () => {
  const schema = `phigate_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  const db = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 2 });
  await migrateToLatest(db);
  return {
    db,
    close: async () => {
      await db.destroy();
      await admin.query(`drop schema if exists ${schema} cascade`);
    },
  };
});
