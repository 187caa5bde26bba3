// SPDX-License-Identifier: Apache-2.0
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createRedisClient } from './redis.js';
import { createRedisSessionStore, createSessionManager } from './sessions.js';

const redis = createRedisClient('redis://127.0.0.1:6379');
afterAll(async () => {
  await redis.quit();
});

async function codeOf(promise: Promise<unknown>) {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  return isGatewayError(err) ? err.code : err;
}

describe('sessions in Redis', () => {
  it('are shared by instances, time out when idle, expire in Redis at their absolute end, and end everywhere for a user', async () => {
    const prefix = `phigate:test:${randomUUID()}:`;
    let now = 1_800_000_000_000;
    const options = { clock: { now: () => now }, idleTimeoutMs: 15 * 60_000, absoluteLifetimeMs: 12 * 3_600_000 };
    const a = createSessionManager({ store: createRedisSessionStore(redis, prefix), ...options });
    const b = createSessionManager({ store: createRedisSessionStore(redis, prefix), ...options });
    const first = await a.create('u1');
    const second = await a.create('u1');
    now += 10 * 60_000;
    expect((await b.validate(first.sessionId)).userId).toBe('u1');
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.join(' ')).not.toContain(first.sessionId);
    const ttl = await redis.pttl(keys.find((k) => !k.includes(':user:')) as string);
    expect(ttl).toBeGreaterThan(11 * 3_600_000);
    now += 14 * 60_000;
    expect((await a.validate(first.sessionId)).lastSeenAt).toBe(now);
    now += 15 * 60_000;
    expect(await codeOf(b.validate(first.sessionId))).toBe('session_expired');
    expect(await codeOf(b.validate(first.sessionId))).toBe('unauthenticated');
    expect(await b.destroyUser('u1')).toBe(1);
    expect(await codeOf(a.validate(second.sessionId))).toBe('unauthenticated');
  });
});
