// SPDX-License-Identifier: Apache-2.0
/** Redis connections for shared authentication state (revocations, sessions, rate-limit counters). */
import { Redis } from 'ioredis';

/**
 * Opens a connection. Commands fail fast while Redis is down (no offline queue), so a request
 * never waits on a reconnect: callers decide whether to fail closed or fall back.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, { lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
}

export type { Redis };
