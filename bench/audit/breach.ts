// SPDX-License-Identifier: Apache-2.0
/**
 * Breach-query benchmark: how long "every patient whose PHI this user (or this vendor) touched
 * in a window" takes on 10 million audit records in PostgreSQL. Goal: under one minute.
 *
 * Generates the records server-side (`INSERT … SELECT generate_series`) into a fresh schema
 * migrated like production (indexes of 0002-audit and 0007-audit-ops included), runs ANALYZE,
 * then times `breachQuery` for one user over 30 days, one user over the whole year, and one
 * vendor's endpoint over 30 days. The schema is dropped afterwards.
 *
 *   npm run bench:audit-breach                       # 10,000,000 records
 *   BENCH_RECORDS=1000000 npm run bench:audit-breach
 *   PHIGATE_TEST_PG_URL=postgres://… npm run bench:audit-breach
 *
 * Shape of the data: 5,000 users, 1,000,000 patients, 20 endpoints, one year of records; each
 * user touches about 2,000 records a year, each endpoint about 500,000.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { breachQuery } from '../../src/audit/search.js';
import { createDb } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const records = Number(process.env.BENCH_RECORDS ?? 10_000_000);
const users = 5000;
const patients = 1_000_000;
const endpoints = 20;
const start = Date.UTC(2025, 0, 1);
const year = 365 * 86_400_000;
const chunk = 1_000_000;

async function timed<T>(label: string, run: () => Promise<T>): Promise<T> {
  const t0 = process.hrtime.bigint();
  const value = await run();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`${label}: ${ms.toFixed(1)} ms\n`);
  return value;
}

async function main(): Promise<void> {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const schema = `phigate_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  const db = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 2 });
  try {
    await migrateToLatest(db);
    const client = await admin.connect();
    try {
      await client.query(`set search_path to ${schema}`);
      await timed(`generate ${records.toLocaleString('en-US')} records`, async () => {
        for (let from = 1; from <= records; from += chunk) {
          const to = Math.min(records, from + chunk - 1);
          // Spread over a year in seq order; patient and user picked by multiplicative hashing so
          // one user's records reach many patients.
          await client.query(
            `insert into audit_events (seq, id, recorded_at, event_type, stage, outcome, request_id, actor_id, patient_hash, endpoint_id, body, prev_hash, hash)
             select g, 'id-' || g, $1::bigint + (g * ($2::bigint / $3::bigint)), 'chat.completion',
                    case when g % 2 = 0 then 'disclosure' else 'completed' end, 'success', 'req-' || (g / 2),
                    'user-' || ((g * 7919) % $4), md5('patient-' || ((g * 104729) % $5)), 'endpoint-' || (g % $6),
                    '{"id":"id-' || g || '","instance":"bench","outcome":"success","stage":"completed","type":"chat.completion"}',
                    md5((g - 1)::text) || md5((g - 1)::text), md5(g::text) || md5(g::text)
             from generate_series($7::bigint, $8::bigint) as g`,
            [start, year, records, users, patients, endpoints, from, to],
          );
        }
      });
      await timed('analyze', () => client.query('analyze audit_events'));
    } finally {
      client.release();
    }
    const month = { since: start + 180 * 86_400_000, until: start + 210 * 86_400_000 };
    const whole = { since: start, until: start + year + 1 };
    const a = await timed('breach query, one user, 30 days', () => breachQuery(db, { userId: 'user-42' }, month));
    const b = await timed('breach query, one user, one year', () => breachQuery(db, { userId: 'user-42' }, whole));
    const c = await timed('breach query, one vendor endpoint, 30 days', () => breachQuery(db, { endpointIds: ['endpoint-7'] }, month));
    process.stdout.write(`affected patients: ${a.length} / ${b.length} / ${c.length}\n`);
  } finally {
    await db.destroy();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

await main();
