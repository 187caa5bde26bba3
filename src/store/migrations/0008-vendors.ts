// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0008: the vendor registry.
 *
 * - `vendors`: one row per vendor, the validated record (registry/vendor-spec.ts) as JSON text,
 *   with a `version` that every write checks and increments (optimistic concurrency: two admins
 *   amending the same BAA cannot silently overwrite each other);
 * - `registry_revision`: a single row whose counter every registry change (vendors here, use
 *   cases in 0009) increments inside the same transaction, so every gateway instance can tell
 *   with one read whether its cached registry snapshot is stale;
 * - `vendor_baa_warnings`: BAA expiry warnings already sent, one row per vendor, expiry date and
 *   threshold, so each warning goes out once (a renewed BAA has a new expiry date and warns again).
 *
 * Nothing here is PHI: vendor records are governed configuration.
 */
import type { Kysely, Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface VendorsTable {
  id: string;
  /** The vendor record (`Vendor`) as JSON. */
  spec: string;
  /** 1 on insert, +1 on every write. */
  version: number;
  created_at: number;
  updated_at: number;
}

export interface RegistryRevisionTable {
  /** Always 1: the table holds one row. */
  id: number;
  /** Increases with every committed registry change. */
  revision: number;
  updated_at: number;
}

export interface VendorBaaWarningsTable {
  vendor_id: string;
  /** The BAA expiry day (YYYY-MM-DD) the warning was about. */
  expiry_date: string;
  /** The warning threshold in days (30, 7, …). */
  threshold_days: number;
  sent_at: number;
}

declare module '../schema.js' {
  interface Database {
    vendors: VendorsTable;
    registry_revision: RegistryRevisionTable;
    vendor_baa_warnings: VendorBaaWarningsTable;
  }
}

export const migration0008Vendors: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('vendors')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('updated_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('registry_revision')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('revision', millisType, (c) => c.notNull())
      .addColumn('updated_at', millisType, (c) => c.notNull())
      .execute();
    await db.insertInto('registry_revision').values({ id: 1, revision: 0, updated_at: 0 }).execute();
    await db.schema
      .createTable('vendor_baa_warnings')
      .addColumn('vendor_id', 'text', (c) => c.notNull())
      .addColumn('expiry_date', 'text', (c) => c.notNull())
      .addColumn('threshold_days', 'integer', (c) => c.notNull())
      .addColumn('sent_at', millisType, (c) => c.notNull())
      .addPrimaryKeyConstraint('vendor_baa_warnings_pk', ['vendor_id', 'expiry_date', 'threshold_days'])
      .execute();
  },
};
