// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0004: authentication state. Console credentials (scrypt password hash, encrypted
 * TOTP secret, the last TOTP step used), sign-in failure counters keyed by a keyed hash of the
 * name (so unknown names are throttled exactly like known ones), console sessions stored by a
 * hash of their id, service-account delegations, and revoked bearer-token ids.
 */
import type { Kysely, Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface UserCredentialsTable {
  user_id: string;
  /** PHC string `$scrypt$ln=…,r=…,p=…$salt$hash`; null until a password is set. */
  password_hash: string | null;
  /** FieldCrypto ciphertext of the base32 TOTP secret. */
  totp_secret_enc: string | null;
  /** The last TOTP time step accepted, so a code works once. */
  totp_last_step: number | null;
  updated_at: number;
}

export interface LoginFailuresTable {
  /** Keyed hash of the sign-in name. */
  name_hash: string;
  failures: number;
  locked_until: number;
  updated_at: number;
}

export interface ConsoleSessionsTable {
  /** SHA-256 of the session id; the id itself exists only in the browser's cookie. */
  id_hash: string;
  user_id: string;
  /** SHA-256 of the session's CSRF token. */
  csrf_hash: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute end of the session, however active it is. */
  expires_at: number;
}

export interface ServiceDelegationsTable {
  service_id: string;
  user_id: string;
  created_at: number;
}

export interface RevokedTokensTable {
  /** Keyed hash of `iss` + `jti`. */
  token_hash: string;
  /** When the token would have expired anyway; the row may be purged after. */
  expires_at: number;
  revoked_at: number;
}

declare module '../schema.js' {
  interface Database {
    user_credentials: UserCredentialsTable;
    login_failures: LoginFailuresTable;
    console_sessions: ConsoleSessionsTable;
    service_delegations: ServiceDelegationsTable;
    revoked_tokens: RevokedTokensTable;
  }
}

export const migration0004Auth: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('user_credentials')
      .addColumn('user_id', 'text', (col) => col.primaryKey())
      .addColumn('password_hash', 'text')
      .addColumn('totp_secret_enc', 'text')
      .addColumn('totp_last_step', millisType)
      .addColumn('updated_at', millisType, (col) => col.notNull())
      .execute();
    await db.schema
      .createTable('login_failures')
      .addColumn('name_hash', 'text', (col) => col.primaryKey())
      .addColumn('failures', 'integer', (col) => col.notNull())
      .addColumn('locked_until', millisType, (col) => col.notNull())
      .addColumn('updated_at', millisType, (col) => col.notNull())
      .execute();
    await db.schema
      .createTable('console_sessions')
      .addColumn('id_hash', 'text', (col) => col.primaryKey())
      .addColumn('user_id', 'text', (col) => col.notNull())
      .addColumn('csrf_hash', 'text', (col) => col.notNull())
      .addColumn('created_at', millisType, (col) => col.notNull())
      .addColumn('last_seen_at', millisType, (col) => col.notNull())
      .addColumn('expires_at', millisType, (col) => col.notNull())
      .execute();
    await db.schema.createIndex('console_sessions_user_id').on('console_sessions').column('user_id').execute();
    await db.schema
      .createTable('service_delegations')
      .addColumn('service_id', 'text', (col) => col.notNull())
      .addColumn('user_id', 'text', (col) => col.notNull())
      .addColumn('created_at', millisType, (col) => col.notNull())
      .addPrimaryKeyConstraint('service_delegations_pk', ['service_id', 'user_id'])
      .execute();
    await db.schema
      .createTable('revoked_tokens')
      .addColumn('token_hash', 'text', (col) => col.primaryKey())
      .addColumn('expires_at', millisType, (col) => col.notNull())
      .addColumn('revoked_at', millisType, (col) => col.notNull())
      .execute();
  },
};
