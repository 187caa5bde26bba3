// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log in the database: one row per chained record, written by one multi-row INSERT
 * per group commit (atomic on both dialects). The table and its append-only triggers are made
 * by store/migrations/0002-audit.ts.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditSink } from './writer.js';
import type { ChainedAuditRecord } from './record.js';

export function createSqlAuditSink(db: Kysely<Database>): AuditSink {
  return {
    async head() {
      const row = await db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
    },
    async appendBatch(records: readonly ChainedAuditRecord[]) {
      if (records.length === 0) return;
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
    },
  };
}
