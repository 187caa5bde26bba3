// SPDX-License-Identifier: Apache-2.0
/**
 * Authentication end to end over HTTPS: users and keys made through the admin API, used with
 * the official OpenAI SDK; rate limits with OpenAI's headers; console sign-in with TOTP,
 * session cookie and CSRF token; service accounts that must act for a user.
 */
import OpenAI from 'openai';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/auth/totp.js';
import { startTestGateway, trustingFetch, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
let origin: string;

beforeAll(async () => {
  gw = await startTestGateway({ config: { limits: { windowMs: 3_600_000, perKey: { requests: 3 } } } });
  origin = gw.baseUrl.replace(/\/v1$/, '');
});
afterAll(async () => {
  await gw?.close();
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> & { error?: { code: string } };
  readonly headers: Headers;
}

async function call(method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await undiciFetch(`${origin}${path}`, {
    method,
    dispatcher: gw.dispatcher,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'], headers: response.headers as unknown as Headers };
}

const admin = (method: string, path: string, body?: unknown) => call(method, `/admin/api${path}`, { key: gw.apiKey, ...(body === undefined ? {} : { body }) });

async function newUser(name: string, roles: string[], kind: 'user' | 'service' = 'user'): Promise<string> {
  const created = await admin('POST', '/users', { name, roles, kind });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function newKey(userId: string, extra: Record<string, unknown> = {}): Promise<{ key: string; id: string }> {
  const created = await admin('POST', '/keys', { userId, ...extra });
  expect(created.status).toBe(201);
  return { key: created.body.key as string, id: created.body.id as string };
}

const client = (apiKey: string) => new OpenAI({ baseURL: gw.baseUrl, apiKey, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
const chat = (apiKey: string) => client(apiKey).chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'Hello' }] });

async function sdkError(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

describe('API keys with the OpenAI SDK', () => {
  it('work once created, stop when revoked (api_key_revoked) and say nothing for unknown keys', async () => {
    const userId = await newUser('dr.keys', ['physician']);
    const { key, id } = await newKey(userId);
    const answer = await chat(key);
    expect(answer.choices[0]?.message.content).toContain('Hello');
    expect((await admin('POST', `/keys/${id}/revoke`)).body).toMatchObject({ id, state: 'revoked' });
    const revoked = await sdkError(chat(key));
    expect([revoked.status, revoked.code]).toEqual([401, 'api_key_revoked']);
    const unknown = await sdkError(chat(`phigate_aaaaaaaaaaaa_${'A'.repeat(43)}`));
    expect([unknown.status, unknown.code]).toEqual([401, 'unauthenticated']);
    const malformed = await sdkError(chat('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'));
    expect([malformed.status, malformed.code]).toEqual([401, 'unauthenticated']);
  });

  it('keep the old key working through a rotation overlap', async () => {
    const userId = await newUser('dr.rotate', ['physician']);
    const old = await newKey(userId);
    const rotated = await admin('POST', `/keys/${old.id}/rotate`, { overlapMs: 3_600_000 });
    expect(rotated.status).toBe(201);
    await chat(old.key);
    await chat(rotated.body.key as string);
  });

  it('refuse past the per-key request limit with 429 and OpenAI rate-limit headers', async () => {
    const userId = await newUser('dr.busy', ['physician']);
    const { key } = await newKey(userId);
    const { response } = await client(key).chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'one' }] }).withResponse();
    expect(response.status).toBe(200);
    await chat(key);
    await chat(key);
    const limited = await sdkError(chat(key));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.code).toBe('rate_limited');
    expect(limited.headers?.get('x-ratelimit-limit-requests')).toBe('3');
    expect(limited.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(limited.headers?.get('x-ratelimit-reset-requests')).toMatch(/^\d+m\d+s$|^\d+s$/);
    expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThan(0);
    // Another key of the same person has its own count.
    await chat((await newKey(userId)).key);
  });
});

describe('service accounts', () => {
  it('may not name a patient without acting for a user, and act only for allow-listed users', async () => {
    const serviceId = await newUser('scribe-service', ['ai_service'], 'service');
    const userId = await newUser('dr.delegate', ['physician']);
    const { key } = await newKey(serviceId);
    const headers = { 'x-phigate-patient': 'Patient/123', 'x-phigate-purpose': 'TREAT' };
    const body = { model: 'echo', messages: [{ role: 'user', content: 'Summarise' }] };
    const alone = await call('POST', '/v1/chat/completions', { key, body, headers });
    expect([alone.status, alone.body.error?.code]).toEqual([403, 'on_behalf_of_required']);
    const notListed = await call('POST', '/v1/chat/completions', { key, body, headers: { ...headers, 'x-phigate-on-behalf-of': userId } });
    expect([notListed.status, notListed.body.error?.code]).toEqual([403, 'on_behalf_of_denied']);
    expect((await admin('POST', `/users/${serviceId}/delegations`, { userId })).status).toBe(201);
    const listed = await call('POST', '/v1/chat/completions', { key, body, headers: { ...headers, 'x-phigate-on-behalf-of': userId } });
    expect(listed.body.error?.code).not.toMatch(/^on_behalf_of|unauthenticated/);
  });
});

describe('console sign-in', () => {
  const password = 'a long enough password';

  async function enrol(name: string, roles: string[]) {
    const id = await newUser(name, roles);
    expect((await admin('POST', `/users/${id}/password`, { password })).status).toBe(200);
    const { secret } = (await admin('POST', `/users/${id}/totp`)).body as { secret: string };
    return { id, secret };
  }

  const login = (name: string, pw: string, totp: string, headers: Record<string, string> = {}) => call('POST', '/console/api/login', { body: { name, password: pw, totp }, headers });

  it('answers unknown users and wrong passwords identically', async () => {
    const { secret } = await enrol('nurse.same', ['nurse']);
    const unknown = await login('nobody.here', password, '123456');
    const wrong = await login('nurse.same', 'not the password', totpCode(secret, Date.now()));
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(unknown.headers.get('set-cookie')).toBeNull();
  });

  it('signs in with password and TOTP, sets a hardened cookie, and guards admin calls with the CSRF token', async () => {
    const { secret } = await enrol('admin.console', ['admin']);
    const signedIn = await login('admin.console', password, totpCode(secret, Date.now()));
    expect(signedIn.status).toBe(200);
    const setCookie = signedIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^__Host-phigate_session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = setCookie.split(';')[0] as string;
    const csrf = signedIn.body.csrfToken as string;

    const session = await call('GET', '/console/api/session', { headers: { cookie } });
    expect(session.body).toMatchObject({ user: { name: 'admin.console', roles: ['admin'] } });
    expect((await call('GET', '/admin/api/users', { headers: { cookie } })).status).toBe(200);

    const body = { name: 'made.in.console', roles: ['nurse'] };
    const noToken = await call('POST', '/admin/api/users', { body, headers: { cookie } });
    expect([noToken.status, noToken.body.error?.code]).toEqual([403, 'csrf_rejected']);
    const crossSite = await call('POST', '/admin/api/users', { body, headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' } });
    expect(crossSite.body.error?.code).toBe('csrf_rejected');
    expect((await call('POST', '/admin/api/users', { body, headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(201);

    expect((await call('POST', '/console/api/logout', { headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(200);
    expect((await call('GET', '/console/api/session', { headers: { cookie } })).status).toBe(401);
  });

  it('keeps people without the admin role out of the admin API', async () => {
    const { secret } = await enrol('dr.console', ['physician']);
    const signedIn = await login('dr.console', password, totpCode(secret, Date.now()));
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const refused = await call('GET', '/admin/api/users', { headers: { cookie } });
    expect([refused.status, refused.body.error?.code]).toEqual([403, 'permission_denied']);
    const userId = (signedIn.body.user as { id: string }).id;
    const { key } = await newKey(userId);
    expect((await call('GET', '/admin/api/keys', { key })).body.error?.code).toBe('permission_denied');
  });

  it('audits sign-ins and admin changes in the hash-chained log', async () => {
    const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['event_type', 'outcome']).execute();
    const types = new Set(rows.map((row) => `${row.event_type}:${row.outcome}`));
    for (const expected of ['auth.login:success', 'auth.login:denied', 'auth.logout:success', 'user.create:success', 'apikey.create:success', 'apikey.revoke:success', 'apikey.rotate:success', 'user.enroll_totp:success', 'user.set_password:success', 'user.delegate:success']) {
      expect(types).toContain(expected);
    }
  });
});

describe('token quotas', () => {
  it('charge the usage of answers, streamed or not, and refuse once the quota is spent', async () => {
    const quota = await startTestGateway({ config: { limits: { windowMs: 3_600_000, perUser: { tokens: 150 } } } });
    try {
      const openai = new OpenAI({ baseURL: quota.baseUrl, apiKey: quota.apiKey, fetch: trustingFetch(quota.dispatcher), maxRetries: 0 });
      const first = await openai.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'Hello there' }] });
      const used = first.usage?.total_tokens ?? 0;
      expect(used).toBeGreaterThan(0);
      const stream = await openai.chat.completions.create({ model: 'echo', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello again' }] });
      let streamed = 0;
      for await (const chunk of stream) streamed = chunk.usage?.total_tokens ?? streamed;
      expect(streamed).toBeGreaterThan(0);
      // Spend the rest, then the next request is refused with the token headers.
      for (let i = 0; i < 20; i++) {
        const attempt = await openai.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'Spend some tokens on this sentence.' }] }).then(() => undefined, (e: unknown) => e);
        if (attempt instanceof OpenAI.RateLimitError) {
          expect(attempt.code).toBe('rate_limited');
          expect(attempt.headers?.get('x-ratelimit-limit-tokens')).toBe('150');
          expect(attempt.headers?.get('x-ratelimit-remaining-tokens')).toBe('0');
          return;
        }
        expect(attempt).toBeUndefined();
      }
      expect.unreachable('the token quota was never enforced');
    } finally {
      await quota.close();
    }
  });
});
