// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { sealOutbound } from '../../policy/outbound.js';
import { createOpenAiProvider } from '../openai-compatible/openai-provider.js';
import { startFakeOpenAiServer } from '../testing/fake-openai-server.js';
import { toModelMap } from './common.js';
import { errorForStatus, parseRetryAfter, retryHintOf } from './errors.js';

describe('retry-after and status mapping', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '250' })).toBe(250);
    expect(parseRetryAfter({ 'retry-after': '3' })).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6000);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });

  it('retries only 408, 429 and 5xx', () => {
    const cases = [
      [400, 'provider_rejected', false],
      [401, 'provider_unavailable', false],
      [404, 'provider_rejected', false],
      [408, 'provider_timeout', true],
      [429, 'provider_rate_limited', true],
      [500, 'provider_unavailable', true],
      [529, 'provider_unavailable', true],
    ] as const;
    for (const [status, code, retryable] of cases) {
      const err = errorForStatus(status, {});
      expect([status, err.code, retryHintOf(err).retryable]).toEqual([status, code, retryable]);
      expect(err.detail).toEqual({ reason: expect.any(String) as string, upstreamStatus: status });
    }
  });

  it('passes the vendor retry-after on to the caller', () => {
    expect(errorForStatus(429, { 'retry-after': '7' }).headers).toEqual({ 'retry-after': '7' });
  });
});

describe('pooled upstream client', () => {
  const make = async (maxRetries: number) => {
    const server = await startFakeOpenAiServer({ apiKey: 'k' });
    const provider = createOpenAiProvider({ id: 'o', kind: 'openai', baseUrl: `${server.url}/v1`, apiKey: 'k', models: toModelMap([{ name: 'm' }]), http: { connections: 2, timeoutMs: 5_000, maxRetries, retryBaseDelayMs: 5 } });
    return { server, provider };
  };
  const request = sealOutbound({ model: 'm', messages: [{ role: 'user' as const, content: 'x' }] }, 'o', 'phi_free');

  it('does not retry when the vendor asks for a wait beyond the ceiling or the deadline', async () => {
    const { server, provider } = await make(3);
    try {
      server.script({ status: 429, retryAfterSeconds: 60 }, { status: 429, retryAfterSeconds: 4 });
      await expect(provider.chat(request, { signal: new AbortController().signal, requestId: 'r', deadlineMs: Date.now() + 5_000 })).rejects.toMatchObject({
        code: 'provider_rate_limited',
        headers: { 'retry-after': '60' },
      });
      expect(server.requests).toHaveLength(1);
      await expect(provider.chat(request, { signal: new AbortController().signal, requestId: 'r', deadlineMs: Date.now() + 2_000 })).rejects.toMatchObject({
        code: 'provider_rate_limited',
        headers: { 'retry-after': '4' },
      });
      expect(server.requests).toHaveLength(2);
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('retries connection failures and gives up with provider_unavailable', async () => {
    const { server, provider } = await make(1);
    await server.close();
    try {
      await expect(provider.chat(request, { signal: new AbortController().signal, requestId: 'r', deadlineMs: Date.now() + 5_000 })).rejects.toMatchObject({
        code: 'provider_unavailable',
        detail: { reason: 'connection_failed' },
      });
    } finally {
      await provider.close();
    }
  });

  it('reuses pooled connections across calls', async () => {
    const { server, provider } = await make(0);
    try {
      for (let i = 0; i < 5; i++) await provider.chat(request, { signal: new AbortController().signal, requestId: 'r', deadlineMs: Date.now() + 5_000 });
      const ports = new Set(server.requests.map((received) => received.remotePort));
      // At most the pool size, so five calls shared connections.
      expect(ports.size).toBeLessThanOrEqual(2);
      expect(server.requests).toHaveLength(5);
    } finally {
      await provider.close();
      await server.close();
    }
  });
});

describe('fallback eligibility', () => {
  it('falls back on outages, timeouts, rate limits and unreadable answers, never on rejections or cancellations', async () => {
    const { shouldFallBack, providerError } = await import('./errors.js');
    expect(shouldFallBack(providerError('provider_unavailable', { reason: 'upstream_error' }))).toBe(true);
    expect(shouldFallBack(providerError('provider_timeout'))).toBe(true);
    expect(shouldFallBack(providerError('provider_rate_limited'))).toBe(true);
    expect(shouldFallBack(providerError('provider_bad_response'))).toBe(true);
    expect(shouldFallBack(providerError('provider_rejected'))).toBe(false);
    expect(shouldFallBack(providerError('provider_unavailable', { reason: 'cancelled' }))).toBe(false);
    expect(shouldFallBack(new Error('x'))).toBe(false);
  });
});

describe('model table', () => {
  it('maps caller-facing names to upstream names and never maps an upstream name twice', async () => {
    const { toModelMap: build, upstreamModel } = await import('./common.js');
    const models = build([{ name: 'fast', upstream: 'gpt-4o-mini' }, { name: 'gpt-4o-mini', upstream: 'gpt-4o-mini-2024-07-18' }, { name: 'plain' }]);
    expect(upstreamModel(models, 'fast')).toBe('gpt-4o-mini');
    expect(upstreamModel(models, 'gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(upstreamModel(models, 'gpt-4o-mini-2024-07-18')).toBe('gpt-4o-mini-2024-07-18');
    expect(upstreamModel(models, 'plain')).toBe('plain');
    expect(upstreamModel(models, 'unknown')).toBe('unknown');
  });
});
