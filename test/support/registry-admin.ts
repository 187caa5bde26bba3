// SPDX-License-Identifier: Apache-2.0
/**
 * Drives a test gateway's registry the way its administrators do: BAAs recorded and terminated
 * through the vendor admin API, use cases taken through their governed lifecycle (create,
 * submit, one approval per committee seat, go live) through the use-case admin API.
 */
import { request } from 'undici';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import type { TestGateway } from './gateway.js';

export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly requestId: string;
}

export interface RegistryAdmin {
  /** Calls an admin route with the gateway's admin key (or `key`). */
  call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, key?: string): Promise<AdminAnswer>;
  /** Records a signed BAA for a vendor of the catalogue (or one created before). */
  signBaa(vendorId: string, signature: Record<string, unknown>): Promise<void>;
  /** Terminates a vendor's BAA now. */
  terminateBaa(vendorId: string, reason?: string): Promise<void>;
  /** Creates a use case and takes version 1 live with the default committee's approvals. */
  liveUseCase(id: string, spec: Record<string, unknown>): Promise<void>;
}

/** Creates a person with `roles` in the gateway's store and an API key with the same roles. */
export async function createUserWithKey(gw: TestGateway, name: string, roles: string[]): Promise<{ readonly id: string; readonly key: string }> {
  const store = gw.gateway.store;
  const id = uuidv7();
  await store.users.create({ id, name, roles, kind: 'user' });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId: id, secretHash: key.secretHash, roles, useCases: [] });
  return { id, key: key.key };
}

async function keyFor(gw: TestGateway, name: string, roles: string[]): Promise<string> {
  return (await createUserWithKey(gw, name, roles)).key;
}

/** A UTC day `days` from now. */
export const dayFromNow = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

export async function createRegistryAdmin(gw: TestGateway): Promise<RegistryAdmin> {
  const seats = {
    cmio: await keyFor(gw, 'committee-chair', ['cmio']),
    security: await keyFor(gw, 'committee-security', ['security_officer']),
    privacy: await keyFor(gw, 'committee-privacy', ['privacy_officer']),
  };
  const root = gw.baseUrl.replace(/\/v1$/, '');

  async function call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, key = gw.apiKey): Promise<AdminAnswer> {
    const response = await request(`${root}${path}`, {
      method,
      dispatcher: gw.dispatcher,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>, requestId: String(response.headers['x-request-id']) };
  }

  async function expectOk(answer: Promise<AdminAnswer>, what: string): Promise<void> {
    const done = await answer;
    if (done.status >= 300) throw new Error(`${what}: ${done.status} ${JSON.stringify(done.body)}`);
  }

  return {
    call,
    signBaa: (vendorId, signature) => expectOk(call('POST', `/admin/api/vendors/${vendorId}/baa`, signature), `sign BAA ${vendorId}`),
    terminateBaa: (vendorId, reason = 'contract_ended') => expectOk(call('POST', `/admin/api/vendors/${vendorId}/baa/terminate`, { reason }), `terminate BAA ${vendorId}`),
    async liveUseCase(id, spec) {
      await expectOk(call('POST', '/admin/api/use-cases', { id, spec, reason: 'test' }), `create ${id}`);
      await expectOk(call('POST', `/admin/api/use-cases/${id}/submit`, { reason: 'ready' }), `submit ${id}`);
      for (const [seat, key] of Object.entries(seats)) await expectOk(call('POST', `/admin/api/use-cases/${id}/approve`, { version: 1, reason: 'committee' }, key), `approve ${id} (${seat})`);
      await expectOk(call('POST', `/admin/api/use-cases/${id}/go-live`, { reason: 'approved' }), `go live ${id}`);
    },
  };
}
