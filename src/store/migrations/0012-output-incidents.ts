// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0012: output incidents. One row per answer in which the output filter found another
 * patient's identifiers (a cross-patient leak): what it did (redacted or blocked), the
 * categories and counts, and the request it belongs to. No identifier value is ever stored —
 * the request's patient appears only as the audit log's keyed hash, so the audit trail and the
 * incident join on the request id and the patient hash.
 *
 * Break-glass incidents (`access_incidents`, migration 0003) record a person's access and are
 * reviewed against a session; these record what a model said, so they are a table of their own.
 */
import type { Kysely, Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface OutputIncidentsTable {
  id: string;
  /** `cross_patient_leak`. */
  kind: string;
  request_id: string;
  created_at: number;
  /** `open`, then whatever the privacy officer's review decides. */
  status: string;
  /** `redacted` or `blocked`. */
  action: string;
  /** The audit log's keyed hash of the request's patient; null when the request named none. */
  patient_hash: string | null;
  use_case: string | null;
  endpoint_id: string | null;
  user_id: string | null;
  /** How the payload left: raw, deidentified, pseudonymised. */
  form: string | null;
  streamed: number;
  leak_count: number;
  /** JSON object: category → count (never values). */
  categories: string;
  /** Of `leak_count`, how many sat inside link destinations the filter removed. */
  in_links: number;
}

declare module '../schema.js' {
  interface Database {
    output_incidents: OutputIncidentsTable;
  }
}

export const migration0012OutputIncidents: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('output_incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('patient_hash', 'text')
      .addColumn('use_case', 'text')
      .addColumn('endpoint_id', 'text')
      .addColumn('user_id', 'text')
      .addColumn('form', 'text')
      .addColumn('streamed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('leak_count', 'integer', (c) => c.notNull())
      .addColumn('categories', 'text', (c) => c.notNull())
      .addColumn('in_links', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('output_incidents_created_idx').on('output_incidents').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('output_incidents_request_idx').on('output_incidents').column('request_id').execute();
  },
};
