// SPDX-License-Identifier: Apache-2.0
/**
 * The vendor registry (`vendors`), the registry revision counter (`registry_revision`) and the
 * BAA expiry warnings already sent (`vendor_baa_warnings`).
 *
 * Every write checks the version the caller read (optimistic concurrency) and bumps the registry
 * revision in the same transaction, so a reader that sees revision N sees every change up to N.
 * Rows are re-validated against the vendor schema when read: a row edited by hand into an
 * impossible record fails loudly instead of being enforced half-way.
 *
 * ```ts
 * const repo = createVendorRepo(db);
 * const current = await repo.get('openai');
 * await repo.upsert({ ...current.vendor, baa: signed }, current.version); // throws vendor_version_conflict if someone else wrote first
 * ```
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { GatewayError } from '../../kernel/errors.js';
import { vendorSchema, type Vendor } from '../../registry/vendor-spec.js';
import { affected, fromJsonText, toJsonText } from '../dialect.js';
import type { VendorsTable } from '../migrations/0008-vendors.js';
import type { Database } from '../schema.js';
import type { RepoOptions } from './user-repo.js';

/** A vendor as stored: the record and the version a write must name. */
export interface VendorRecord {
  readonly vendor: Vendor;
  /** 1 after the insert, +1 per write. */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The result of a write: the stored record and the registry revision it committed as. */
export interface VendorWrite {
  readonly record: VendorRecord;
  readonly revision: number;
}

export interface VendorRepo {
  get(id: string): Promise<VendorRecord | undefined>;
  /** Every vendor, by id. */
  list(): Promise<readonly VendorRecord[]>;
  /**
   * Writes a vendor. `expectedVersion` 0 inserts (throws `vendor_exists` when the id is taken);
   * otherwise it replaces the row only if its version is still `expectedVersion` (throws
   * `vendor_version_conflict` when it moved, `vendor_not_found` when the row is gone).
   * The registry revision is bumped in the same transaction.
   */
  upsert(vendor: Vendor, expectedVersion: number): Promise<VendorWrite>;
  /** Inserts only when the id is free (catalogue seeding); true when inserted. Bumps the revision when it inserts. */
  insertIfMissing(vendor: Vendor): Promise<boolean>;
  /** The current registry revision. */
  revision(): Promise<number>;
  /**
   * Marks an expiry warning as sent; true the first time for this vendor, expiry day and
   * threshold, false when it was already marked (so concurrent checkers warn once).
   */
  markWarningSent(vendorId: string, expiryDate: string, thresholdDays: number): Promise<boolean>;
  /** The warnings already sent for a vendor, by expiry day, then widest threshold first. */
  warningsSent(vendorId: string): Promise<readonly { readonly expiryDate: string; readonly thresholdDays: number; readonly sentAt: number }[]>;
}

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Increments the registry revision inside the caller's transaction and returns the new value.
 * Every registry write (vendors, use cases) calls this in the transaction that makes the change.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await trx.updateTable('use_cases').set(row).where('id', '=', id).execute();
 *   await bumpRegistryRevision(trx, Date.now());
 * });
 */
export async function bumpRegistryRevision(trx: Executor, at: number = Date.now()): Promise<number> {
  const result = await trx
    .updateTable('registry_revision')
    .set((eb) => ({ revision: eb('revision', '+', 1), updated_at: at }))
    .where('id', '=', 1)
    .executeTakeFirst();
  // The row is made by migration 0008; its absence means a broken store, not an empty registry.
  if (affected(result) !== 1) throw new Error('registry_revision row is missing');
  return readRegistryRevision(trx);
}

/** The current registry revision (0 before any registry change). */
export async function readRegistryRevision(db: Executor): Promise<number> {
  const row = await db.selectFrom('registry_revision').select('revision').where('id', '=', 1).executeTakeFirst();
  if (row === undefined) throw new Error('registry_revision row is missing');
  return Number(row.revision);
}

/** Parses a stored vendor row; a row that no longer matches the schema is a corrupt store. */
function toRecord(row: Selectable<VendorsTable>): VendorRecord {
  const parsed = vendorSchema.safeParse(fromJsonText(row.spec));
  if (!parsed.success || parsed.data.id !== row.id) throw new Error('vendors row does not hold a valid vendor record');
  return { vendor: parsed.data, version: Number(row.version), createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}

export function createVendorRepo(db: Kysely<Database>, options: RepoOptions = {}): VendorRepo {
  const now = options.now ?? Date.now;

  const insert = async (trx: Executor, vendor: Vendor, at: number): Promise<boolean> => {
    const result = await trx
      .insertInto('vendors')
      .values({ id: vendor.id, spec: toJsonText(vendor), version: 1, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return affected(result) === 1;
  };

  return {
    async get(id) {
      const row = await db.selectFrom('vendors').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async list() {
      const rows = await db.selectFrom('vendors').selectAll().orderBy('id').execute();
      return rows.map(toRecord);
    },
    async upsert(input, expectedVersion) {
      // Validate before writing, so the store only ever holds records the schema accepts.
      const vendor = vendorSchema.parse(input);
      if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) throw new RangeError('expectedVersion must be a non-negative integer');
      const at = now();
      return db.transaction().execute(async (trx) => {
        if (expectedVersion === 0) {
          if (!(await insert(trx, vendor, at))) throw new GatewayError('vendor_exists', { detail: { vendor: vendor.id } });
          const revision = await bumpRegistryRevision(trx, at);
          return { record: { vendor, version: 1, createdAt: at, updatedAt: at }, revision };
        }
        const result = await trx
          .updateTable('vendors')
          .set({ spec: toJsonText(vendor), version: expectedVersion + 1, updated_at: at })
          .where('id', '=', vendor.id)
          .where('version', '=', expectedVersion)
          .executeTakeFirst();
        if (affected(result) !== 1) {
          const exists = await trx.selectFrom('vendors').select('version').where('id', '=', vendor.id).executeTakeFirst();
          if (exists === undefined) throw new GatewayError('vendor_not_found', { detail: { vendor: vendor.id } });
          throw new GatewayError('vendor_version_conflict', { detail: { vendor: vendor.id, expectedVersion, currentVersion: Number(exists.version) } });
        }
        const row = await trx.selectFrom('vendors').select('created_at').where('id', '=', vendor.id).executeTakeFirstOrThrow();
        const revision = await bumpRegistryRevision(trx, at);
        return { record: { vendor, version: expectedVersion + 1, createdAt: Number(row.created_at), updatedAt: at }, revision };
      });
    },
    async insertIfMissing(input) {
      const vendor = vendorSchema.parse(input);
      const at = now();
      return db.transaction().execute(async (trx) => {
        const inserted = await insert(trx, vendor, at);
        if (inserted) await bumpRegistryRevision(trx, at);
        return inserted;
      });
    },
    revision: () => readRegistryRevision(db),
    async markWarningSent(vendorId, expiryDate, thresholdDays) {
      const result = await db
        .insertInto('vendor_baa_warnings')
        .values({ vendor_id: vendorId, expiry_date: expiryDate, threshold_days: thresholdDays, sent_at: now() })
        .onConflict((oc) => oc.columns(['vendor_id', 'expiry_date', 'threshold_days']).doNothing())
        .executeTakeFirst();
      return affected(result) === 1;
    },
    async warningsSent(vendorId) {
      const rows = await db
        .selectFrom('vendor_baa_warnings')
        .selectAll()
        .where('vendor_id', '=', vendorId)
        .orderBy('expiry_date')
        .orderBy('threshold_days', 'desc')
        .execute();
      return rows.map((r) => ({ expiryDate: r.expiry_date, thresholdDays: Number(r.threshold_days), sentAt: Number(r.sent_at) }));
    },
  };
}
