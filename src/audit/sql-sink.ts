// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log in the database: one row per chained record, one transaction per group commit.
 *
 * Several gateway processes may append to one database, so the chain head is read *inside* the
 * batch's transaction, under a lock every writer takes:
 * - PostgreSQL: `pg_advisory_xact_lock` on a fixed key, released by COMMIT/ROLLBACK;
 * - SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock up front (a deferred BEGIN
 *   would read the head under a shared lock and fail to upgrade when another process wrote).
 * The `seq` primary key is the second line of defence: two batches on one head cannot both commit.
 *
 * The table and its append-only triggers are made by store/migrations/0002-audit.ts.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { dialectOf } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { chainAfter } from './chain.js';
import type { AuditEvent, ChainedAuditRecord } from './record.js';
import type { AuditSink } from './writer.js';

/** The advisory lock key that serialises audit appends on PostgreSQL ("phigate" in ASCII). */
export const auditChainLockKey = 0x70686967617465n;

type Executor = Kysely<Database> | Transaction<Database>;

/** The last stored record's sequence number and hash. */
export async function readChainHead(db: Executor): Promise<{ seq: number; hash: string } | undefined> {
  const row = await db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
}

async function insertRecords(db: Executor, records: readonly ChainedAuditRecord[]): Promise<void> {
  await db
    .insertInto('audit_events')
    .values(
      records.map((record) => ({
        seq: record.seq,
        id: record.event.id,
        recorded_at: Date.parse(record.event.recordedAt),
        event_type: record.event.type,
        stage: record.event.stage,
        outcome: record.event.outcome,
        request_id: record.event.requestId,
        actor_id: record.event.actor?.userId ?? null,
        patient_hash: record.event.patientHash ?? null,
        endpoint_id: record.event.endpointId ?? null,
        body: record.body,
        prev_hash: record.prevHash,
        hash: record.hash,
      })),
    )
    .execute();
}

/** The {@link AuditSink} over `audit_events`, safe with any number of writers on one database. */
export function createSqlAuditSink(db: Kysely<Database>): AuditSink {
  const dialect = dialectOf(db);
  return {
    async appendBatch(events: readonly AuditEvent[]) {
      if (events.length === 0) return [];
      if (dialect === 'postgres') {
        return db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(${sql.lit(auditChainLockKey.toString())}::bigint)`.execute(trx);
          const records = chainAfter(await readChainHead(trx), events);
          await insertRecords(trx, records);
          return records;
        });
      }
      // Kysely's SQLite transaction issues a deferred BEGIN; take the write lock ourselves.
      return db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const records = chainAfter(await readChainHead(conn), events);
          await insertRecords(conn, records);
          await sql`commit`.execute(conn);
          return records;
        } catch (err) {
          // SQLite may have rolled back already (SQLITE_FULL, I/O errors); a second rollback is harmless.
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw err;
        }
      });
    },
  };
}
