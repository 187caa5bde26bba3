// SPDX-License-Identifier: Apache-2.0
/**
 * Cross-instance revocation. Every gateway instance caches API-key lookups for up to
 * `auth.apiKeys.cacheTtlMs` (≤ 30 s), which alone bounds how long a revoked key keeps working.
 * With Redis configured, a revocation is also published on one channel and every instance drops
 * the key from its cache at once; the TTL remains the backstop if a message is lost.
 */
import type { Redis } from 'ioredis';
import { createRedisClient } from './redis.js';

export const revocationChannel = 'phigate:auth:revoked-keys';

export interface RevocationBus {
  /** Tells every instance (this one included) to forget these keys. */
  publish(keyIds: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface RevocationBusOptions {
  /** Called for each key revoked anywhere. */
  readonly onRevoked: (keyId: string) => void;
  readonly onError?: (err: unknown) => void;
}

/** Without Redis: only this instance's cache is cleared; others wait for their cache TTL. */
export function createLocalRevocationBus(options: RevocationBusOptions): RevocationBus {
  return {
    publish(keyIds) {
      for (const keyId of keyIds) options.onRevoked(keyId);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/** Publishes on and subscribes to {@link revocationChannel}; resolves once subscribed. */
export async function createRedisRevocationBus(url: string, options: RevocationBusOptions): Promise<RevocationBus> {
  const publisher: Redis = createRedisClient(url);
  const subscriber: Redis = createRedisClient(url);
  publisher.on('error', (err) => options.onError?.(err));
  subscriber.on('error', (err) => options.onError?.(err));
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== revocationChannel) return;
    for (const keyId of message.split(',')) if (/^[a-z0-9]{12}$/.test(keyId)) options.onRevoked(keyId);
  });
  await subscriber.subscribe(revocationChannel);
  return {
    async publish(keyIds) {
      for (const keyId of keyIds) options.onRevoked(keyId);
      if (keyIds.length > 0) await publisher.publish(revocationChannel, keyIds.join(','));
    },
    async close() {
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    },
  };
}
