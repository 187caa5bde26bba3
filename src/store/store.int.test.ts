// SPDX-License-Identifier: Apache-2.0
// The repository contract on the real PostgreSQL server (127.0.0.1:5432, database `test`).
// Every database handed to the suite is a fresh schema, dropped afterwards, so test files and
// parallel runs never see each other's rows.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from './db.js';
import { describeStoreContract } from './store.contract.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

async function freshSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `phigate_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return { schema, drop: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)) };
}

describeStoreContract('PostgreSQL server', async () => {
  const { schema, drop } = await freshSchema();
  return { db: createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 }), cleanup: drop };
});

describe('PostgreSQL specifics', () => {
  it('returns int8 columns as numbers and keeps tables inside the test schema', async () => {
    const { schema, drop } = await freshSchema();
    const db = createDb(url, { baseDir: tmpdir(), schema });
    try {
      const { migrateToLatest } = await import('./migrate.js');
      await migrateToLatest(db);
      await db.insertInto('data_keys').values({ id: 'a', data_class: 'x', kms_key_id: 'k', wrapped: 'w', created_at: 1_800_000_000_123, retired_at: null }).execute();
      const row = await db.selectFrom('data_keys').select('created_at').executeTakeFirstOrThrow();
      expect(row.created_at).toBe(1_800_000_000_123);
      const { rows } = await admin.query<{ table_schema: string }>(
        `select distinct table_schema from information_schema.tables where table_name = 'data_keys' and table_schema = $1`,
        [schema],
      );
      expect(rows).toHaveLength(1);
    } finally {
      await db.destroy();
      await drop();
    }
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createDb(url, { baseDir: tmpdir(), schema: 'x; drop table y' })).toThrow(/identifier/);
  });
});
