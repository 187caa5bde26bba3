// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0013: per-use-case retention of inference content. Each content row carries the
 * retention its use case asked for when it was written (`inferenceLogRetentionDays`), so the
 * purge can delete it once it is that old, even while its day key still lives under the global
 * schedule (`audit.contentRetentionDays`). Null: the row follows the day-key schedule only.
 */
import type { Kysely, Migration } from 'kysely';

declare module './0007-audit-ops.js' {
  interface InferenceContentLogTable {
    /** Days the row's use case keeps content; null for rows written before this migration. */
    retention_days: number | null;
  }
}

export const migration0013ContentRetention: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('inference_content_log').addColumn('retention_days', 'integer').execute();
    await db.schema.createIndex('inference_content_log_recorded').on('inference_content_log').column('recorded_at').execute();
  },
};
