// SPDX-License-Identifier: Apache-2.0
/** Wrapped data keys (`data_keys`): the {@link DataKeyStore} the envelope encryption uses. */
import type { Kysely, Selectable } from 'kysely';
import type { DataKeyRecord, DataKeyStore } from '../../crypto/envelope.js';
import type { Database, DataKeysTable } from '../schema.js';

export type DataKeyRepo = DataKeyStore;

/** Data keys over the database. Holds no state; cheap to create. */
export function createDataKeyRepo(db: Kysely<Database>): DataKeyRepo {
  const toRecord = (row: Selectable<DataKeysTable>): DataKeyRecord => ({
    id: row.id,
    dataClass: row.data_class,
    kmsKeyId: row.kms_key_id,
    wrapped: row.wrapped,
    createdAt: Number(row.created_at),
    retiredAt: row.retired_at === null ? null : Number(row.retired_at),
  });

  return {
    async insert(record) {
      const result = await db
        .insertInto('data_keys')
        .values({
          id: record.id,
          data_class: record.dataClass,
          kms_key_id: record.kmsKeyId,
          wrapped: record.wrapped,
          created_at: record.createdAt,
          retired_at: record.retiredAt,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async findById(id) {
      const row = await db.selectFrom('data_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async findCurrent(dataClass) {
      const row = await db
        .selectFrom('data_keys')
        .selectAll()
        .where('data_class', '=', dataClass)
        .where('retired_at', 'is', null)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async list() {
      const rows = await db.selectFrom('data_keys').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toRecord);
    },
    async updateWrapped(id, kmsKeyId, wrapped) {
      await db.updateTable('data_keys').set({ kms_key_id: kmsKeyId, wrapped }).where('id', '=', id).execute();
    },
    async retire(id, at) {
      await db.updateTable('data_keys').set({ retired_at: at }).where('id', '=', id).where('retired_at', 'is', null).execute();
    },
  };
}
