// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createAuthFixture, type AuthFixture } from './testing/auth-fixture.js';

let f: AuthFixture;
let userId: string;
beforeEach(async () => {
  f = await createAuthFixture({ auth: { apiKeys: { cacheTtlMs: 30_000, rotationOverlapMs: 3_600_000 } } });
  userId = (await f.services.admin.createUser(f.admin, { name: 'dr.jones', roles: ['physician', 'researcher'] })).id;
});
afterEach(async () => {
  await f.close();
});

async function codeOf(promise: Promise<unknown>) {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (err !== undefined && !isGatewayError(err)) throw err;
  return err?.code;
}
const auth = (key: string) => f.services.authenticator.authenticate((name) => (name === 'authorization' ? `Bearer ${key}` : undefined));

describe('API key administration', () => {
  it('scopes keys to a subset of the owner\'s roles and to use cases, with expiry', async () => {
    const { key, record } = await f.services.admin.createKey(f.admin, { userId, roles: ['researcher'], useCases: ['cohort-search'], expiresAt: f.now + 60_000 });
    expect(record).toMatchObject({ roles: ['researcher'], useCases: ['cohort-search'], state: 'active' });
    expect(await auth(key)).toMatchObject({ userId, roles: ['researcher'], useCases: ['cohort-search'], apiKeyId: record.id });
    expect(await codeOf(f.services.admin.createKey(f.admin, { userId, roles: ['admin'] }))).toBe('invalid_request');
    f.now += 60_000;
    f.services.apiKeys.forget(record.id);
    expect(await codeOf(auth(key))).toBe('api_key_expired');
    expect((await f.services.admin.listKeys(userId))[0]?.state).toBe('expired');
  });

  it('rotate with an overlap: both keys work until it ends, then the old one is revoked', async () => {
    const old = await f.services.admin.createKey(f.admin, { userId });
    const rotated = await f.services.admin.rotateKey(f.admin, old.record.id, 600_000);
    expect(rotated.record.rotatedFrom).toBe(old.record.id);
    expect(rotated.oldKeyValidUntil).toBe(f.now + 600_000);
    await auth(old.key);
    await auth(rotated.key);
    expect((await f.services.admin.listKeys(userId)).map((k) => k.state).sort()).toEqual(['active', 'rotating']);
    f.now += 600_000;
    f.services.apiKeys.forget(old.record.id);
    expect(await codeOf(auth(old.key))).toBe('api_key_revoked');
    await auth(rotated.key);
    expect(await codeOf(f.services.admin.rotateKey(f.admin, old.record.id))).toBe('invalid_request');
  });

  it('revoke at once, even a key in its rotation overlap, on this instance without waiting for the cache', async () => {
    const old = await f.services.admin.createKey(f.admin, { userId });
    await auth(old.key);
    await f.services.admin.rotateKey(f.admin, old.record.id);
    await f.services.admin.revokeKey(f.admin, old.record.id);
    expect(await codeOf(auth(old.key))).toBe('api_key_revoked');
  });

  it('cap keys by the owner\'s current roles, and cut them all when the owner is disabled', async () => {
    const { key } = await f.services.admin.createKey(f.admin, { userId });
    expect((await auth(key)).roles).toEqual(['physician', 'researcher']);
    await f.services.admin.setRoles(f.admin, userId, ['physician']);
    expect((await auth(key)).roles).toEqual(['physician']);
    await f.services.admin.disableUser(f.admin, userId);
    expect(await codeOf(auth(key))).toBe('api_key_revoked');
  });

  it('answer bad keys with one code, whatever is wrong with them', async () => {
    const { key } = await f.services.admin.createKey(f.admin, { userId });
    const wrongSecret = key.slice(0, -2) + (key.endsWith('AA') ? 'BB' : 'AA');
    for (const bad of [wrongSecret, 'phigate_zzzzzzzzzzzz_' + 'A'.repeat(43), 'sk-proj-abc', 'eyJhbGciOiJSUzI1NiJ9.e30.sig']) {
      expect(await codeOf(auth(bad))).toBe('unauthenticated');
    }
  });

  it('audit every change with ids only, never key material', async () => {
    const { key, record } = await f.services.admin.createKey(f.admin, { userId });
    await f.services.admin.rotateKey(f.admin, record.id);
    await f.services.admin.revokeKey(f.admin, record.id);
    expect(f.events.map((e) => e.type)).toEqual(['user.create', 'apikey.create', 'apikey.rotate', 'apikey.revoke']);
    expect(f.events.at(-1)).toMatchObject({ actor: { userId: 'test-admin' }, subject: { kind: 'api_key', id: record.id } });
    const text = JSON.stringify(f.events);
    expect(text).not.toContain(key.slice(21));
    expect(text).not.toContain('dr.jones');
  });
});
