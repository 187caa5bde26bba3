// SPDX-License-Identifier: Apache-2.0
/**
 * Console sign-in: name + password (scrypt) + TOTP code, then a session.
 *
 * - Every human console account needs a second factor: a correct password without an enrolled
 *   TOTP secret gets `mfa_enrollment_required`, never a session.
 * - Each TOTP step works once per user (atomic claim in the store), so an observed code cannot
 *   be replayed within its 90-second window.
 * - Wrong name, wrong password, wrong code, disabled account and service account all get the
 *   same `unauthenticated` answer after the same scrypt work (a dummy hash for unknown names).
 * - Failures are counted per sign-in name (a keyed hash of it, known or not). After
 *   `freeFailures`, each failure doubles a lockout starting at `lockoutBaseMs`, capped at
 *   `lockoutMaxMs`; while locked the answer is `login_throttled` with `retry-after`, whether or
 *   not the name exists. A successful sign-in clears the counter.
 */
import type { PhigateConfig } from '../config/schema.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import type { CredentialRepo } from '../store/repos/credential-repo.js';
import type { UserRecord, UserRepo } from '../store/repos/user-repo.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password.js';
import type { NewSession, SessionManager } from './sessions.js';
import { verifyTotp } from './totp.js';

export type ConsoleConfig = PhigateConfig['auth']['console'];

/** Where a TOTP secret's ciphertext is bound, so it cannot be moved to another user's row. */
export const totpFieldContext = (userId: string) => ({ table: 'user_credentials', column: 'totp_secret_enc', rowId: userId }) as const;

export interface LoginServiceOptions {
  readonly users: Pick<UserRepo, 'findByName'>;
  readonly credentials: CredentialRepo;
  readonly fieldCrypto: Pick<FieldCrypto, 'decryptString'>;
  readonly sessions: SessionManager;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly clock: Clock;
  readonly config: ConsoleConfig;
  /** scrypt cost as log2(N); tests lower it. */
  readonly passwordCostLog2?: number;
}

export interface LoginAttempt {
  readonly name: string;
  readonly password: string;
  readonly totp: string;
}

export interface LoginService {
  login(attempt: LoginAttempt): Promise<{ readonly user: UserRecord; readonly session: NewSession }>;
}

export function createLoginService(options: LoginServiceOptions): LoginService {
  const { credentials, clock, config } = options;
  const cost = options.passwordCostLog2;

  async function fail(nameHash: string, previous: number): Promise<never> {
    const now = clock.now();
    const failures = previous + 1;
    const over = failures - config.freeFailures;
    const lockedUntil = over >= 0 ? now + Math.min(config.lockoutMaxMs, config.lockoutBaseMs * 2 ** Math.min(over, 30)) : 0;
    await credentials.recordLoginFailure(nameHash, failures, lockedUntil, now);
    throw new GatewayError('unauthenticated');
  }

  return {
    async login(attempt) {
      const name = attempt.name.normalize('NFKC').trim();
      const nameHash = options.keyedHash(name.toLowerCase(), 'login-name');
      const record = await credentials.loginFailures(nameHash);
      const now = clock.now();
      if (record && record.lockedUntil > now) {
        const seconds = Math.ceil((record.lockedUntil - now) / 1000);
        throw new GatewayError('login_throttled', { headers: { 'retry-after': String(seconds) } });
      }
      const user = name.length > 0 && name.length <= 256 ? await options.users.findByName(name) : undefined;
      const credential = user ? await credentials.find(user.id) : undefined;
      const storedHash = credential?.passwordHash ?? null;
      const passwordOk = await verifyPassword(attempt.password, storedHash ?? (await dummyPasswordHash(cost)));
      if (!user || storedHash === null || !passwordOk || user.kind !== 'user' || user.disabledAt !== null) return fail(nameHash, record?.failures ?? 0);
      if (credential?.totpSecretEnc == null) throw new GatewayError('mfa_enrollment_required');
      const secret = await options.fieldCrypto.decryptString(credential.totpSecretEnc, totpFieldContext(user.id));
      const step = verifyTotp(secret, attempt.totp.trim(), now);
      if (step === undefined || !(await credentials.claimTotpStep(user.id, step))) return fail(nameHash, record?.failures ?? 0);
      if (record) await credentials.clearLoginFailures(nameHash);
      if (needsRehash(storedHash, cost)) await credentials.setPassword(user.id, await hashPassword(attempt.password, cost), now);
      return { user, session: await options.sessions.create(user.id) };
    },
  };
}
