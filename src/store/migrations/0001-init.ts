// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0001: keys, identities and the token vault. Portable types only (text, bigint,
 * integer), so the same module runs on SQLite and PostgreSQL.
 */
import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import { millisType } from '../dialect.js';

export const migration0001Init: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then, not today's types
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('data_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('data_class', 'text', (c) => c.notNull())
      .addColumn('kms_key_id', 'text', (c) => c.notNull())
      .addColumn('wrapped', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('retired_at', millisType)
      .execute();
    await db.schema.createIndex('data_keys_class_idx').on('data_keys').columns(['data_class', 'created_at']).execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('org_unit', 'text')
      .addColumn('kind', 'text', (c) => c.notNull().check(sqlIn('kind', ['user', 'service'])))
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('disabled_at', millisType)
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('restrict'))
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('use_cases', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('expires_at', millisType)
      .addColumn('revoked_at', millisType)
      .addColumn('last_used_at', millisType)
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('rotated_from', 'text', (c) => c.references('api_keys.id').onDelete('set null'))
      .execute();
    await db.schema.createIndex('api_keys_user_idx').on('api_keys').column('user_id').execute();

    await db.schema
      .createTable('token_vault')
      .addColumn('conversation_hash', 'text', (c) => c.notNull())
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('sequence', 'integer', (c) => c.notNull())
      .addColumn('value_index', 'text', (c) => c.notNull())
      .addColumn('value_enc', 'text', (c) => c.notNull())
      .addColumn('expires_at', millisType, (c) => c.notNull())
      .addPrimaryKeyConstraint('token_vault_pk', ['conversation_hash', 'token'])
      .addUniqueConstraint('token_vault_value_uq', ['conversation_hash', 'value_index'])
      .execute();
    await db.schema.createIndex('token_vault_expires_idx').on('token_vault').column('expires_at').execute();
  },

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('token_vault').execute();
    await db.schema.dropTable('api_keys').execute();
    await db.schema.dropTable('users').execute();
    await db.schema.dropTable('data_keys').execute();
  },
};

function sqlIn(column: string, values: readonly string[]): RawBuilder<unknown> {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}
