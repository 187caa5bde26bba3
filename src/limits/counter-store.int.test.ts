// SPDX-License-Identifier: Apache-2.0
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../auth/redis.js';
import { createRedisCounterStore } from './counter-store.js';
import { createLimiter } from './limiter.js';

const redis = createRedisClient('redis://127.0.0.1:6379');
afterAll(async () => {
  await redis.quit();
});

describe('Redis counters', () => {
  it('share one count between limiters, as two gateway instances would', async () => {
    const prefix = `phigate:test:${randomUUID()}:`;
    const clock = { now: () => 1_000_000 };
    const config = { windowMs: 60_000, perUser: { requests: 3 }, perKey: {}, perUseCase: {} };
    const a = createLimiter({ config, store: createRedisCounterStore(redis, prefix), clock });
    const b = createLimiter({ config, store: createRedisCounterStore(redis, prefix), clock });
    await a.admit({ userId: 'u1' });
    await b.admit({ userId: 'u1' });
    await a.admit({ userId: 'u1' });
    await expect(b.admit({ userId: 'u1' })).rejects.toMatchObject({ code: 'rate_limited' });
    const ttl = await redis.pttl(`${prefix}u:u1:r@960000`);
    expect(ttl).toBeGreaterThan(0);
  });
});
