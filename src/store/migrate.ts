// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the migrations listed in `migrations/index.ts` — an explicit list, not a folder scan, so
 * bundling and ordering are visible in code. Kysely's migrator takes a lock (an advisory lock on
 * Postgres), so several instances starting at once migrate once.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { dialectOf } from './dialect.js';
import { migrations as allMigrations } from './migrations/index.js';

/** A provider over a fixed record of migrations. */
export function createListMigrationProvider(migrations: Readonly<Record<string, Migration>>): MigrationProvider {
  return { getMigrations: () => Promise.resolve({ ...migrations }) };
}

export class MigrationError extends Error {
  /** Name of the migration that failed, if one did. */
  readonly migration: string | undefined;

  constructor(migration: string | undefined, options: { cause?: unknown }) {
    super(migration === undefined ? 'database migration failed' : `database migration ${migration} failed`, options);
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

/**
 * Brings the schema up to date. Returns the names applied by this call (empty when already
 * current). Throws {@link MigrationError} naming the failing migration.
 */
export async function migrateToLatest(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- works for any schema type
  db: Kysely<any>,
  migrations: Readonly<Record<string, Migration>> = allMigrations,
): Promise<readonly string[]> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one; name the
  // current schema so one database can hold several phigate schemas (tests, benchmarks, tenants).
  const migrationTableSchema =
    dialectOf(db) === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({
    db,
    provider: createListMigrationProvider(migrations),
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    throw new MigrationError(failed?.migrationName, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
