// SPDX-License-Identifier: Apache-2.0
// SMART Backend Services against the local authorisation server (src/fhir/testing/fhir-server.ts),
// which verifies every assertion with jose against the registered public JWKS.
import { decodeJwt, decodeProtectedHeader, SignJWT, importPKCS8 } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../kernel/testing/rejection.js';
import type { FetchLike, HttpOptions } from './http.js';
import { assertionLifetimeSec, createSmartBackendAuth, publicJwksOf, smartScopes, type SmartBackendOptions } from './smart-backend.js';
import { startFhirTestServer, type FhirTestServer } from './testing/fhir-server.js';
import { createSmartTestKey, type SmartTestKey } from './testing/smart-keys.js';

let server: FhirTestServer;
let rsKey: SmartTestKey;
let esKey: SmartTestKey;
let narrowKey: SmartTestKey;
/** Moves the clock of both the server and the clients under test. */
let offset = 0;
const clock = { now: () => Date.now() + offset };

beforeAll(async () => {
  [rsKey, esKey, narrowKey] = await Promise.all([createSmartTestKey('RS384'), createSmartTestKey('ES384'), createSmartTestKey('RS384', 'narrow-1')]);
  server = await startFhirTestServer({
    now: clock.now,
    clients: [
      { clientId: 'phigate-rs', jwks: rsKey.jwks },
      { clientId: 'phigate-es', jwks: esKey.jwks },
      { clientId: 'phigate-narrow', jwks: narrowKey.jwks, allowedScopes: ['system/Patient.rs'] },
    ],
  });
});
afterAll(() => server.close());
afterEach(() => {
  offset = 0;
});

/** A fetch that records token-endpoint form bodies, so tests can read the assertion that was sent. */
function recordingFetch(): { fetch: FetchLike; forms: URLSearchParams[]; urls: string[] } {
  const forms: URLSearchParams[] = [];
  const urls: string[] = [];
  return {
    forms,
    urls,
    fetch: (input, init) => {
      urls.push(input);
      if (typeof init.body === 'string') forms.push(new URLSearchParams(init.body));
      return fetch(input, init);
    },
  };
}

function http(fetchImpl: FetchLike, clock = { now: () => Date.now() }): HttpOptions {
  return { fetch: fetchImpl, clock, timeoutMs: 5_000, maxRetries: 0, maxResponseBytes: 1 << 20 };
}

function options(key: SmartTestKey, clientId: string, h: HttpOptions, extra: Partial<SmartBackendOptions> = {}): SmartBackendOptions {
  return { baseUrl: server.baseUrl, clientId, privateKey: key.pem, keyId: key.keyId, algorithm: key.algorithm, http: h, ...extra };
}

const budget = (clock = { now: () => Date.now() }) => ({ signal: new AbortController().signal, deadline: clock.now() + 10_000 });

describe('smartScopes', () => {
  it('asks for read and search on exactly the named types plus Patient, sorted and deduplicated', () => {
    expect(smartScopes(['Observation', 'Condition', 'Observation'])).toEqual(['system/Condition.rs', 'system/Observation.rs', 'system/Patient.rs']);
    expect(smartScopes([], 'v1')).toEqual(['system/Patient.read']);
  });
});

describe('publicJwksOf', () => {
  it('derives the public JWKS to register, which the server verifies assertions with', async () => {
    const fresh = await createSmartTestKey('ES384', 'fresh');
    for (const text of [fresh.pem, fresh.privateJwk]) {
      const jwks = await publicJwksOf(text, 'ES384', 'fresh-1');
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-384', kid: 'fresh-1', alg: 'ES384', use: 'sig' });
      expect(jwks.keys[0]).not.toHaveProperty('d');
    }
    server.registerClient({ clientId: 'phigate-fresh', jwks: await publicJwksOf(fresh.pem, 'ES384', fresh.keyId) });
    const auth = createSmartBackendAuth(options(fresh, 'phigate-fresh', http(fetch)));
    expect(await auth.accessToken(smartScopes([]), budget())).toBeTruthy();
    await expect(publicJwksOf(fresh.pem, 'RS384', 'x')).rejects.toMatchObject({ code: 'fhir_unavailable' });
  });
});

describe('SMART Backend Services token exchange', () => {
  it.each([
    ['RS384', 'phigate-rs'],
    ['ES384', 'phigate-es'],
  ] as const)('signs a %s client assertion the server verifies, with iss = sub = client id, aud = token URL, a kid and a jti', async (alg, clientId) => {
    const rec = recordingFetch();
    const key = alg === 'RS384' ? rsKey : esKey;
    const auth = createSmartBackendAuth(options(key, clientId, http(rec.fetch)));
    const scopes = smartScopes(['Observation']);
    const token = await auth.accessToken(scopes, budget());
    expect(token.length).toBeGreaterThan(10);
    // Discovery first, then the token endpoint it named.
    expect(rec.urls).toEqual([`${server.baseUrl}/.well-known/smart-configuration`, server.tokenUrl]);
    const form = rec.forms[0] as URLSearchParams;
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(form.get('scope')).toBe('system/Observation.rs system/Patient.rs');
    const assertion = form.get('client_assertion') ?? '';
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg, kid: key.keyId, typ: 'JWT' });
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: server.tokenUrl });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(assertionLifetimeSec);
    expect(assertionLifetimeSec).toBeLessThanOrEqual(300);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.tokenRequests.at(-1)).toMatchObject({ status: 200, grantedScopes: ['system/Observation.rs', 'system/Patient.rs'] });
  });

  it('accepts the private key as a JWK too', async () => {
    const auth = createSmartBackendAuth({ ...options(rsKey, 'phigate-rs', http(fetch)), privateKey: rsKey.privateJwk });
    expect(await auth.accessToken(smartScopes([]), budget())).toBeTruthy();
  });

  it('caches one token per scope set until the refresh margin, and shares one exchange between concurrent callers', async () => {
    const rec = recordingFetch();
    const auth = createSmartBackendAuth({ ...options(rsKey, 'phigate-rs', http(rec.fetch, clock)), refreshMarginMs: 60_000 });
    const labs = smartScopes(['Observation']);
    const [a, b, c] = await Promise.all([auth.accessToken(labs, budget(clock)), auth.accessToken(labs, budget(clock)), auth.accessToken([...labs].reverse(), budget(clock))]);
    expect(new Set([a, b, c]).size).toBe(1);
    expect(rec.forms).toHaveLength(1);
    // Another scope set is another token.
    const problems = await auth.accessToken(smartScopes(['Condition']), budget(clock));
    expect(problems).not.toBe(a);
    expect(rec.forms).toHaveLength(2);
    // The server grants 300 s; with a 60 s margin the token is reused until 240 s.
    offset = 239_000;
    expect(await auth.accessToken(labs, budget(clock))).toBe(a);
    offset = 241_000;
    const renewed = await auth.accessToken(labs, budget(clock));
    expect(renewed).not.toBe(a);
    expect(rec.forms).toHaveLength(3);
    // Each assertion had its own jti.
    const jtis = rec.forms.map((f) => decodeJwt(f.get('client_assertion') ?? '').jti);
    expect(new Set(jtis).size).toBe(3);
  });

  it('is refused by the server for a reused jti, a wrong audience, an expired or too long-lived assertion', async () => {
    const rec = recordingFetch();
    await createSmartBackendAuth(options(rsKey, 'phigate-rs', http(rec.fetch))).accessToken(smartScopes([]), budget());
    const post = async (form: URLSearchParams): Promise<number> => (await fetch(server.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() })).status;
    // Replaying the very assertion that was just accepted.
    expect(await post(rec.forms[0] as URLSearchParams)).toBe(401);
    const key = await importPKCS8(rsKey.pem, 'RS384');
    const now = Math.floor(Date.now() / 1000);
    const sign = (aud: string, iat: number, exp: number, kid: string | undefined = rsKey.keyId): Promise<string> =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS384', ...(kid ? { kid } : {}) })
        .setIssuer('phigate-rs')
        .setSubject('phigate-rs')
        .setAudience(aud)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(crypto.randomUUID())
        .sign(key);
    const form = (assertion: string): URLSearchParams =>
      new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
    expect(await post(form(await sign('https://other.example/token', now, now + 60)))).toBe(401);
    expect(await post(form(await sign(server.tokenUrl, now - 600, now - 300)))).toBe(401);
    expect(await post(form(await sign(server.tokenUrl, now, now + 3600)))).toBe(401);
    expect(await post(form(await sign(server.tokenUrl, now, now + 60, '')))).toBe(401);
    // The control: the same construction with correct claims is accepted.
    expect(await post(form(await sign(server.tokenUrl, now, now + 60)))).toBe(200);
  });

  it('fails with fhir_unavailable when the server refuses the client (key not registered)', async () => {
    const stranger = await createSmartTestKey('RS384', 'stranger');
    const err = await rejection(createSmartBackendAuth(options(stranger, 'phigate-rs', http(fetch))).accessToken(smartScopes([]), budget()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toEqual({ stage: 'token', reason: 'token_refused', status: 401 });
  });

  it('fails with fhir_unavailable when fewer scopes are granted than needed', async () => {
    const err = await rejection(createSmartBackendAuth(options(narrowKey, 'phigate-narrow', http(fetch))).accessToken(smartScopes(['Condition']), budget()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toEqual({ stage: 'token', reason: 'scope_not_granted', scopes: ['system/Condition.rs'] });
  });

  it('refuses a key that is not a private key of the algorithm, without quoting it', async () => {
    const auth = createSmartBackendAuth({ ...options(rsKey, 'phigate-rs', http(fetch)), privateKey: '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----' });
    const err = await rejection(auth.accessToken(smartScopes([]), budget()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toEqual({ stage: 'token', reason: 'signing_key_invalid' });
    expect(err.message).not.toContain('not-a-key');
    const es = createSmartBackendAuth({ ...options(rsKey, 'phigate-rs', http(fetch)), algorithm: 'ES384' });
    expect((await rejection(es.accessToken(smartScopes([]), budget()))).detail).toMatchObject({ reason: 'signing_key_invalid' });
  });

  it('checks the discovery document: an unsupported algorithm or a plain-HTTP remote token endpoint is refused', async () => {
    const rewriting = (change: (doc: Record<string, unknown>) => void): FetchLike => async (input, init) => {
      const response = await fetch(input, init);
      if (!input.endsWith('/.well-known/smart-configuration')) return response;
      const doc = (await response.json()) as Record<string, unknown>;
      change(doc);
      return new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const onlyEs = createSmartBackendAuth(options(rsKey, 'phigate-rs', http(rewriting((d) => (d.token_endpoint_auth_signing_alg_values_supported = ['ES384'])))));
    expect((await rejection(onlyEs.accessToken(smartScopes([]), budget()))).detail).toEqual({ stage: 'discovery', reason: 'algorithm_unsupported', algorithm: 'RS384' });
    const plain = createSmartBackendAuth(options(rsKey, 'phigate-rs', http(rewriting((d) => (d.token_endpoint = 'http://auth.example.org/token')))));
    const err = await rejection(plain.accessToken(smartScopes([]), budget()));
    expect(err.code).toBe('fhir_bad_response');
    expect(err.detail).toEqual({ stage: 'discovery', reason: 'token_endpoint_not_https' });
  });

  it('gives up at the deadline and when the caller aborts', async () => {
    const hanging: FetchLike = (_input, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    const auth = createSmartBackendAuth(options(rsKey, 'phigate-rs', { ...http(hanging), timeoutMs: 60_000 }));
    const started = Date.now();
    const late = await rejection(auth.accessToken(smartScopes([]), { signal: new AbortController().signal, deadline: Date.now() + 150 }));
    expect(late.code).toBe('fhir_timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    const controller = new AbortController();
    const pending = auth.accessToken(smartScopes(['Condition']), { signal: controller.signal, deadline: Date.now() + 10_000 });
    controller.abort();
    expect((await rejection(pending)).code).toBe('client_disconnected');
  });
});
