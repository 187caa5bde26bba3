// SPDX-License-Identifier: Apache-2.0
/**
 * Authentication state beside the users table: console credentials, sign-in failure counters,
 * service-account delegations and revoked bearer tokens. Hashing, encryption and comparison
 * happen in `auth/`; this repository stores what it is given.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import '../migrations/0004-auth.js';

export interface CredentialRecord {
  readonly userId: string;
  readonly passwordHash: string | null;
  readonly totpSecretEnc: string | null;
  readonly totpLastStep: number | null;
}

export interface LoginFailureRecord {
  readonly failures: number;
  readonly lockedUntil: number;
}

export interface CredentialRepo {
  find(userId: string): Promise<CredentialRecord | undefined>;
  setPassword(userId: string, passwordHash: string, at: number): Promise<void>;
  /** Stores a new TOTP secret and forgets the last used step. */
  setTotpSecret(userId: string, secretEnc: string | null, at: number): Promise<void>;
  /**
   * Records that `step` was used, only if it is later than the last used step. Returns false when
   * the step (or a later one) was already used — the replay check, atomic across instances.
   */
  claimTotpStep(userId: string, step: number): Promise<boolean>;
  loginFailures(nameHash: string): Promise<LoginFailureRecord | undefined>;
  recordLoginFailure(nameHash: string, failures: number, lockedUntil: number, at: number): Promise<void>;
  clearLoginFailures(nameHash: string): Promise<void>;
  /** Users a service account may act for. */
  delegations(serviceId: string): Promise<readonly string[]>;
  allowDelegation(serviceId: string, userId: string, at: number): Promise<void>;
  removeDelegation(serviceId: string, userId: string): Promise<boolean>;
  isDelegated(serviceId: string, userId: string): Promise<boolean>;
  revokeToken(tokenHash: string, expiresAt: number, at: number): Promise<void>;
  isTokenRevoked(tokenHash: string): Promise<boolean>;
}

export function createCredentialRepo(db: Kysely<Database>): CredentialRepo {
  async function ensureRow(userId: string, at: number): Promise<void> {
    await db
      .insertInto('user_credentials')
      .values({ user_id: userId, password_hash: null, totp_secret_enc: null, totp_last_step: null, updated_at: at })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
  }
  return {
    async find(userId) {
      const row = await db.selectFrom('user_credentials').selectAll().where('user_id', '=', userId).executeTakeFirst();
      if (!row) return undefined;
      return {
        userId: row.user_id,
        passwordHash: row.password_hash,
        totpSecretEnc: row.totp_secret_enc,
        totpLastStep: row.totp_last_step === null ? null : Number(row.totp_last_step),
      };
    },
    async setPassword(userId, passwordHash, at) {
      await ensureRow(userId, at);
      await db.updateTable('user_credentials').set({ password_hash: passwordHash, updated_at: at }).where('user_id', '=', userId).execute();
    },
    async setTotpSecret(userId, secretEnc, at) {
      await ensureRow(userId, at);
      await db
        .updateTable('user_credentials')
        .set({ totp_secret_enc: secretEnc, totp_last_step: null, updated_at: at })
        .where('user_id', '=', userId)
        .execute();
    },
    async claimTotpStep(userId, step) {
      const result = await db
        .updateTable('user_credentials')
        .set({ totp_last_step: step })
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async loginFailures(nameHash) {
      const row = await db.selectFrom('login_failures').selectAll().where('name_hash', '=', nameHash).executeTakeFirst();
      return row ? { failures: Number(row.failures), lockedUntil: Number(row.locked_until) } : undefined;
    },
    async recordLoginFailure(nameHash, failures, lockedUntil, at) {
      await db
        .insertInto('login_failures')
        .values({ name_hash: nameHash, failures, locked_until: lockedUntil, updated_at: at })
        .onConflict((oc) => oc.column('name_hash').doUpdateSet({ failures, locked_until: lockedUntil, updated_at: at }))
        .execute();
    },
    async clearLoginFailures(nameHash) {
      await db.deleteFrom('login_failures').where('name_hash', '=', nameHash).execute();
    },
    async delegations(serviceId) {
      const rows = await db.selectFrom('service_delegations').select('user_id').where('service_id', '=', serviceId).orderBy('user_id').execute();
      return rows.map((row) => row.user_id);
    },
    async allowDelegation(serviceId, userId, at) {
      await db
        .insertInto('service_delegations')
        .values({ service_id: serviceId, user_id: userId, created_at: at })
        .onConflict((oc) => oc.columns(['service_id', 'user_id']).doNothing())
        .execute();
    },
    async removeDelegation(serviceId, userId) {
      const result = await db.deleteFrom('service_delegations').where('service_id', '=', serviceId).where('user_id', '=', userId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async isDelegated(serviceId, userId) {
      const row = await db
        .selectFrom('service_delegations')
        .select('user_id')
        .where('service_id', '=', serviceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row !== undefined;
    },
    async revokeToken(tokenHash, expiresAt, at) {
      await db
        .insertInto('revoked_tokens')
        .values({ token_hash: tokenHash, expires_at: expiresAt, revoked_at: at })
        .onConflict((oc) => oc.column('token_hash').doNothing())
        .execute();
    },
    async isTokenRevoked(tokenHash) {
      const row = await db.selectFrom('revoked_tokens').select('token_hash').where('token_hash', '=', tokenHash).executeTakeFirst();
      return row !== undefined;
    },
  };
}
