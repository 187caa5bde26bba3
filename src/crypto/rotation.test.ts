// SPDX-License-Identifier: Apache-2.0
import { tmpdir } from 'node:os';
import { createDb } from '../store/db.js';
import { describeRotationSuite } from './rotation.suite.js';

describeRotationSuite('SQLite', async () => ({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) }));
