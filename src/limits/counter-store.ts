// SPDX-License-Identifier: Apache-2.0
/**
 * Fixed-window counters: one number per (key, window). Small on purpose — a window is
 * `floor(now / windowMs)`, a counter lives until its window ends. In memory for one instance;
 * in Redis (INCRBY + PEXPIRE in one MULTI) when several instances must share the count.
 */
import type { Redis } from 'ioredis';

export interface WindowCount {
  readonly total: number;
  /** Epoch ms when the window ends and the count starts again. */
  readonly resetAt: number;
}

export interface CounterStore {
  /** Adds `amount` (0 to read) to the key's counter in the window holding `now`. */
  add(key: string, amount: number, windowMs: number, now: number): Promise<WindowCount>;
  close(): Promise<void>;
}

const windowOf = (windowMs: number, now: number): number => Math.floor(now / windowMs) * windowMs;

export function createMemoryCounterStore(maxKeys = 100_000): CounterStore {
  const counters = new Map<string, { total: number; resetAt: number }>();
  return {
    add(key, amount, windowMs, now) {
      const start = windowOf(windowMs, now);
      const resetAt = start + windowMs;
      const slot = `${key}@${start}`;
      let counter = counters.get(slot);
      if (!counter) {
        if (counters.size >= maxKeys) {
          for (const [name, value] of counters) if (value.resetAt <= now) counters.delete(name);
          // Still full: drop the oldest, which only ever forgives a caller, never blocks one wrongly.
          if (counters.size >= maxKeys) counters.delete(counters.keys().next().value as string);
        }
        counter = { total: 0, resetAt };
        counters.set(slot, counter);
      }
      counter.total += amount;
      return Promise.resolve({ total: counter.total, resetAt });
    },
    close() {
      counters.clear();
      return Promise.resolve();
    },
  };
}

export function createRedisCounterStore(redis: Redis, prefix = 'phigate:limit:'): CounterStore {
  return {
    async add(key, amount, windowMs, now) {
      const start = windowOf(windowMs, now);
      const name = `${prefix}${key}@${start}`;
      const results = await redis.multi().incrby(name, amount).pexpire(name, windowMs + 1000).exec();
      const [err, total] = results?.[0] ?? [new Error('redis transaction aborted'), 0];
      if (err) throw err;
      return { total: Number(total), resetAt: start + windowMs };
    },
    async close() {
      // The connection belongs to the caller.
    },
  };
}
