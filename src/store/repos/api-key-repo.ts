// SPDX-License-Identifier: Apache-2.0
/**
 * API keys (`api_keys`). The row holds the key id (the public part of the key) and an HMAC of the
 * secret, never the secret; `auth/` computes and compares the HMAC (in constant time, see
 * `crypto/constant-time.ts`).
 */
import type { Kysely, Selectable } from 'kysely';
import { stringListFromJson, toJsonText } from '../dialect.js';
import type { ApiKeysTable, Database } from '../schema.js';
import type { RepoOptions } from './user-repo.js';

export interface ApiKeyRecord {
  readonly id: string;
  readonly userId: string;
  /** HMAC-SHA-256 of the secret, hex. */
  readonly secretHash: string;
  readonly roles: readonly string[];
  readonly useCases: readonly string[];
  /** Epoch ms; null = no expiry. */
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  /** Epoch ms of the last authenticated use; may lag by up to the touch-flush interval. */
  readonly lastUsedAt: number | null;
  readonly createdAt: number;
  /** The key this one replaced, if it was issued by rotation. */
  readonly rotatedFrom: string | null;
}

export interface NewApiKey {
  readonly id: string;
  readonly userId: string;
  readonly secretHash: string;
  readonly roles: readonly string[];
  readonly useCases: readonly string[];
  readonly expiresAt?: number | null;
  readonly rotatedFrom?: string | null;
}

export interface ApiKeyRepo {
  create(key: NewApiKey): Promise<ApiKeyRecord>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  /** Every key of a user, newest first, revoked and expired included. */
  listByUser(userId: string): Promise<readonly ApiKeyRecord[]>;
  /**
   * Notes that a key was used. Cheap on the request path: uses are collected in memory and
   * written in one batch per flush interval (or at once when the interval is 0).
   */
  touchLastUsed(id: string, at?: number): void;
  /** Writes pending `touchLastUsed` calls now. */
  flush(): Promise<void>;
  /** Revokes a key at `at` (idempotent; the earliest revocation time wins, so a future one can be brought forward). Returns false if no such key. */
  revoke(id: string, at?: number): Promise<boolean>;
  /** Flushes and stops the flush timer. */
  close(): Promise<void>;
}

export interface ApiKeyRepoOptions extends RepoOptions {
  /** How long uses are batched before they are written. Default 1000 ms; 0 writes each use at once. */
  readonly touchFlushMs?: number;
  /** Called when a background flush fails (the next flush retries). Default: ignore. */
  readonly onFlushError?: (err: unknown) => void;
}

export function createApiKeyRepo(db: Kysely<Database>, options: ApiKeyRepoOptions = {}): ApiKeyRepo {
  const now = options.now ?? Date.now;
  const flushMs = options.touchFlushMs ?? 1000;
  const pending = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const toRecord = (row: Selectable<ApiKeysTable>): ApiKeyRecord => ({
    id: row.id,
    userId: row.user_id,
    secretHash: row.secret_hash,
    roles: stringListFromJson(row.roles),
    useCases: stringListFromJson(row.use_cases),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    createdAt: Number(row.created_at),
    rotatedFrom: row.rotated_from,
  });

  const writePending = async (): Promise<void> => {
    if (pending.size === 0) return;
    const batch = [...pending.entries()];
    pending.clear();
    try {
      await db.transaction().execute(async (trx) => {
        for (const [id, at] of batch) {
          // Never move last_used_at backwards when batches from several instances interleave.
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
      });
    } catch (err) {
      for (const [id, at] of batch) if ((pending.get(id) ?? 0) < at) pending.set(id, at);
      throw err;
    }
  };

  const flush = (): Promise<void> => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    flushing = flushing.then(writePending, writePending);
    return flushing;
  };

  return {
    async create(key) {
      const row = {
        id: key.id,
        user_id: key.userId,
        secret_hash: key.secretHash,
        roles: toJsonText(key.roles),
        use_cases: toJsonText(key.useCases),
        expires_at: key.expiresAt ?? null,
        revoked_at: null,
        last_used_at: null,
        created_at: now(),
        rotated_from: key.rotatedFrom ?? null,
      };
      await db.insertInto('api_keys').values(row).execute();
      return toRecord(row);
    },
    async findById(id) {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async listByUser(userId) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toRecord);
    },
    touchLastUsed(id, at = now()) {
      if ((pending.get(id) ?? 0) < at) pending.set(id, at);
      if (timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          flush().catch((err: unknown) => options.onFlushError?.(err));
        }, flushMs);
        // A pending touch must not keep the process alive; close() flushes it.
        timer.unref();
      }
    },
    flush,
    async revoke(id, at = now()) {
      const result = await db
        .updateTable('api_keys')
        // The earliest time wins: a repeated revocation keeps the first, and revoking a key in its
        // rotation overlap (revocation scheduled in the future) brings the end forward.
        .set((eb) => ({
          revoked_at: eb.case().when(eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', at)])).then(eb.val(at)).else(eb.ref('revoked_at')).end(),
        }))
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async close() {
      await flush();
    },
  };
}
