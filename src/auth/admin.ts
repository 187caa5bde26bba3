// SPDX-License-Identifier: Apache-2.0
/**
 * User and API-key administration, shared by the admin API and the CLI. Every change is written
 * to the audit log (and durable) before the call returns; audit records carry ids and role
 * names, never secrets. Revocations reach every instance through the revocation bus.
 *
 * Event types: `user.create`, `user.disable`, `user.set_roles`, `user.set_password`,
 * `user.enroll_totp`, `user.delegate`, `user.undelegate`, `apikey.create`, `apikey.rotate`,
 * `apikey.revoke`, `token.revoke`.
 */
import type { AuditEvent } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import { uuidv7 } from '../kernel/ids.js';
import type { ApiKeyRecord, ApiKeyRepo } from '../store/repos/api-key-repo.js';
import type { CredentialRepo } from '../store/repos/credential-repo.js';
import type { UserKind, UserRecord, UserRepo } from '../store/repos/user-repo.js';
import { generateApiKey, type SecretHasher } from './api-keys.js';
import { revokedTokenHash } from './jwt.js';
import { totpFieldContext } from './login.js';
import { hashPassword } from './password.js';
import type { RevocationBus } from './revocation-bus.js';
import type { SessionManager } from './sessions.js';
import { generateTotpSecret, totpUri } from './totp.js';

export const adminEventTypes = {
  userCreate: 'user.create',
  userDisable: 'user.disable',
  userSetRoles: 'user.set_roles',
  userSetPassword: 'user.set_password',
  userEnrollTotp: 'user.enroll_totp',
  userDelegate: 'user.delegate',
  userUndelegate: 'user.undelegate',
  apiKeyCreate: 'apikey.create',
  apiKeyRotate: 'apikey.rotate',
  apiKeyRevoke: 'apikey.revoke',
  tokenRevoke: 'token.revoke',
} as const;

/** Who made a change: a signed-in administrator, an admin API key, or an operator at the CLI. */
export interface AdminActor {
  readonly userId: string;
  readonly kind: 'user' | 'service';
  readonly roles: readonly string[];
  readonly authMethod: string;
  readonly apiKeyId?: string | undefined;
}

/** What an admin call knows about its request. */
export interface AdminRequest {
  readonly actor: AdminActor;
  readonly requestId: string;
  readonly client?: { readonly ip?: string | undefined; readonly userAgent?: string | undefined };
}

/** An audit event about an administrative change: the event plus what it changed (ids and role names only). */
export type AdminAuditEvent = AuditEvent & {
  readonly subject: { readonly kind: 'user' | 'api_key' | 'token'; readonly id: string };
  readonly change?: Readonly<Record<string, string | number | boolean | null | readonly string[]>>;
};

/** A key as listed: never its hash. */
export interface ApiKeySummary {
  readonly id: string;
  readonly userId: string;
  readonly roles: readonly string[];
  readonly useCases: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  readonly rotatedFrom: string | null;
  readonly state: 'active' | 'expired' | 'revoked' | 'rotating';
}

export interface AdminServiceOptions {
  readonly users: UserRepo;
  readonly apiKeys: ApiKeyRepo;
  readonly credentials: CredentialRepo;
  readonly fieldCrypto: Pick<FieldCrypto, 'encrypt'>;
  readonly hashSecret: SecretHasher;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly revocations: RevocationBus;
  readonly sessions?: SessionManager | undefined;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly rotationOverlapMs: number;
  readonly passwordCostLog2?: number;
}

export interface NewUserInput {
  readonly name: string;
  readonly roles: readonly string[];
  readonly orgUnit?: string | null;
  readonly kind?: UserKind;
}

export interface NewKeyInput {
  readonly userId: string;
  /** Defaults to the user's roles; must be a subset of them. */
  readonly roles?: readonly string[];
  readonly useCases?: readonly string[];
  readonly expiresAt?: number | null;
}

export interface AdminService {
  createUser(req: AdminRequest, input: NewUserInput): Promise<UserRecord>;
  listUsers(): Promise<readonly UserRecord[]>;
  getUser(id: string): Promise<UserRecord>;
  disableUser(req: AdminRequest, id: string): Promise<UserRecord>;
  setRoles(req: AdminRequest, id: string, roles: readonly string[]): Promise<UserRecord>;
  setPassword(req: AdminRequest, id: string, password: string): Promise<void>;
  /** A new TOTP secret (replacing any old one); the secret and otpauth URI are shown once. */
  enrollTotp(req: AdminRequest, id: string): Promise<{ readonly secret: string; readonly uri: string }>;
  allowDelegation(req: AdminRequest, serviceId: string, userId: string): Promise<void>;
  removeDelegation(req: AdminRequest, serviceId: string, userId: string): Promise<void>;
  delegations(serviceId: string): Promise<readonly string[]>;
  createKey(req: AdminRequest, input: NewKeyInput): Promise<{ readonly key: string; readonly record: ApiKeySummary }>;
  listKeys(userId?: string): Promise<readonly ApiKeySummary[]>;
  /** A new key with the same scope; the old one keeps working until `overlapMs` from now. */
  rotateKey(req: AdminRequest, keyId: string, overlapMs?: number): Promise<{ readonly key: string; readonly record: ApiKeySummary; readonly oldKeyValidUntil: number }>;
  revokeKey(req: AdminRequest, keyId: string): Promise<ApiKeySummary>;
  /** Puts an OIDC token id on the revocation list until it would have expired anyway. */
  revokeToken(req: AdminRequest, issuer: string, jti: string, expiresAt: number): Promise<void>;
}

const roleName = /^[a-z][a-z0-9_-]{0,63}$/;
const userName = /^[\p{L}\p{N}._@' -]{1,128}$/u;
const useCaseName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function badInput(reason: string, param?: string): GatewayError {
  return new GatewayError('invalid_request', { detail: { reason }, ...(param === undefined ? {} : { param }) });
}

function checkRoles(roles: readonly string[]): readonly string[] {
  if (!roles.every((role) => roleName.test(role))) throw badInput('invalid_role_name', 'roles');
  return [...new Set(roles)];
}

export function createAdminService(options: AdminServiceOptions): AdminService {
  const { users, apiKeys, credentials, clock } = options;

  async function record(req: AdminRequest, type: string, subject: AdminAuditEvent['subject'], change?: AdminAuditEvent['change']): Promise<void> {
    const now = clock.now();
    const event: AdminAuditEvent = {
      id: uuidv7(now),
      recordedAt: new Date(now).toISOString(),
      type,
      stage: 'completed',
      outcome: 'success',
      requestId: req.requestId,
      status: 200,
      actor: { userId: req.actor.userId, kind: req.actor.kind, roles: req.actor.roles, authMethod: req.actor.authMethod, apiKeyId: req.actor.apiKeyId },
      client: req.client,
      instance: options.instanceId,
      subject,
      ...(change === undefined ? {} : { change }),
    };
    await options.audit.append(event);
  }

  async function getUser(id: string): Promise<UserRecord> {
    const user = await users.findById(id);
    if (!user) throw badInput('no_such_user', 'user');
    return user;
  }

  async function getKey(id: string): Promise<ApiKeyRecord> {
    const key = await apiKeys.findById(id);
    if (!key) throw badInput('no_such_key', 'key');
    return key;
  }

  function summary(key: ApiKeyRecord): ApiKeySummary {
    const now = clock.now();
    const state = key.revokedAt !== null && key.revokedAt <= now ? 'revoked' : key.expiresAt !== null && key.expiresAt <= now ? 'expired' : key.revokedAt !== null ? 'rotating' : 'active';
    return {
      id: key.id,
      userId: key.userId,
      roles: key.roles,
      useCases: key.useCases,
      createdAt: key.createdAt,
      expiresAt: key.expiresAt,
      revokedAt: key.revokedAt,
      lastUsedAt: key.lastUsedAt,
      rotatedFrom: key.rotatedFrom,
      state,
    };
  }

  async function issueKey(user: UserRecord, roles: readonly string[], useCases: readonly string[], expiresAt: number | null, rotatedFrom: string | null) {
    const generated = generateApiKey(options.hashSecret);
    const created = await apiKeys.create({ id: generated.keyId, userId: user.id, secretHash: generated.secretHash, roles, useCases, expiresAt, rotatedFrom });
    return { key: generated.key, record: summary(created) };
  }

  async function keyIdsOf(userId: string): Promise<string[]> {
    return (await apiKeys.listByUser(userId)).map((key) => key.id);
  }

  return {
    async createUser(req, input) {
      const name = input.name.normalize('NFKC').trim();
      if (!userName.test(name)) throw badInput('invalid_user_name', 'name');
      if (await users.findByName(name)) throw badInput('user_name_taken', 'name');
      const user = await users.create({ id: uuidv7(clock.now()), name, roles: checkRoles(input.roles), orgUnit: input.orgUnit ?? null, kind: input.kind ?? 'user' });
      await record(req, adminEventTypes.userCreate, { kind: 'user', id: user.id }, { roles: user.roles, kind: user.kind, orgUnit: user.orgUnit });
      return user;
    },
    listUsers: () => users.list(),
    getUser,
    async disableUser(req, id) {
      await getUser(id);
      await users.disable(id);
      // Every key of the user stops at once on every instance; console sessions end.
      await options.revocations.publish(await keyIdsOf(id));
      await options.sessions?.destroyUser(id);
      await record(req, adminEventTypes.userDisable, { kind: 'user', id });
      return getUser(id);
    },
    async setRoles(req, id, roles) {
      const before = await getUser(id);
      const next = checkRoles(roles);
      await users.setRoles(id, next);
      // Keys are capped by the user's roles at every lookup; drop cached lookups so the cap applies now.
      await options.revocations.publish(await keyIdsOf(id));
      await record(req, adminEventTypes.userSetRoles, { kind: 'user', id }, { before: before.roles, after: next });
      return getUser(id);
    },
    async setPassword(req, id, password) {
      const user = await getUser(id);
      if (user.kind !== 'user') throw badInput('service_accounts_have_no_password', 'user');
      if (password.length < 12 || password.length > 1024) throw badInput('password_length_12_to_1024', 'password');
      await credentials.setPassword(id, await hashPassword(password, options.passwordCostLog2), clock.now());
      await options.sessions?.destroyUser(id);
      await record(req, adminEventTypes.userSetPassword, { kind: 'user', id });
    },
    async enrollTotp(req, id) {
      const user = await getUser(id);
      if (user.kind !== 'user') throw badInput('service_accounts_have_no_totp', 'user');
      const secret = generateTotpSecret();
      const encrypted = await options.fieldCrypto.encrypt(secret, totpFieldContext(id), 'credentials');
      await credentials.setTotpSecret(id, encrypted, clock.now());
      await record(req, adminEventTypes.userEnrollTotp, { kind: 'user', id });
      return { secret, uri: totpUri(secret, user.name) };
    },
    async allowDelegation(req, serviceId, userId) {
      const service = await getUser(serviceId);
      const user = await getUser(userId);
      if (service.kind !== 'service' || user.kind !== 'user') throw badInput('delegation_is_from_service_to_user', 'user');
      await credentials.allowDelegation(serviceId, userId, clock.now());
      await record(req, adminEventTypes.userDelegate, { kind: 'user', id: serviceId }, { onBehalfOf: userId });
    },
    async removeDelegation(req, serviceId, userId) {
      await credentials.removeDelegation(serviceId, userId);
      await record(req, adminEventTypes.userUndelegate, { kind: 'user', id: serviceId }, { onBehalfOf: userId });
    },
    delegations: (serviceId) => credentials.delegations(serviceId),
    async createKey(req, input) {
      const user = await getUser(input.userId);
      if (user.disabledAt !== null) throw badInput('user_disabled', 'user');
      const roles = input.roles === undefined ? user.roles : checkRoles(input.roles);
      if (!roles.every((role) => user.roles.includes(role))) throw badInput('key_roles_exceed_user_roles', 'roles');
      const useCases = [...new Set(input.useCases ?? [])];
      if (!useCases.every((useCase) => useCaseName.test(useCase))) throw badInput('invalid_use_case', 'use_cases');
      const expiresAt = input.expiresAt ?? null;
      if (expiresAt !== null && expiresAt <= clock.now()) throw badInput('expiry_in_the_past', 'expires_at');
      const issued = await issueKey(user, roles, useCases, expiresAt, null);
      await record(req, adminEventTypes.apiKeyCreate, { kind: 'api_key', id: issued.record.id }, { userId: user.id, roles, useCases, expiresAt });
      return issued;
    },
    async listKeys(userId) {
      const owners = userId === undefined ? (await users.list()).map((user) => user.id) : [(await getUser(userId)).id];
      const keys: ApiKeySummary[] = [];
      for (const owner of owners) for (const key of await apiKeys.listByUser(owner)) keys.push(summary(key));
      return keys;
    },
    async rotateKey(req, keyId, overlapMs = options.rotationOverlapMs) {
      const old = await getKey(keyId);
      const now = clock.now();
      if (old.revokedAt !== null) throw badInput('key_already_revoked_or_rotating', 'key');
      if (!(overlapMs >= 0 && overlapMs <= 30 * 86_400_000)) throw badInput('overlap_out_of_range', 'overlap');
      const user = await getUser(old.userId);
      if (user.disabledAt !== null) throw badInput('user_disabled', 'user');
      const issued = await issueKey(user, old.roles, old.useCases, old.expiresAt, old.id);
      const oldKeyValidUntil = now + overlapMs;
      await apiKeys.revoke(old.id, oldKeyValidUntil);
      await options.revocations.publish([old.id]);
      await record(req, adminEventTypes.apiKeyRotate, { kind: 'api_key', id: old.id }, { newKeyId: issued.record.id, oldKeyValidUntil });
      return { ...issued, oldKeyValidUntil };
    },
    async revokeKey(req, keyId) {
      const key = await getKey(keyId);
      const now = clock.now();
      // A key in its rotation overlap is cut now, not at the overlap's end.
      if (key.revokedAt === null || key.revokedAt > now) await apiKeys.revoke(keyId, now);
      await options.revocations.publish([keyId]);
      await record(req, adminEventTypes.apiKeyRevoke, { kind: 'api_key', id: keyId });
      return summary(await getKey(keyId));
    },
    async revokeToken(req, issuer, jti, expiresAt) {
      if (jti.length === 0 || jti.length > 256) throw badInput('invalid_jti', 'jti');
      const tokenHash = revokedTokenHash(options.keyedHash, issuer, jti);
      await credentials.revokeToken(tokenHash, expiresAt, clock.now());
      await record(req, adminEventTypes.tokenRevoke, { kind: 'token', id: tokenHash });
    },
  };
}
