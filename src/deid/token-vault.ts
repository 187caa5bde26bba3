// SPDX-License-Identifier: Apache-2.0
/**
 * Token ↔ value maps per conversation, with a time to live. The in-memory vault serves tests and
 * single-process use; the encrypted vault keeps every value encrypted at rest through
 * `FieldCrypto` and finds values by blind index, so the store never holds plaintext.
 */
import type { FieldCrypto } from '../crypto/field-crypto.js';
import { formatToken, maxTokenSequence, parseToken } from './tokens.js';
import type { PhiCategory } from './types.js';

/** Token issuing and lookup for one deployment. All methods are safe to call concurrently. */
export interface TokenVault {
  /**
   * Returns the token for `value` in `conversationId`, issuing the next free `[TYPE_n]` if the
   * value has none yet. The same (normalised) value always gets the same token in a conversation.
   */
  tokenize(conversationId: string, type: PhiCategory, value: string): Promise<string>;
  /** The value behind a token, or `undefined` when the token was never issued or has expired. */
  lookup(conversationId: string, token: string): Promise<string | undefined>;
  /** Forgets one conversation now (when given) and every expired entry; returns how many entries went. */
  expire(conversationId?: string): Promise<number>;
}

/** Options shared by the vault implementations. */
export interface TokenVaultOptions {
  /** How long a mapping lives after it was issued or last re-used, in milliseconds. Default 24 h. */
  readonly ttlMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

const defaultTtlMs = 24 * 60 * 60 * 1000;

/** Values differing only in case or spacing are one identifier ("John  Smith" = "john smith"). */
export function normaliseTokenValue(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

function checkArgs(conversationId: string, value?: string): void {
  if (conversationId.length === 0 || conversationId.length > 256) throw new RangeError('conversation id must be 1..256 characters');
  if (value !== undefined && value.length > 4096) throw new RangeError('token values are limited to 4096 characters');
}

interface MemoryEntry {
  readonly token: string;
  readonly value: string;
  expiresAt: number;
}

interface MemoryConversation {
  readonly byToken: Map<string, MemoryEntry>;
  readonly byValue: Map<string, MemoryEntry>;
  readonly next: Map<PhiCategory, number>;
}

/**
 * A vault in process memory. Values are not encrypted; use it for tests and for deployments
 * whose conversations never outlive the process.
 */
export function createMemoryTokenVault(options: TokenVaultOptions = {}): TokenVault {
  const ttlMs = options.ttlMs ?? defaultTtlMs;
  const now = options.now ?? Date.now;
  const conversations = new Map<string, MemoryConversation>();

  return {
    async tokenize(conversationId, type, value) {
      checkArgs(conversationId, value);
      let conv = conversations.get(conversationId);
      if (!conv) {
        conv = { byToken: new Map(), byValue: new Map(), next: new Map() };
        conversations.set(conversationId, conv);
      }
      const key = `${type}\u0000${normaliseTokenValue(value)}`;
      const t = now();
      const existing = conv.byValue.get(key);
      if (existing && existing.expiresAt > t) {
        existing.expiresAt = t + ttlMs;
        return existing.token;
      }
      if (existing) conv.byToken.delete(existing.token);
      const sequence = (conv.next.get(type) ?? 0) + 1;
      if (sequence > maxTokenSequence) throw new RangeError('too many tokens in one conversation');
      conv.next.set(type, sequence);
      const entry: MemoryEntry = { token: formatToken(type, sequence), value, expiresAt: t + ttlMs };
      conv.byValue.set(key, entry);
      conv.byToken.set(entry.token, entry);
      return entry.token;
    },
    lookup(conversationId, token) {
      const entry = conversations.get(conversationId)?.byToken.get(token);
      return Promise.resolve(entry && entry.expiresAt > now() ? entry.value : undefined);
    },
    expire(conversationId) {
      let removed = 0;
      if (conversationId !== undefined) {
        removed += conversations.get(conversationId)?.byToken.size ?? 0;
        conversations.delete(conversationId);
      }
      const t = now();
      for (const [id, conv] of conversations) {
        for (const [key, entry] of conv.byValue) {
          if (entry.expiresAt <= t) {
            conv.byValue.delete(key);
            conv.byToken.delete(entry.token);
            removed += 1;
          }
        }
        if (conv.byToken.size === 0) conversations.delete(id);
      }
      return Promise.resolve(removed);
    },
  };
}

/** One stored mapping. `valueIndex` is a blind index and `ciphertext` the encrypted value: no plaintext. */
export interface TokenVaultRecord {
  readonly conversationId: string;
  readonly token: string;
  readonly type: PhiCategory;
  readonly sequence: number;
  readonly valueIndex: string;
  readonly ciphertext: string;
  readonly expiresAt: number;
}

/**
 * The persistence the encrypted vault needs. A database implementation keeps two unique keys,
 * (conversationId, token) and (conversationId, valueIndex), and makes `insert` report a
 * conflict on either rather than overwrite.
 */
export interface TokenVaultRepo {
  insert(record: TokenVaultRecord): Promise<'inserted' | 'conflict'>;
  getByToken(conversationId: string, token: string): Promise<TokenVaultRecord | undefined>;
  getByValueIndex(conversationId: string, valueIndex: string): Promise<TokenVaultRecord | undefined>;
  /** Highest sequence issued for `type` in the conversation (0 when none), expired rows included. */
  maxSequence(conversationId: string, type: PhiCategory): Promise<number>;
  setExpiry(conversationId: string, token: string, expiresAt: number): Promise<void>;
  /** Deletes rows with `expiresAt <= now`; returns the count. */
  deleteExpired(now: number): Promise<number>;
  deleteConversation(conversationId: string): Promise<number>;
}

/** Options for the encrypted vault. */
export interface EncryptedTokenVaultOptions extends TokenVaultOptions {
  readonly repo: TokenVaultRepo;
  readonly crypto: FieldCrypto;
  /** Data class the values are encrypted under. Default `phi`. */
  readonly dataClass?: string;
}

/** Table and column a database repo stores values in; bound into every ciphertext as associated data. */
export const tokenVaultField = { table: 'token_vault', column: 'value' } as const;

/**
 * A vault whose values are encrypted with `FieldCrypto` (associated data binds each ciphertext to
 * its conversation and token) and found by a per-conversation blind index, so the same value in
 * two conversations cannot be linked through the store.
 */
export function createEncryptedTokenVault(options: EncryptedTokenVaultOptions): TokenVault {
  const { repo, crypto } = options;
  const ttlMs = options.ttlMs ?? defaultTtlMs;
  const now = options.now ?? Date.now;
  const dataClass = options.dataClass ?? 'phi';
  const rowId = (conversationId: string, token: string): string => `${conversationId}/${token}`;
  const indexOf = (conversationId: string, type: PhiCategory, value: string): string =>
    crypto.blindIndex(`${conversationId}\u0000${type}\u0000${normaliseTokenValue(value)}`, 'token-vault');

  // Calls for one conversation are serialised in this process, so sequence races only happen
  // between instances and the conflict retry below settles them.
  const queues = new Map<string, Promise<unknown>>();
  const serialised = <T>(conversationId: string, work: () => Promise<T>): Promise<T> => {
    const previous = queues.get(conversationId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    queues.set(conversationId, settled);
    void settled.then(() => {
      if (queues.get(conversationId) === settled) queues.delete(conversationId);
    });
    return next;
  };

  return {
    async tokenize(conversationId, type, value) {
      checkArgs(conversationId, value);
      return serialised(conversationId, () => issue(conversationId, type, value));
    },
    async lookup(conversationId, token) {
      if (!parseToken(token)) return undefined;
      const record = await repo.getByToken(conversationId, token);
      if (!record || record.expiresAt <= now()) return undefined;
      return crypto.decryptString(record.ciphertext, { ...tokenVaultField, rowId: rowId(conversationId, token) });
    },
    async expire(conversationId) {
      let removed = 0;
      if (conversationId !== undefined) removed += await repo.deleteConversation(conversationId);
      removed += await repo.deleteExpired(now());
      return removed;
    },
  };

  async function issue(conversationId: string, type: PhiCategory, value: string): Promise<string> {
    const valueIndex = indexOf(conversationId, type, value);
    // A few attempts cover concurrent writers racing for the same sequence number.
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const t = now();
      const existing = await repo.getByValueIndex(conversationId, valueIndex);
      if (existing) {
        if (existing.expiresAt > t) {
          await repo.setExpiry(conversationId, existing.token, t + ttlMs);
          return existing.token;
        }
        // An expired mapping is gone for lookups; reclaim its slot so the value gets a new token.
        await repo.deleteExpired(t);
        continue;
      }
      const sequence = (await repo.maxSequence(conversationId, type)) + 1;
      if (sequence > maxTokenSequence) throw new RangeError('too many tokens in one conversation');
      const token = formatToken(type, sequence);
      const ciphertext = await crypto.encrypt(value, { ...tokenVaultField, rowId: rowId(conversationId, token) }, dataClass);
      const result = await repo.insert({ conversationId, token, type, sequence, valueIndex, ciphertext, expiresAt: t + ttlMs });
      if (result === 'inserted') return token;
    }
    throw new Error('token vault: could not issue a token after repeated conflicts');
  }
}
