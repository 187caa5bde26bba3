// SPDX-License-Identifier: Apache-2.0
/** Output incidents on SQLite and on PostgreSQL (PGlite): migration 0012 and the repository. */
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../db.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { createPgliteServer } from '../testing/pglite.js';
import { createOutputIncidentRepo, type NewOutputIncident } from './output-incident-repo.js';

const pglite = createPgliteServer();
afterAll(async () => {
  await pglite.close();
});

const backends: readonly [string, () => Promise<Kysely<Database>>][] = [
  ['SQLite', async () => createDb('sqlite::memory:', { baseDir: tmpdir() })],
  ['PGlite', () => pglite.createDb()],
];

const incident: NewOutputIncident = {
  requestId: 'req-1',
  action: 'redacted',
  patientHash: 'a'.repeat(64),
  useCase: 'discharge-summary',
  endpointId: 'local-llm',
  userId: 'u-1',
  form: 'raw',
  streamed: true,
  leakCount: 3,
  categories: { NAME: 2, MRN: 1 },
  inLinks: 1,
};

describe.each(backends)('output incidents on %s', (_name, open) => {
  it('records incidents with categories and counts, finds them by request and lists newest first', async () => {
    const db = await open();
    try {
      await migrateToLatest(db);
      let now = 1_800_000_000_000;
      const repo = createOutputIncidentRepo(db, { now: () => now });
      const first = await repo.create(incident);
      now += 1000;
      const second = await repo.create({ ...incident, requestId: 'req-2', action: 'blocked', streamed: false, patientHash: null, categories: { SSN: 1 }, leakCount: 1, inLinks: 0 });
      expect(first).toMatchObject({ kind: 'cross_patient_leak', status: 'open', createdAt: 1_800_000_000_000, ...incident });
      expect(await repo.findByRequest('req-1')).toEqual([first]);
      expect((await repo.list()).map((i) => i.id)).toEqual([second.id, first.id]);
      expect((await repo.list({ status: 'open', limit: 1 })).map((i) => i.action)).toEqual(['blocked']);
      expect((await repo.list({ status: 'closed' })).length).toBe(0);
      const row = await db.selectFrom('output_incidents').selectAll().where('id', '=', second.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ categories: '{"SSN":1}', patient_hash: null, streamed: 0 });
    } finally {
      await db.destroy();
    }
  });
});
