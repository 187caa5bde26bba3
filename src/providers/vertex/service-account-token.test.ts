// SPDX-License-Identifier: Apache-2.0
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeVertexServer } from '../testing/fake-vertex-server.js';
import type { FakeVertexServer } from '../testing/fake-vertex-server.js';
import { createServiceAccountTokenSource, parseServiceAccountKey } from './service-account-token.js';

let server: FakeVertexServer;
beforeAll(async () => {
  server = await startFakeVertexServer();
});
afterAll(() => server.close());

const signal = () => new AbortController().signal;

describe('service-account token source', () => {
  it('signs an RS256 jwt-bearer assertion for the cloud-platform scope', async () => {
    const before = server.tokenRequests.length;
    const source = createServiceAccountTokenSource({ key: parseServiceAccountKey(server.serviceAccountKey), tokenUrl: server.tokenUrl });
    expect(await source.getToken(signal(), 5_000)).toMatch(/^ya29\.fake-/);
    const form = new URLSearchParams(server.tokenRequests[before]?.rawBody);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const assertion = form.get('assertion') ?? '';
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS256', kid: 'fake-key-1' });
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({ iss: 'phigate-test@fake-project.iam.gserviceaccount.com', aud: server.tokenUrl, scope: 'https://www.googleapis.com/auth/cloud-platform' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
  });

  it('caches the token until the refresh margin and shares one exchange between concurrent callers', async () => {
    // Starts at the real time: the token endpoint checks the assertion's expiry against its own clock.
    let now = Date.now();
    const source = createServiceAccountTokenSource({ key: parseServiceAccountKey(server.serviceAccountKey), tokenUrl: server.tokenUrl, now: () => now, refreshMarginMs: 60_000 });
    const before = server.tokenRequests.length;
    const [a, b, c] = await Promise.all([source.getToken(signal(), 5_000), source.getToken(signal(), 5_000), source.getToken(signal(), 5_000)]);
    expect(new Set([a, b, c]).size).toBe(1);
    expect(server.tokenRequests.length - before).toBe(1);
    now += 3599_000 - 60_001;
    expect(await source.getToken(signal(), 5_000)).toBe(a);
    now += 2;
    const refreshed = await source.getToken(signal(), 5_000);
    expect(refreshed).not.toBe(a);
    expect(server.tokenRequests.length - before).toBe(2);
  });

  it('rejects malformed key files without quoting them', () => {
    expect(() => parseServiceAccountKey('not json -----BEGIN PRIVATE KEY-----')).toThrow(/^the Vertex service-account key is not valid JSON$/);
    expect(() => parseServiceAccountKey('{"private_key":"x"}')).toThrow(/lacks client_email/);
  });
});
