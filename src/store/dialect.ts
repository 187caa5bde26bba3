// SPDX-License-Identifier: Apache-2.0
/**
 * The few places SQLite and PostgreSQL differ, kept in one file so repositories and migrations
 * are written once. Upserts need no helper: both accept `INSERT … ON CONFLICT (…) DO UPDATE`,
 * which Kysely's `onConflict` builds for either.
 */
import { PostgresAdapter, SqliteAdapter, sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';

/** What `addColumn` accepts as a type (Kysely does not export this alias from its root). */
export type DataTypeExpression = ColumnDataType | Expression<unknown>;

export type DialectName = 'sqlite' | 'postgres';

/** Which database a Kysely instance talks to. Works inside migrations and transactions too. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
export function dialectOf(db: Kysely<any>): DialectName {
  // getExecutor() is marked internal but is the only handle on the adapter; the adapter classes
  // are the dialect's public identity, so this survives Kysely upgrades within 0.x.
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  throw new Error('unsupported database dialect');
}

/** Column type for raw bytes: `bytea` on Postgres, `blob` on SQLite. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
export function binaryType(db: Kysely<any>): DataTypeExpression {
  return dialectOf(db) === 'postgres' ? sql`bytea` : 'blob';
}

/** Column type for epoch-millisecond times and other 64-bit integers (INTEGER affinity in SQLite). */
export const millisType = 'bigint' satisfies DataTypeExpression;

/** Serialises a list or map for a JSON text column. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** Parses a JSON text column written by {@link toJsonText}. */
export function fromJsonText<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Parses a JSON text column holding a list of strings; anything else is a corrupt row. */
export function stringListFromJson(text: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error('expected a JSON array of strings');
  return value;
}

/**
 * The database's own clock, epoch ms — for the rare query where several instances must agree on
 * "now" (leases, locks). Application timestamps come from the injected clock instead.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- usable on any schema
export async function databaseNow(db: Kysely<any>): Promise<number> {
  const query =
    dialectOf(db) === 'postgres'
      ? sql<{ now: string | number }>`select (extract(epoch from clock_timestamp()) * 1000)::bigint as now`
      : sql<{ now: string | number }>`select cast((julianday('now') - 2440587.5) * 86400000 as integer) as now`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.now);
}

/** Row count from a Kysely insert/update/delete result. */
export function affected(result: { readonly numUpdatedRows?: bigint; readonly numDeletedRows?: bigint; readonly numInsertedOrUpdatedRows?: bigint | undefined }): number {
  return Number(result.numUpdatedRows ?? result.numDeletedRows ?? result.numInsertedOrUpdatedRows ?? 0n);
}
