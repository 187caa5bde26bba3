// SPDX-License-Identifier: Apache-2.0
/**
 * The database factory: one `Kysely<Database>` over SQLite (better-sqlite3, the embedded default)
 * or PostgreSQL (pg Pool). Everything above this file is dialect-agnostic.
 *
 * URLs:
 * - `sqlite:PATH` — PATH relative to `baseDir` (the state folder) unless absolute;
 * - `sqlite::memory:` — a private in-memory database (tests);
 * - `postgres://…` / `postgresql://…` — a pg connection string.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export interface CreateDbOptions {
  /** Folder relative SQLite paths resolve against: the state folder. */
  readonly baseDir: string;
  /** Postgres: the schema to use (sets `search_path`). It must exist. Default: the server's default. */
  readonly schema?: string;
  /** Postgres: pool size. Default 10. */
  readonly maxConnections?: number;
  /** SQLite: how long a writer waits for a lock before failing. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** SQLite: `full` syncs every commit (the default), `normal` only at WAL checkpoints. */
  readonly sqliteSync?: 'full' | 'normal';
}

/** A parsed store URL, with no credentials kept beyond what the driver needs. */
export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'sqlite-memory' }
  | { readonly kind: 'postgres'; readonly connectionString: string };

/** Parses a store URL. Errors never echo the URL, which may carry a password. */
export function parseStoreUrl(url: string, baseDir: string): StoreTarget {
  if (url === 'sqlite::memory:') return { kind: 'sqlite-memory' };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error('store url: sqlite: needs a file path (sqlite:phigate.db) or :memory:');
    return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(baseDir, path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', connectionString: url };
  throw new Error('store url: expected sqlite:PATH, sqlite::memory: or postgres://…');
}

const INT8_OID = 20;
const NUMERIC_SAFE_INT8 = (value: string): number => {
  const n = Number(value);
  // Epoch-ms times and counts fit easily; anything larger is a bug worth failing loudly on.
  if (!Number.isSafeInteger(n)) throw new RangeError('int8 value outside the safe integer range');
  return n;
};

/** Opens the database. SQLite files (and their folder) are created owner-only. */
export function createDb(url: string, options: CreateDbOptions): Kysely<Database> {
  return new Kysely<Database>({ dialect: createDialect(parseStoreUrl(url, options.baseDir), options) });
}

function createDialect(target: StoreTarget, options: CreateDbOptions): Dialect {
  switch (target.kind) {
    case 'sqlite':
    case 'sqlite-memory': {
      const file = target.kind === 'sqlite' ? target.path : ':memory:';
      if (target.kind === 'sqlite') {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        // Pre-create with 0600: SQLite gives -wal and -shm the database file's permissions.
        closeSync(openSync(file, 'a', 0o600));
      }
      const sqlite = new SqliteDatabase(file);
      sqlite.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
      sqlite.pragma('foreign_keys = ON');
      if (target.kind === 'sqlite') sqlite.pragma('journal_mode = WAL');
      // FULL: an acknowledged commit (an audit record, a key) survives power loss, WAL or not.
      sqlite.pragma(`synchronous = ${options.sqliteSync === 'normal' ? 'NORMAL' : 'FULL'}`);
      return new SqliteDialect({ database: sqlite });
    }
    case 'postgres': {
      if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
        throw new Error('store: postgres schema must be a lowercase SQL identifier');
      }
      const pool = new pg.Pool({
        connectionString: target.connectionString,
        max: options.maxConnections ?? 10,
        ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            oid === INT8_OID && format !== 'binary' ? NUMERIC_SAFE_INT8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
        },
      });
      // An idle connection ended by the server (restart, failover) is dropped and replaced; without
      // a listener the pool's 'error' event would end the process.
      pool.on('error', () => undefined);
      return new PostgresDialect({ pool });
    }
  }
}
