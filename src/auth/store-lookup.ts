// SPDX-License-Identifier: Apache-2.0
/** The API-key lookup over the store: the key row joined with its user. */
import type { Store } from '../store/store.js';
import type { ApiKeyLookup, StoredApiKey } from './api-keys.js';

/**
 * A key acts with its own roles capped by its owner's current roles, so narrowing a person's
 * roles narrows every key they hold.
 *
 * A key whose user is disabled authenticates as revoked from the moment the user was disabled,
 * so disabling a person cuts every credential they hold.
 */
export function createStoreApiKeyLookup(store: Pick<Store, 'apiKeys' | 'users'>): ApiKeyLookup {
  return {
    async findForAuthentication(keyId) {
      const key = await store.apiKeys.findById(keyId);
      if (!key) return undefined;
      const user = await store.users.findById(key.userId);
      if (!user) return undefined;
      const revokedAt = [key.revokedAt, user.disabledAt].filter((t): t is number => t !== null);
      const stored: StoredApiKey = {
        id: key.id,
        userId: key.userId,
        userKind: user.kind,
        secretHash: key.secretHash,
        roles: key.roles.filter((role) => user.roles.includes(role)),
        useCases: key.useCases,
        expiresAt: key.expiresAt,
        revokedAt: revokedAt.length === 0 ? null : Math.min(...revokedAt),
        ...(user.orgUnit === null ? {} : { orgUnit: user.orgUnit }),
      };
      return stored;
    },
    touchLastUsed(keyId, at) {
      store.apiKeys.touchLastUsed(keyId, at);
    },
  };
}
