// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { createAuthFixture, type AuthFixture } from './testing/auth-fixture.js';
import { totpCode } from './totp.js';

const password = 'correct horse battery staple';
let f: AuthFixture;
let secret: string;
let userId: string;

beforeEach(async () => {
  f = await createAuthFixture({ auth: { console: { freeFailures: 3, lockoutBaseMs: 1000, lockoutMaxMs: 8000 } } });
  const user = await f.services.admin.createUser(f.admin, { name: 'dr.jones', roles: ['physician'] });
  userId = user.id;
  await f.services.admin.setPassword(f.admin, userId, password);
  secret = (await f.services.admin.enrollTotp(f.admin, userId)).secret;
});
afterEach(async () => {
  await f.close();
});

async function codeOf(promise: Promise<unknown>) {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (err !== undefined && !isGatewayError(err)) throw err;
  return err?.code;
}

const login = (name: string, pw: string, totp: string) => f.services.login.login({ name, password: pw, totp });

describe('console sign-in', () => {
  it('needs the password and a fresh TOTP code, and each code works once', async () => {
    const code = totpCode(secret, f.now);
    const { user, session } = await login('dr.jones', password, code);
    expect(user.id).toBe(userId);
    expect(session.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await codeOf(login('dr.jones', password, code))).toBe('unauthenticated');
    f.now += 30_000;
    await login('dr.jones', password, totpCode(secret, f.now));
  });

  it('answers unknown users, wrong passwords, wrong codes, service accounts and disabled users alike', async () => {
    const service = await f.services.admin.createUser(f.admin, { name: 'bot', roles: [], kind: 'service' });
    const other = await f.services.admin.createUser(f.admin, { name: 'gone', roles: [] });
    await f.services.admin.setPassword(f.admin, other.id, password);
    await f.services.admin.disableUser(f.admin, other.id);
    const code = totpCode(secret, f.now);
    const answers = [
      await codeOf(login('nobody', password, code)),
      await codeOf(login('dr.jones', 'wrong password!!', code)),
      await codeOf(login('dr.jones', password, '000000')),
      await codeOf(login('bot', password, code)),
      await codeOf(login('gone', password, code)),
      await codeOf(login(service.name, '', '')),
    ];
    expect(answers).toEqual(Array(6).fill('unauthenticated'));
  });

  it('refuses a correct password without an enrolled second factor', async () => {
    const nurse = await f.services.admin.createUser(f.admin, { name: 'nurse.kim', roles: ['nurse'] });
    await f.services.admin.setPassword(f.admin, nurse.id, password);
    expect(await codeOf(login('nurse.kim', password, '123456'))).toBe('mfa_enrollment_required');
  });

  it('locks a name out with doubling backoff after the free failures, known or not', async () => {
    for (const name of ['dr.jones', 'no-such-user']) {
      for (let i = 0; i < 3; i++) expect(await codeOf(login(name, 'bad password here', '000000'))).toBe('unauthenticated');
      const locked = await login(name, password, totpCode(secret, f.now)).catch((e: unknown) => e);
      expect(isGatewayError(locked, 'login_throttled')).toBe(true);
      expect(isGatewayError(locked) && locked.headers).toEqual({ 'retry-after': '1' });
      f.now += 1000;
      expect(await codeOf(login(name, 'bad password here', '000000'))).toBe('unauthenticated');
      const longer = await login(name, 'x', 'x').catch((e: unknown) => e);
      expect(isGatewayError(longer) && longer.headers).toEqual({ 'retry-after': '2' });
      f.now += 60_000;
    }
    // The right credentials after the wait succeed and clear the counter.
    await login('dr.jones', password, totpCode(secret, f.now));
    expect(await f.services.credentials.loginFailures(f.store.fieldCrypto.blindIndex('dr.jones', 'login-name'))).toBeUndefined();
  });

  it('records no names or secrets in audit events', async () => {
    const text = JSON.stringify(f.events);
    expect(text).not.toContain(password);
    expect(text).not.toContain(secret);
    expect(f.events.map((e) => e.type)).toEqual(['user.create', 'user.set_password', 'user.enroll_totp']);
  });
});

describe('console sessions', () => {
  it('end after 15 idle minutes, and after the absolute lifetime however active', async () => {
    const { session } = await login('dr.jones', password, totpCode(secret, f.now));
    f.now += 14 * 60_000;
    await f.services.sessions.validate(session.sessionId);
    f.now += 14 * 60_000;
    await f.services.sessions.validate(session.sessionId);
    f.now += 15 * 60_000;
    expect(await codeOf(f.services.sessions.validate(session.sessionId))).toBe('session_expired');
    expect(await codeOf(f.services.sessions.validate(session.sessionId))).toBe('unauthenticated');

    f.now += 60_000;
    const second = (await login('dr.jones', password, totpCode(secret, f.now))).session;
    for (let t = 0; t < 12 * 60; t += 10) {
      f.now += 10 * 60_000;
      if (t + 10 < 12 * 60) await f.services.sessions.validate(second.sessionId);
    }
    expect(await codeOf(f.services.sessions.validate(second.sessionId))).toBe('session_expired');
  });

  it('check the CSRF token in constant time and store only hashes', async () => {
    const { session } = await login('dr.jones', password, totpCode(secret, f.now));
    const record = await f.services.sessions.validate(session.sessionId);
    expect(f.services.sessions.checkCsrf(record, session.csrfToken)).toBe(true);
    expect(f.services.sessions.checkCsrf(record, `${session.csrfToken}x`)).toBe(false);
    expect(f.services.sessions.checkCsrf(record, undefined)).toBe(false);
    const rows = await f.store.db.selectFrom('console_sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(session.sessionId);
    expect(JSON.stringify(rows)).not.toContain(session.csrfToken);
  });

  it('end when the password is changed or the user disabled', async () => {
    const { session } = await login('dr.jones', password, totpCode(secret, f.now));
    await f.services.admin.setPassword(f.admin, userId, 'another long password');
    expect(await codeOf(f.services.sessions.validate(session.sessionId))).toBe('unauthenticated');
  });
});
