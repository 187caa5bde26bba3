// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0002: the audit log. One row per chained record (see audit/chain.ts). The table is
 * append-only: triggers refuse every UPDATE and DELETE, so not even phigate's own code can
 * rewrite history through SQL.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { dialectOf, millisType } from '../dialect.js';

export interface AuditEventsTable {
  seq: number;
  id: string;
  recorded_at: number;
  event_type: string;
  stage: string;
  outcome: string;
  request_id: string;
  actor_id: string | null;
  patient_hash: string | null;
  endpoint_id: string | null;
  /** Canonical JSON of the event, exactly as hashed. */
  body: string;
  prev_hash: string;
  hash: string;
}

declare module '../schema.js' {
  interface Database {
    audit_events: AuditEventsTable;
  }
}

/** The audit table, its lookup indexes and the append-only triggers. */
export const migration0002Audit: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('audit_events')
      .addColumn('seq', millisType, (col) => col.primaryKey())
      .addColumn('id', 'text', (col) => col.notNull().unique())
      .addColumn('recorded_at', millisType, (col) => col.notNull())
      .addColumn('event_type', 'text', (col) => col.notNull())
      .addColumn('stage', 'text', (col) => col.notNull())
      .addColumn('outcome', 'text', (col) => col.notNull())
      .addColumn('request_id', 'text', (col) => col.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('patient_hash', 'text')
      .addColumn('endpoint_id', 'text')
      .addColumn('body', 'text', (col) => col.notNull())
      .addColumn('prev_hash', 'text', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .execute();
    for (const column of ['request_id', 'actor_id', 'patient_hash', 'recorded_at'] as const) {
      await db.schema.createIndex(`audit_events_${column}`).on('audit_events').column(column).execute();
    }
    if (dialectOf(db) === 'sqlite') {
      for (const action of ['UPDATE', 'DELETE'] as const) {
        await sql
          .raw(
            `CREATE TRIGGER audit_events_no_${action.toLowerCase()} BEFORE ${action} ON audit_events ` +
              `BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END`,
          )
          .execute(db);
      }
    } else {
      await sql
        .raw(
          `CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS ` +
            `$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$`,
        )
        .execute(db);
      await sql
        .raw('CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()')
        .execute(db);
    }
  },
};
