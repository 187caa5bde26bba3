// SPDX-License-Identifier: Apache-2.0
/**
 * Console sessions in the database, used when Redis is not configured. Rows are found by a
 * SHA-256 of the session id, so a copy of the table cannot be replayed as cookies.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import '../migrations/0004-auth.js';

export interface SessionRecord {
  readonly idHash: string;
  readonly userId: string;
  readonly csrfHash: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
}

/** Where sessions live: this table, or Redis (`auth/session-store.ts`). */
export interface SessionRepo {
  create(session: SessionRecord): Promise<void>;
  find(idHash: string): Promise<SessionRecord | undefined>;
  /** Moves last-seen forward (never back). */
  touch(idHash: string, at: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  deleteByUser(userId: string): Promise<number>;
}

export function createSessionRepo(db: Kysely<Database>): SessionRepo {
  return {
    async create(session) {
      await db
        .insertInto('console_sessions')
        .values({
          id_hash: session.idHash,
          user_id: session.userId,
          csrf_hash: session.csrfHash,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
        })
        .execute();
    },
    async find(idHash) {
      const row = await db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      if (!row) return undefined;
      return {
        idHash: row.id_hash,
        userId: row.user_id,
        csrfHash: row.csrf_hash,
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
        expiresAt: Number(row.expires_at),
      };
    },
    async touch(idHash, at) {
      await db.updateTable('console_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).where('last_seen_at', '<', at).execute();
    },
    async delete(idHash) {
      await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteByUser(userId) {
      const result = await db.deleteFrom('console_sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
