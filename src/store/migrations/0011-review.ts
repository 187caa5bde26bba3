// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0011: the human review queue (review/queue.ts). One row per held answer of a
 * treatment-affecting use case, from `queued` through `claimed` (a time-boxed lease held by one
 * reviewer) to `approved`, `edited` or `rejected`.
 *
 * Everything PHI-bearing is a FieldCrypto ciphertext bound to (review_items, column, id): the
 * patient reference, the model's answer, the reviewer's edited version, the rejection reason and
 * the FHIR Provenance resource (it names source documents). The patient is also kept as a blind
 * index for lookups. `version` increases with every transition (optimistic concurrency); every
 * transition's UPDATE names the version it read.
 */
import type { Kysely, Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface ReviewItemsTable {
  id: string;
  /** The request whose answer is held. */
  request_id: string;
  /** `queued`, `claimed`, `approved`, `edited`, `rejected`. */
  status: string;
  version: number;
  use_case_id: string;
  use_case_version: number;
  /** The authenticated principal that asked; only it may fetch the released answer. */
  requester_id: string;
  /** The user whose patient access was decided (the delegating user for a service account). */
  subject_user_id: string;
  patient_index: string | null;
  patient_enc: string | null;
  purpose: string | null;
  /** The audit event type of the surface that asked (`chat.completion`, `anthropic.message`). */
  surface: string;
  endpoint_id: string;
  vendor: string | null;
  /** The upstream model that answered. */
  model: string;
  /** Keyed hash of the held answer (the audit records carry the same value). */
  answer_hmac: string;
  /** JSON: the chat result, its citations and confidence, the label and source attributes. */
  answer_enc: string;
  /** JSON: the reviewer's edited content, when approved with edits. */
  edited_enc: string | null;
  reason_enc: string | null;
  /** JSON: the FHIR R4 Provenance resource recorded with the decision. */
  provenance_enc: string | null;
  claimed_by: string | null;
  claimed_at: number | null;
  lease_until: number | null;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
  updated_at: number;
}

declare module '../schema.js' {
  interface Database {
    review_items: ReviewItemsTable;
  }
}

export const migration0011Review: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('review_items')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('use_case_id', 'text', (c) => c.notNull())
      .addColumn('use_case_version', 'integer', (c) => c.notNull())
      .addColumn('requester_id', 'text', (c) => c.notNull())
      .addColumn('subject_user_id', 'text', (c) => c.notNull())
      .addColumn('patient_index', 'text')
      .addColumn('patient_enc', 'text')
      .addColumn('purpose', 'text')
      .addColumn('surface', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('vendor', 'text')
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('answer_hmac', 'text', (c) => c.notNull())
      .addColumn('answer_enc', 'text', (c) => c.notNull())
      .addColumn('edited_enc', 'text')
      .addColumn('reason_enc', 'text')
      .addColumn('provenance_enc', 'text')
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_at', millisType)
      .addColumn('lease_until', millisType)
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', millisType)
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('updated_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('review_items_status_idx').on('review_items').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('review_items_requester_idx').on('review_items').columns(['requester_id', 'created_at']).execute();
    await db.schema.createIndex('review_items_patient_idx').on('review_items').column('patient_index').execute();
  },
};
