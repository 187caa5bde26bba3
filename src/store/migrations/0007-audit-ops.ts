// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0007: what the audit tools need beside the log itself.
 *
 * - lookup indexes for search, the accounting of disclosures and the breach query: each indexed
 *   column paired with `recorded_at`, so a time window is a range scan inside one user, patient
 *   or endpoint;
 * - `audit_legal_holds`: while a hold is active nothing it covers is purged (audit records or
 *   inference content);
 * - `inference_content_keys` / `inference_content_log`: prompt and response content, kept only
 *   when a use case turns it on, encrypted under one data key per day. Purging a day destroys its
 *   key (crypto-shredding): the ciphertexts left behind, in backups too, can no longer be read;
 * - `audit_anomaly_reports`: the results of each anomaly scan.
 */
import type { Kysely, Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface AuditLegalHoldsTable {
  id: string;
  /** `all`, `patient` (subject_hash is the audit patient hash) or `user` (subject_hash is the user id). */
  scope: string;
  subject_hash: string | null;
  /** A case or matter reference, never PHI. */
  reason: string;
  created_by: string;
  created_at: number;
  released_at: number | null;
  released_by: string | null;
}

export interface InferenceContentKeysTable {
  /** UTC day `YYYY-MM-DD` the key encrypts. */
  day: string;
  kms_key_id: string;
  /** The wrapped data key; null once destroyed. */
  wrapped: string | null;
  created_at: number;
  destroyed_at: number | null;
}

export interface InferenceContentLogTable {
  id: string;
  request_id: string;
  recorded_at: number;
  day: string;
  use_case: string | null;
  patient_hash: string | null;
  actor_id: string | null;
  /** `prompt` or `response`. */
  kind: string;
  /** base64 of iv ‖ ciphertext ‖ tag (AES-256-GCM, associated data binds id, day and kind). */
  content_enc: string;
}

export interface AuditAnomalyReportsTable {
  id: string;
  created_at: number;
  window_start: number;
  window_end: number;
  findings: number;
  /** The report as JSON (ids, hashes, counts — no PHI). */
  report: string;
}

declare module '../schema.js' {
  interface Database {
    audit_legal_holds: AuditLegalHoldsTable;
    inference_content_keys: InferenceContentKeysTable;
    inference_content_log: InferenceContentLogTable;
    audit_anomaly_reports: AuditAnomalyReportsTable;
  }
}

export const migration0007AuditOps: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
  async up(db: Kysely<any>): Promise<void> {
    for (const column of ['actor_id', 'patient_hash', 'endpoint_id'] as const) {
      await db.schema.createIndex(`audit_events_${column}_time`).on('audit_events').columns([column, 'recorded_at']).execute();
    }
    await db.schema
      .createTable('audit_legal_holds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('subject_hash', 'text')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('released_at', millisType)
      .addColumn('released_by', 'text')
      .execute();
    await db.schema
      .createTable('inference_content_keys')
      .addColumn('day', 'text', (c) => c.primaryKey())
      .addColumn('kms_key_id', 'text', (c) => c.notNull())
      .addColumn('wrapped', 'text')
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('destroyed_at', millisType)
      .execute();
    await db.schema
      .createTable('inference_content_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('recorded_at', millisType, (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('use_case', 'text')
      .addColumn('patient_hash', 'text')
      .addColumn('actor_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('content_enc', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('inference_content_log_day').on('inference_content_log').column('day').execute();
    await db.schema
      .createTable('audit_anomaly_reports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('window_start', millisType, (c) => c.notNull())
      .addColumn('window_end', millisType, (c) => c.notNull())
      .addColumn('findings', 'integer', (c) => c.notNull())
      .addColumn('report', 'text', (c) => c.notNull())
      .execute();
  },
};
