// SPDX-License-Identifier: Apache-2.0
/**
 * The token vault's table (`token_vault`): pseudonym token ↔ encrypted value, per conversation.
 * The rows hold only what `deid/token-vault.ts` encrypted and indexed — a FieldCrypto
 * ciphertext of the value (`value_enc`) and a blind index scoped to the conversation
 * (`value_index`) — so the value is never stored in clear and equal values in two conversations
 * cannot be linked.
 */
import type { Kysely, Selectable } from 'kysely';
import type { FieldContext } from '../../crypto/field-crypto.js';
import type { Database, TokenVaultTable } from '../schema.js';
import type { RepoOptions } from './user-repo.js';

/** One row, with the value only as ciphertext and blind index. `expiresAt` is epoch ms. */
export interface TokenVaultRecord<TType extends string = string> {
  readonly conversationId: string;
  readonly token: string;
  readonly type: TType;
  readonly sequence: number;
  readonly valueIndex: string;
  readonly ciphertext: string;
  readonly expiresAt: number;
}

/** `TType` narrows the category type (deid passes its `PhiCategory`); rows are trusted to hold only those. */
export interface TokenVaultRepo<TType extends string = string> {
  insert(record: TokenVaultRecord<TType>): Promise<'inserted' | 'conflict'>;
  getByToken(conversationId: string, token: string): Promise<TokenVaultRecord<TType> | undefined>;
  getByValueIndex(conversationId: string, valueIndex: string): Promise<TokenVaultRecord<TType> | undefined>;
  maxSequence(conversationId: string, type: TType): Promise<number>;
  setExpiry(conversationId: string, token: string, expiresAt: number): Promise<void>;
  deleteExpired(now?: number): Promise<number>;
  deleteConversation(conversationId: string): Promise<number>;
}

export type TokenVaultRepoOptions = RepoOptions;

/** Where vault values live, for associated data. Same as deid's `tokenVaultField`. */
export const tokenVaultField = { table: 'token_vault', column: 'value' } as const;

/** The associated-data context of one vault value. */
export function tokenVaultContext(conversationId: string, token: string): FieldContext {
  return { ...tokenVaultField, rowId: `${conversationId}/${token}` };
}

export function createTokenVaultRepo<TType extends string = string>(
  db: Kysely<Database>,
  options: TokenVaultRepoOptions = {},
): TokenVaultRepo<TType> {
  const now = options.now ?? Date.now;

  const toRecord = (row: Selectable<TokenVaultTable>): TokenVaultRecord<TType> => ({
    conversationId: row.conversation_hash,
    token: row.token,
    type: row.type as TType,
    sequence: Number(row.sequence),
    valueIndex: row.value_index,
    ciphertext: row.value_enc,
    expiresAt: Number(row.expires_at),
  });

  const insert = async (record: TokenVaultRecord<TType>): Promise<'inserted' | 'conflict'> => {
    // DO NOTHING without a target covers both unique keys: (conversation, token) and (conversation, value).
    const result = await db
      .insertInto('token_vault')
      .values({
        conversation_hash: record.conversationId,
        token: record.token,
        type: record.type,
        sequence: record.sequence,
        value_index: record.valueIndex,
        value_enc: record.ciphertext,
        expires_at: record.expiresAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? 'inserted' : 'conflict';
  };

  const getByToken = async (conversationId: string, token: string): Promise<TokenVaultRecord<TType> | undefined> => {
    const row = await db
      .selectFrom('token_vault')
      .selectAll()
      .where('conversation_hash', '=', conversationId)
      .where('token', '=', token)
      .executeTakeFirst();
    return row === undefined ? undefined : toRecord(row);
  };

  const getByValueIndex = async (conversationId: string, valueIndex: string): Promise<TokenVaultRecord<TType> | undefined> => {
    const row = await db
      .selectFrom('token_vault')
      .selectAll()
      .where('conversation_hash', '=', conversationId)
      .where('value_index', '=', valueIndex)
      .executeTakeFirst();
    return row === undefined ? undefined : toRecord(row);
  };

  return {
    insert,
    getByToken,
    getByValueIndex,
    async maxSequence(conversationId, type) {
      const row = await db
        .selectFrom('token_vault')
        .select((eb) => eb.fn.max('sequence').as('max'))
        .where('conversation_hash', '=', conversationId)
        .where('type', '=', type)
        .executeTakeFirst();
      return row?.max == null ? 0 : Number(row.max);
    },
    async setExpiry(conversationId, token, expiresAt) {
      await db
        .updateTable('token_vault')
        .set({ expires_at: expiresAt })
        .where('conversation_hash', '=', conversationId)
        .where('token', '=', token)
        .execute();
    },
    async deleteExpired(at = now()) {
      const result = await db.deleteFrom('token_vault').where('expires_at', '<=', at).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async deleteConversation(conversationId) {
      const result = await db.deleteFrom('token_vault').where('conversation_hash', '=', conversationId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

  };
}
