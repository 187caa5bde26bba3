// SPDX-License-Identifier: Apache-2.0
// The DocumentIndex contract on SQLite (FTS5 + exact cosine), in memory.
import { tmpdir } from 'node:os';
import { createDb } from '../../store/db.js';
import { describeDocumentIndexContract } from '../vector-index.contract.js';
import { createSqliteDocumentIndex } from './sqlite-index.js';

describeDocumentIndexContract(
  'SQLite',
  () => {
    const db = createDb('sqlite::memory:', { baseDir: tmpdir() });
    return Promise.resolve({ db, index: createSqliteDocumentIndex(db) });
  },
  { vectorMode: 'exact' },
);
