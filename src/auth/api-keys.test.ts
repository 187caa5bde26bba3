// SPDX-License-Identifier: Apache-2.0
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createApiKeyAuthenticator, generateApiKey, parseApiKey, type StoredApiKey } from './api-keys.js';

const hashSecret = (secret: string): string => createHmac('sha256', 'pepper').update(secret).digest('hex');

function setup(overrides: Partial<StoredApiKey> = {}, now = 1_000_000) {
  const { key, keyId, secretHash } = generateApiKey(hashSecret);
  const stored: StoredApiKey = { id: keyId, userId: 'u1', userKind: 'user', secretHash, roles: ['physician'], useCases: [], expiresAt: null, revokedAt: null, ...overrides };
  const lookups: string[] = [];
  const touched: string[] = [];
  let clock = now;
  const authenticator = createApiKeyAuthenticator({
    lookup: {
      findForAuthentication: (id) => {
        lookups.push(id);
        return Promise.resolve(id === keyId ? stored : undefined);
      },
      touchLastUsed: (id) => touched.push(id),
    },
    hashSecret,
    clock: { now: () => clock },
    cacheTtlMs: 1000,
  });
  return { key, keyId, authenticator, lookups, touched, advance: (ms: number) => (clock += ms) };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  return isGatewayError(err) ? err.code : undefined;
}

describe('API keys', () => {
  it('have a recognisable prefix and parse back', () => {
    const { key, keyId } = generateApiKey(hashSecret);
    expect(key).toMatch(/^phigate_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKey(key)?.keyId).toBe(keyId);
    expect(parseApiKey('sk-proj-123')).toBeUndefined();
    expect(parseApiKey(`${key}x`)).toBeUndefined();
  });

  it('authenticate the right key to its principal and note its use', async () => {
    const { key, keyId, authenticator, touched } = setup();
    await expect(authenticator.authenticate(key)).resolves.toMatchObject({ userId: 'u1', roles: ['physician'], authMethod: 'api_key', apiKeyId: keyId });
    expect(touched).toEqual([keyId]);
  });

  it('answer wrong secrets, unknown ids and junk identically', async () => {
    const { key, authenticator } = setup();
    const wrongSecret = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(await codeOf(authenticator.authenticate(wrongSecret))).toBe('unauthenticated');
    expect(await codeOf(authenticator.authenticate('phigate_zzzzzzzzzzzz_' + 'A'.repeat(43)))).toBe('unauthenticated');
    expect(await codeOf(authenticator.authenticate('not a key at all'))).toBe('unauthenticated');
  });

  it('give expired and revoked keys their own codes, only with the right secret', async () => {
    const expired = setup({ expiresAt: 500 });
    expect(await codeOf(expired.authenticator.authenticate(expired.key))).toBe('api_key_expired');
    const revoked = setup({ revokedAt: 999_999 });
    expect(await codeOf(revoked.authenticator.authenticate(revoked.key))).toBe('api_key_revoked');
  });

  it('cache lookups for the configured time only', async () => {
    const { key, authenticator, lookups, advance } = setup();
    await authenticator.authenticate(key);
    await authenticator.authenticate(key);
    expect(lookups).toHaveLength(1);
    advance(1001);
    await authenticator.authenticate(key);
    expect(lookups).toHaveLength(2);
  });
});

describe('API key parsing (properties)', () => {
  it('parses back every generated key, and nothing with one character changed in its shape', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 68 }), fc.constantFrom(' ', '.', '+', '/', '=', 'Ä', '_'), (position, junk) => {
        const { key, keyId } = generateApiKey(hashSecret);
        expect(parseApiKey(key)).toEqual({ keyId, secret: key.slice(21) });
        const mutated = key.slice(0, position) + junk + key.slice(position + 1);
        const parsed = parseApiKey(mutated);
        if (mutated !== key && parsed !== undefined) {
          // Only a change inside the base64url secret can still be well-formed; the id never moves.
          expect(position).toBeGreaterThanOrEqual(21);
          expect(parsed.keyId).toBe(keyId);
        }
      }),
    );
  });

  it('never accepts strings that are not shaped like a key', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const parsed = parseApiKey(text);
        if (parsed) expect(text).toMatch(/^phigate_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^phigate_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/), (text) => {
        expect(parseApiKey(text)).toBeDefined();
      }),
    );
  });
});
