// SPDX-License-Identifier: Apache-2.0
/** OIDC bearer tokens against a local issuer: keys made here, JWKS served over HTTP by this test. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createAuthFixture, type AuthFixture } from './testing/auth-fixture.js';

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function makeKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const issuer = 'https://idp.example.test/realms/clinic';
const audience = 'phigate';
let server: Server;
let jwksUrl: string;
let published: SigningKey[] = [];
let fetches = 0;
let keyA: SigningKey;
let keyB: SigningKey;
let stranger: SigningKey;

beforeAll(async () => {
  [keyA, keyB, stranger] = await Promise.all([makeKey('a', 'RS256'), makeKey('b', 'ES256'), makeKey('a', 'RS256')]);
  server = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

let f: AuthFixture;
afterEach(async () => {
  await f.close();
});

async function setup(oidc: Record<string, unknown> = {}) {
  published = [keyA];
  fetches = 0;
  f = await createAuthFixture({ auth: { oidc: { issuer, audience, jwksUrl, jwksCooldownMs: 0, claims: { roles: 'realm_access.roles' }, ...oidc } } });
  const user = await f.services.admin.createUser(f.admin, { name: 'dr.jones', roles: ['physician'], orgUnit: 'cardiology' });
  return user.id;
}

function token(claims: Record<string, unknown>, options: { key?: SigningKey; exp?: number; alg?: string } = {}): Promise<string> {
  const key = options.key ?? keyA;
  const now = Math.floor(f.now / 1000);
  return new SignJWT({ realm_access: { roles: ['physician'] }, ...claims })
    .setProtectedHeader({ alg: options.alg ?? key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 300)
    .sign(key.privateKey);
}

const bearer = (value: string, extra: Record<string, string> = {}) => (name: string) => ({ authorization: `Bearer ${value}`, ...extra })[name];

async function codeOf(promise: Promise<unknown>) {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (err !== undefined && !isGatewayError(err)) throw err;
  return err?.code;
}

describe('OIDC bearer tokens', () => {
  it('map a valid token to the phigate user, with roles from the configured claim', async () => {
    const id = await setup();
    const principal = await f.services.authenticator.authenticate(bearer(await token({ sub: id })));
    expect(principal).toEqual({ userId: id, kind: 'user', roles: ['physician'], authMethod: 'jwt', useCases: [], orgUnit: 'cardiology' });
    // The name claim finds the user when the subject is the provider's own id.
    const byName = await f.services.authenticator.authenticate(bearer(await token({ sub: 'idp-123', preferred_username: 'dr.jones', realm_access: { roles: ['nurse'] } })));
    expect(byName).toMatchObject({ userId: id, roles: ['nurse'] });
  });

  it('give expired, revoked and malformed tokens their own codes', async () => {
    const id = await setup();
    const now = Math.floor(f.now / 1000);
    expect(await codeOf(f.services.authenticator.authenticate(bearer(await token({ sub: id }, { exp: now - 120 }))))).toBe('token_expired');
    // Within the 30 s clock tolerance.
    await f.services.authenticator.authenticate(bearer(await token({ sub: id }, { exp: now - 10 })));
    const revoked = await token({ sub: id, jti: 'tok-1' });
    await f.services.authenticator.authenticate(bearer(revoked));
    await f.services.admin.revokeToken(f.admin, issuer, 'tok-1', f.now + 300_000);
    expect(await codeOf(f.services.authenticator.authenticate(bearer(revoked)))).toBe('token_revoked');
    const valid = await token({ sub: id });
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), realm_access: { roles: ['admin'] } })).toString('base64url')}.${signature}`;
    expect(await codeOf(f.services.authenticator.authenticate(bearer(tampered)))).toBe('token_invalid');
    expect(await codeOf(f.services.authenticator.authenticate(bearer(`${header}.${payload}.AAAA`)))).toBe('token_invalid');
    expect(await codeOf(f.services.authenticator.authenticate(bearer('eyJhbGciOiJub25lIn0.e30.x')))).toBe('token_invalid');
    expect(await codeOf(f.services.authenticator.authenticate(bearer(await token({ sub: id }, { key: stranger }))))).toBe('token_invalid');
    await f.services.admin.disableUser(f.admin, id);
    expect(await codeOf(f.services.authenticator.authenticate(bearer(valid)))).toBe('token_revoked');
  });

  it('refuse the wrong issuer, audience and algorithm', async () => {
    const id = await setup({ algorithms: ['RS256'] });
    published = [keyA, keyB];
    const now = Math.floor(f.now / 1000);
    const wrongAudience = await new SignJWT({ sub: id }).setProtectedHeader({ alg: 'RS256', kid: 'a' }).setIssuer(issuer).setAudience('other').setExpirationTime(now + 60).sign(keyA.privateKey);
    const wrongIssuer = await new SignJWT({ sub: id }).setProtectedHeader({ alg: 'RS256', kid: 'a' }).setIssuer('https://evil.test').setAudience(audience).setExpirationTime(now + 60).sign(keyA.privateKey);
    const hmac = await new SignJWT({ sub: id }).setProtectedHeader({ alg: 'HS256', kid: 'a' }).setIssuer(issuer).setAudience(audience).setExpirationTime(now + 60).sign(new Uint8Array(32));
    for (const bad of [wrongAudience, wrongIssuer, hmac, await token({ sub: id }, { key: keyB })]) {
      expect(await codeOf(f.services.authenticator.authenticate(bearer(bad)))).toBe('token_invalid');
    }
  });

  it('follow a key rollover at the provider: an unknown kid refetches the JWKS', async () => {
    const id = await setup();
    await f.services.authenticator.authenticate(bearer(await token({ sub: id })));
    await f.services.authenticator.authenticate(bearer(await token({ sub: id })));
    expect(fetches).toBe(1);
    published = [keyB];
    await f.services.authenticator.authenticate(bearer(await token({ sub: id }, { key: keyB })));
    expect(fetches).toBe(2);
    // The retired key is gone from the refreshed set.
    expect(await codeOf(f.services.authenticator.authenticate(bearer(await token({ sub: id }))))).toBe('token_invalid');
  });

  it('refuse unknown users by default, or provision them (audited) when configured', async () => {
    await setup();
    expect(await codeOf(f.services.authenticator.authenticate(bearer(await token({ sub: 'new-person', preferred_username: 'dr.new' }))))).toBe('unauthenticated');
    await f.close();
    await setup({ unknownUsers: 'provision' });
    const principal = await f.services.authenticator.authenticate(bearer(await token({ sub: 'new-person', preferred_username: 'dr.new', org_unit: 'er' })));
    expect(principal).toMatchObject({ userId: 'new-person', roles: ['physician'], orgUnit: 'er' });
    expect(await f.store.users.findByName('dr.new')).toMatchObject({ id: 'new-person', roles: ['physician'] });
    expect(f.events.at(-1)).toMatchObject({ type: 'user.create', actor: { userId: 'system:oidc' } });
  });
});

describe('service accounts acting for a user', () => {
  async function withService() {
    const userId = await setup();
    const service = await f.services.admin.createUser(f.admin, { name: 'scribe-bot', roles: ['ai_service'], kind: 'service' });
    const serviceKey = (await f.services.admin.createKey(f.admin, { userId: service.id })).key;
    const userKey = (await f.services.admin.createKey(f.admin, { userId })).key;
    return { userId, service, serviceKey, userKey };
  }

  it('act for the user whose OIDC token comes with the request', async () => {
    const { userId, service, serviceKey } = await withService();
    const principal = await f.services.authenticator.authenticate(bearer(serviceKey, { 'x-phigate-user-token': await token({ sub: userId }) }));
    expect(principal).toMatchObject({ userId: service.id, kind: 'service', onBehalfOf: { userId, roles: ['physician'], orgUnit: 'cardiology', proof: 'token' } });
    const expired = await token({ sub: userId }, { exp: Math.floor(f.now / 1000) - 600 });
    expect(await codeOf(f.services.authenticator.authenticate(bearer(serviceKey, { 'x-phigate-user-token': expired })))).toBe('token_expired');
  });

  it('act for an asserted user only when that user is on the allow-list', async () => {
    const { userId, service, serviceKey } = await withService();
    const asserted = bearer(serviceKey, { 'x-phigate-on-behalf-of': userId });
    expect(await codeOf(f.services.authenticator.authenticate(asserted))).toBe('on_behalf_of_denied');
    await f.services.admin.allowDelegation(f.admin, service.id, userId);
    expect(await f.services.authenticator.authenticate(asserted)).toMatchObject({ onBehalfOf: { userId, proof: 'assertion' } });
    expect(await codeOf(f.services.authenticator.authenticate(bearer(serviceKey, { 'x-phigate-on-behalf-of': 'someone-else' })))).toBe('on_behalf_of_denied');
    await f.services.admin.disableUser(f.admin, userId);
    expect(await codeOf(f.services.authenticator.authenticate(asserted))).toBe('on_behalf_of_denied');
  });

  it('never let a user credential speak for someone else', async () => {
    const { userId, userKey } = await withService();
    const other = await f.services.admin.createUser(f.admin, { name: 'dr.other', roles: ['physician'] });
    expect(await codeOf(f.services.authenticator.authenticate(bearer(userKey, { 'x-phigate-on-behalf-of': other.id })))).toBe('on_behalf_of_denied');
    expect(await codeOf(f.services.authenticator.authenticate(bearer(userKey, { 'x-phigate-user-token': await token({ sub: userId }) })))).toBe('on_behalf_of_denied');
  });
});
