// SPDX-License-Identifier: Apache-2.0
/**
 * Rate limits and token quotas per user, per API key and per use case (config `limits`).
 * A request is admitted when every scope is under its request limit and has token quota left;
 * tokens are charged from the answer's `usage` once it is known. Refusals are 429
 * `rate_limited` with OpenAI's headers for the scope that ran out:
 * `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests`
 * (and the `-tokens` triple) plus `retry-after` in seconds.
 */
import type { PhigateConfig } from '../config/schema.js';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import type { CounterStore } from './counter-store.js';

export type LimitsConfig = PhigateConfig['limits'];

/** Who a request counts against. */
export interface LimitSubject {
  readonly userId: string;
  readonly apiKeyId?: string | undefined;
  readonly useCase?: string | undefined;
}

export interface Limiter {
  /** Counts one request against every scope; throws `rate_limited` when a scope is exhausted. Returns headers for the tightest scope. */
  admit(subject: LimitSubject): Promise<Readonly<Record<string, string>>>;
  /** Charges model tokens once an answer's usage is known. */
  charge(subject: LimitSubject, tokens: number): Promise<void>;
  readonly enabled: boolean;
}

interface Scope {
  readonly name: 'user' | 'key' | 'use_case';
  readonly key: string;
  readonly requests: number | undefined;
  readonly tokens: number | undefined;
}

/** OpenAI writes resets as durations such as `1s` or `6m0s`. */
export function formatReset(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`;
}

export function createLimiter(options: { readonly config: LimitsConfig; readonly store: CounterStore; readonly clock: Clock }): Limiter {
  const { config, store, clock } = options;
  const windowMs = config.windowMs;

  function scopes(subject: LimitSubject): Scope[] {
    const all: Scope[] = [{ name: 'user', key: `u:${subject.userId}`, ...config.perUser } as Scope];
    if (subject.apiKeyId !== undefined) all.push({ name: 'key', key: `k:${subject.apiKeyId}`, ...config.perKey } as Scope);
    if (subject.useCase !== undefined) all.push({ name: 'use_case', key: `c:${subject.useCase}`, ...config.perUseCase } as Scope);
    return all.filter((scope) => scope.requests !== undefined || scope.tokens !== undefined);
  }

  const enabled = [config.perUser, config.perKey, config.perUseCase].some((limit) => limit.requests !== undefined || limit.tokens !== undefined);

  return {
    enabled,
    async admit(subject) {
      const now = clock.now();
      const headers: Record<string, string> = {};
      let tightestRequests = Infinity;
      let tightestTokens = Infinity;
      let refusal: { scope: Scope['name']; kind: 'requests' | 'tokens'; resetAt: number } | undefined;
      for (const scope of scopes(subject)) {
        if (scope.requests !== undefined) {
          const count = await store.add(`${scope.key}:r`, 1, windowMs, now);
          const remaining = Math.max(0, scope.requests - count.total);
          if (remaining < tightestRequests) {
            tightestRequests = remaining;
            headers['x-ratelimit-limit-requests'] = String(scope.requests);
            headers['x-ratelimit-remaining-requests'] = String(remaining);
            headers['x-ratelimit-reset-requests'] = formatReset(count.resetAt - now);
          }
          if (count.total > scope.requests && !refusal) refusal = { scope: scope.name, kind: 'requests', resetAt: count.resetAt };
        }
        if (scope.tokens !== undefined) {
          const count = await store.add(`${scope.key}:t`, 0, windowMs, now);
          const remaining = Math.max(0, scope.tokens - count.total);
          if (remaining < tightestTokens) {
            tightestTokens = remaining;
            headers['x-ratelimit-limit-tokens'] = String(scope.tokens);
            headers['x-ratelimit-remaining-tokens'] = String(remaining);
            headers['x-ratelimit-reset-tokens'] = formatReset(count.resetAt - now);
          }
          if (remaining === 0 && !refusal) refusal = { scope: scope.name, kind: 'tokens', resetAt: count.resetAt };
        }
      }
      if (refusal) {
        const retryAfter = String(Math.max(1, Math.ceil((refusal.resetAt - now) / 1000)));
        throw new GatewayError('rate_limited', { headers: { ...headers, 'retry-after': retryAfter }, detail: { scope: refusal.scope, limit: refusal.kind } });
      }
      return headers;
    },
    async charge(subject, tokens) {
      if (!(tokens > 0)) return;
      const now = clock.now();
      for (const scope of scopes(subject)) if (scope.tokens !== undefined) await store.add(`${scope.key}:t`, Math.round(tokens), windowMs, now);
    },
  };
}
