// SPDX-License-Identifier: Apache-2.0
import { tmpdir } from 'node:os';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { describeAuditSearchContract } from './search.contract.js';

describeAuditSearchContract('SQLite', async () => {
  const db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
  return { db, close: () => db.destroy() };
});
