// SPDX-License-Identifier: Apache-2.0
/**
 * Console sessions: 256-bit random ids held only in the browser's cookie (the store keeps a
 * SHA-256 of them), a 15-minute idle timeout and an absolute lifetime, and a per-session CSRF
 * token. Sessions live in Redis when configured (shared by every instance, expired by Redis),
 * otherwise in the database.
 *
 * CSRF: the session cookie is `SameSite=Strict`, and every state-changing console request must
 * also carry the session's CSRF token in `x-csrf-token` (a synchronizer token: issued at sign-in
 * in the response body, compared in constant time with the stored hash) and, when the browser
 * sends `Origin`, an allowed origin. The token defends even where SameSite is not honoured, and
 * unlike a double-submit cookie it cannot be planted by a sibling subdomain.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import { randomToken } from '../kernel/ids.js';
import type { SessionRecord, SessionRepo } from '../store/repos/session-repo.js';

export const sessionCookieName = '__Host-phigate_session';
export const csrfHeader = 'x-csrf-token';

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export interface SessionManagerOptions {
  readonly store: SessionRepo;
  readonly clock: Clock;
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
}

export interface NewSession {
  /** The cookie value; shown to the browser once, never stored. */
  readonly sessionId: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface SessionManager {
  create(userId: string): Promise<NewSession>;
  /** The live session for a cookie value; refreshes its idle timer. Throws `unauthenticated` or `session_expired`. */
  validate(sessionId: string | undefined): Promise<SessionRecord>;
  /** Constant-time check of a presented CSRF token against the session's. */
  checkCsrf(session: SessionRecord, presented: string | undefined): boolean;
  destroy(sessionId: string): Promise<void>;
  destroyUser(userId: string): Promise<number>;
  readonly idleTimeoutMs: number;
}

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const { store, clock } = options;
  return {
    idleTimeoutMs: options.idleTimeoutMs,
    async create(userId) {
      const now = clock.now();
      const sessionId = randomToken(32);
      const csrfToken = randomToken(32);
      const expiresAt = now + options.absoluteLifetimeMs;
      await store.create({ idHash: sha256(sessionId), userId, csrfHash: sha256(csrfToken), createdAt: now, lastSeenAt: now, expiresAt });
      return { sessionId, csrfToken, expiresAt };
    },
    async validate(sessionId) {
      if (!sessionId || !/^[A-Za-z0-9_-]{43}$/.test(sessionId)) throw new GatewayError('unauthenticated');
      const idHash = sha256(sessionId);
      const session = await store.find(idHash);
      if (!session) throw new GatewayError('unauthenticated');
      const now = clock.now();
      if (now >= session.expiresAt || now - session.lastSeenAt >= options.idleTimeoutMs) {
        await store.delete(idHash);
        throw new GatewayError('session_expired');
      }
      await store.touch(idHash, now);
      return { ...session, lastSeenAt: now };
    },
    checkCsrf(session, presented) {
      const expected = Buffer.from(session.csrfHash, 'hex');
      const actual = Buffer.from(sha256(presented ?? ''), 'hex');
      return presented !== undefined && presented.length > 0 && timingSafeEqual(expected, actual);
    },
    async destroy(sessionId) {
      await store.delete(sha256(sessionId));
    },
    destroyUser: (userId) => store.deleteByUser(userId),
  };
}

/** Sessions in Redis: one hash per session, expiring at its absolute end; a set per user for sign-out everywhere. */
export function createRedisSessionStore(redis: Redis, prefix = 'phigate:session:'): SessionRepo {
  const key = (idHash: string): string => `${prefix}${idHash}`;
  const userKey = (userId: string): string => `${prefix}user:${userId}`;
  return {
    async create(session) {
      const ttl = Math.max(1, session.expiresAt - session.createdAt);
      await redis
        .multi()
        .hset(key(session.idHash), {
          userId: session.userId,
          csrfHash: session.csrfHash,
          createdAt: String(session.createdAt),
          lastSeenAt: String(session.lastSeenAt),
          expiresAt: String(session.expiresAt),
        })
        .pexpire(key(session.idHash), ttl)
        .sadd(userKey(session.userId), session.idHash)
        .pexpire(userKey(session.userId), ttl)
        .exec();
    },
    async find(idHash) {
      const fields = await redis.hgetall(key(idHash));
      if (!fields.userId || !fields.csrfHash) return undefined;
      return {
        idHash,
        userId: fields.userId,
        csrfHash: fields.csrfHash,
        createdAt: Number(fields.createdAt),
        lastSeenAt: Number(fields.lastSeenAt),
        expiresAt: Number(fields.expiresAt),
      };
    },
    async touch(idHash, at) {
      // Only an existing session is touched; HSET on a deleted key would resurrect it without a TTL.
      await redis.eval(
        "if redis.call('exists', KEYS[1]) == 1 and tonumber(redis.call('hget', KEYS[1], 'lastSeenAt')) < tonumber(ARGV[1]) then redis.call('hset', KEYS[1], 'lastSeenAt', ARGV[1]) end return 0",
        1,
        key(idHash),
        String(at),
      );
    },
    async delete(idHash) {
      await redis.del(key(idHash));
    },
    async deleteByUser(userId) {
      const ids = await redis.smembers(userKey(userId));
      if (ids.length === 0) return 0;
      const deleted = await redis.del(...ids.map(key), userKey(userId));
      return Math.max(0, deleted - 1);
    },
  };
}
