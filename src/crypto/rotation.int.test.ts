// SPDX-License-Identifier: Apache-2.0
// Rotation and ciphertext binding on the real PostgreSQL server, each test in a fresh schema.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createDb } from '../store/db.js';
import { describeRotationSuite } from './rotation.suite.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

describeRotationSuite('PostgreSQL', async () => {
  const schema = `phigate_rotation_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return {
    db: createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 }),
    cleanup: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)),
  };
});
