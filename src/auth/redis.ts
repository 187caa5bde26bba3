// SPDX-License-Identifier: Apache-2.0
/** Redis connections for shared authentication state (revocations, sessions, rate-limit counters). */
import { Redis } from 'ioredis';

/**
 * Opens a connection. Commands issued while connecting are queued (the revocation subscriber
 * needs that at start), but each is retried only once, so while Redis is down a request fails
 * within the connect timeout instead of hanging: rate-limit and session checks then fail closed.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, { lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
}

export type { Redis };
