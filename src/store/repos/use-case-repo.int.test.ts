// SPDX-License-Identifier: Apache-2.0
// The use-case repository contract on the real PostgreSQL server (127.0.0.1:5432, database `test`),
// each test in a fresh schema.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createDb } from '../db.js';
import { describeUseCaseRepoContract } from './use-case-repo.contract.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

describeUseCaseRepoContract('PostgreSQL server', async () => {
  const schema = `phigate_usecase_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return {
    db: createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 }),
    cleanup: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)),
  };
});
