// SPDX-License-Identifier: Apache-2.0
/** A fake `TokenVaultRepo` for tests of the encrypted vault and of modules that use it. */
import type { TokenVaultRecord, TokenVaultRepo } from '../token-vault.js';

/** A `TokenVaultRepo` in memory, honouring the unique keys a database would; for tests and fakes. */
export function createMemoryTokenVaultRepo(): TokenVaultRepo & { readonly rows: readonly TokenVaultRecord[] } {
  const rows: TokenVaultRecord[] = [];
  const find = (pred: (r: TokenVaultRecord) => boolean): TokenVaultRecord | undefined => rows.find(pred);
  const removeWhere = (pred: (r: TokenVaultRecord) => boolean): number => {
    let n = 0;
    for (let i = rows.length - 1; i >= 0; i -= 1) {
      if (pred(rows[i]!)) {
        rows.splice(i, 1);
        n += 1;
      }
    }
    return n;
  };
  return {
    rows,
    insert(record) {
      const clash = find(
        (r) => r.conversationId === record.conversationId && (r.token === record.token || r.valueIndex === record.valueIndex),
      );
      if (clash) return Promise.resolve('conflict');
      rows.push(record);
      return Promise.resolve('inserted');
    },
    getByToken: (c, token) => Promise.resolve(find((r) => r.conversationId === c && r.token === token)),
    getByValueIndex: (c, valueIndex) => Promise.resolve(find((r) => r.conversationId === c && r.valueIndex === valueIndex)),
    maxSequence: (c, type) =>
      Promise.resolve(rows.filter((r) => r.conversationId === c && r.type === type).reduce((m, r) => Math.max(m, r.sequence), 0)),
    setExpiry(c, token, expiresAt) {
      const i = rows.findIndex((r) => r.conversationId === c && r.token === token);
      if (i >= 0) rows[i] = { ...rows[i]!, expiresAt };
      return Promise.resolve();
    },
    deleteExpired: (t) => Promise.resolve(removeWhere((r) => r.expiresAt <= t)),
    deleteConversation: (c) => Promise.resolve(removeWhere((r) => r.conversationId === c)),
  };
}
