// SPDX-License-Identifier: Apache-2.0
// The DocumentIndex contract on the real PostgreSQL server (127.0.0.1:5432, database `test`).
// When that server has no pgvector (as on these machines), the index says so at start and runs
// vector search as an exact scan; the contract holds either way.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../../store/db.js';
import { migrateToLatest } from '../../store/migrate.js';
import { describeDocumentIndexContract } from '../vector-index.contract.js';
import { createPostgresDocumentIndex } from './postgres-index.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

const available = (await admin.query<{ name: string }>(`select name from pg_available_extensions where name = 'vector'`)).rows.length > 0;

async function fresh(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `phigate_rag_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return { schema, drop: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)) };
}

describeDocumentIndexContract(
  `PostgreSQL server (${available ? 'pgvector' : 'no pgvector: exact scan'})`,
  async () => {
    const { schema, drop } = await fresh();
    const db = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 });
    return { db, index: createPostgresDocumentIndex(db), cleanup: drop };
  },
  { vectorMode: available ? 'pgvector' : 'exact' },
);

describe('PostgreSQL server: start-up report', () => {
  it('says which vector mode it runs in, and why', async () => {
    const { schema, drop } = await fresh();
    const db = createDb(url, { baseDir: tmpdir(), schema });
    try {
      await migrateToLatest(db);
      const told: string[] = [];
      const index = createPostgresDocumentIndex(db, { onMode: (mode, reason) => told.push(`${mode}: ${reason}`) });
      await index.init();
      expect(told).toHaveLength(1);
      expect(told[0]).toMatch(available ? /^pgvector: pgvector \d/ : /^exact: the pgvector extension is not installed/);
    } finally {
      await db.destroy();
      await drop();
    }
  });
});
