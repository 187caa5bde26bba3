// SPDX-License-Identifier: Apache-2.0
/**
 * In-process PostgreSQL (PGlite) behind Kysely's own `PostgresDialect`, for fast Postgres tests
 * without a server. Test-only: `@electric-sql/pglite` is a devDependency.
 *
 * Starting PGlite costs seconds, so one instance serves many databases: each
 * {@link PgliteServer.createDb} gets its own schema (set as `search_path` whenever a query
 * borrows the connection). PGlite is a single connection; the pool shim lends it to one Kysely
 * connection at a time, so transactions see no interleaving.
 */
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import type { Database } from '../schema.js';

export interface PgliteServer {
  /** A fresh, empty schema as `Kysely<Database>`. `db.destroy()` drops the schema. */
  createDb(): Promise<Kysely<Database>>;
  close(): Promise<void>;
}

export interface PgliteServerOptions {
  /** PGlite extensions to load, e.g. `{ vector }` from `@electric-sql/pglite-pgvector`. */
  readonly extensions?: PGliteOptions['extensions'];
  /** SQL run before each database's schema is created, e.g. `create extension if not exists vector schema public`. */
  readonly setupSql?: string;
  /** Schemas searched after the database's own (e.g. `public`, where an extension's types live). */
  readonly alsoSearch?: readonly string[];
  /** The prefix of each database's schema name. Default `pglite`. */
  readonly schemaPrefix?: string;
}

export function createPgliteServer(options: PgliteServerOptions = {}): PgliteServer {
  let pglite: PGlite | undefined;
  const instance = (): PGlite => (pglite ??= new PGlite(options.extensions === undefined ? undefined : { extensions: options.extensions }));
  const setup = options.setupSql === undefined ? '' : `${options.setupSql}; `;
  const prefix = options.schemaPrefix ?? 'pglite';
  let queue: Promise<void> = Promise.resolve();
  let counter = 0;

  /** Takes the single connection; resolves to a release function. */
  const lock = async (): Promise<() => void> => {
    let release!: () => void;
    const previous = queue;
    queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    return release;
  };

  return {
    async createDb() {
      counter += 1;
      const schema = `${prefix}_${process.pid}_${counter}`;
      const searchPath = [schema, ...(options.alsoSearch ?? [])].join(', ');
      const release = await lock();
      try {
        await instance().exec(`${setup}create schema ${schema}`);
      } finally {
        release();
      }
      const pool: PostgresPool = {
        async connect(): Promise<PostgresPoolClient> {
          const releaseLock = await lock();
          try {
            await instance().exec(`set search_path to ${searchPath}`);
          } catch (err) {
            releaseLock();
            throw err;
          }
          const client = {
            async query<R>(sqlText: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
              const result = await instance().query<R>(sqlText, [...parameters]);
              // PGlite reports the command tag at run time though its type omits it; fall back to the first keyword.
              const tag = (result as { command?: string }).command ?? /^\s*(\w+)/.exec(sqlText)?.[1] ?? 'SELECT';
              const command = tag.toUpperCase() as PostgresQueryResult<R>['command'];
              return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
            },
            release() {
              releaseLock();
            },
          };
          return client as PostgresPoolClient;
        },
        async end() {
          const releaseLock = await lock();
          try {
            await instance().exec(`drop schema ${schema} cascade`);
          } finally {
            releaseLock();
          }
        },
      };
      return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    },
    async close() {
      await queue;
      await pglite?.close();
      pglite = undefined;
    },
  };
}
