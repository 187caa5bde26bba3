// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createMemoryCounterStore } from './counter-store.js';
import { createLimiter, formatReset, type LimitsConfig } from './limiter.js';

const base: LimitsConfig = { windowMs: 60_000, perUser: {}, perKey: {}, perUseCase: {} };

function setup(config: Partial<LimitsConfig>, start = 120_000) {
  let now = start;
  const limiter = createLimiter({ config: { ...base, ...config }, store: createMemoryCounterStore(), clock: { now: () => now } });
  return { limiter, advance: (ms: number) => (now += ms) };
}

async function refusal(promise: Promise<unknown>) {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  return isGatewayError(err, 'rate_limited') ? err : undefined;
}

describe('limiter', () => {
  it('is off when no scope has a limit', () => {
    expect(setup({}).limiter.enabled).toBe(false);
  });

  it('admits up to the request limit per user, then answers 429 with OpenAI headers until the window ends', async () => {
    const { limiter, advance } = setup({ perUser: { requests: 2 } });
    expect(await limiter.admit({ userId: 'u1' })).toEqual({ 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '1m0s' });
    await limiter.admit({ userId: 'u1' });
    advance(15_000);
    const err = await refusal(limiter.admit({ userId: 'u1' }));
    expect(err?.status).toBe(429);
    expect(err?.headers).toMatchObject({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '45s', 'retry-after': '45' });
    expect(err?.detail).toEqual({ scope: 'user', limit: 'requests' });
    // Other users have their own counters.
    await expect(limiter.admit({ userId: 'u2' })).resolves.toBeDefined();
    advance(45_000);
    await expect(limiter.admit({ userId: 'u1' })).resolves.toBeDefined();
  });

  it('counts keys and use cases separately and reports the tightest scope', async () => {
    const { limiter } = setup({ perUser: { requests: 10 }, perKey: { requests: 1 }, perUseCase: { requests: 5 } });
    const headers = await limiter.admit({ userId: 'u1', apiKeyId: 'k1', useCase: 'notes' });
    expect(headers['x-ratelimit-remaining-requests']).toBe('0');
    expect((await refusal(limiter.admit({ userId: 'u1', apiKeyId: 'k1', useCase: 'notes' })))?.detail).toEqual({ scope: 'key', limit: 'requests' });
    await limiter.admit({ userId: 'u1', apiKeyId: 'k2', useCase: 'notes' });
  });

  it('refuses once charged tokens reach the quota', async () => {
    const { limiter, advance } = setup({ perUseCase: { tokens: 100 } });
    const subject = { userId: 'u1', useCase: 'notes' };
    expect(await limiter.admit(subject)).toMatchObject({ 'x-ratelimit-limit-tokens': '100', 'x-ratelimit-remaining-tokens': '100' });
    await limiter.charge(subject, 60);
    expect(await limiter.admit(subject)).toMatchObject({ 'x-ratelimit-remaining-tokens': '40' });
    await limiter.charge(subject, 60);
    const err = await refusal(limiter.admit(subject));
    expect(err?.headers).toMatchObject({ 'x-ratelimit-remaining-tokens': '0' });
    expect(err?.detail).toEqual({ scope: 'use_case', limit: 'tokens' });
    // No use case named: that scope does not apply.
    await expect(limiter.admit({ userId: 'u1' })).resolves.toBeDefined();
    advance(60_000);
    await expect(limiter.admit(subject)).resolves.toBeDefined();
  });

  it('formats resets the way OpenAI does', () => {
    expect([formatReset(0), formatReset(999), formatReset(59_001), formatReset(360_000)]).toEqual(['0s', '1s', '1m0s', '6m0s']);
  });
});
