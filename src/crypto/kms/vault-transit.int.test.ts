// SPDX-License-Identifier: Apache-2.0
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKmsContract } from '../kms.contract.js';
import { KmsError } from '../kms.js';
import { startVaultTransitServer, type VaultTransitServer } from './testing/vault-transit-server.js';
import { createVaultTransitKms } from './vault-transit.js';

let server: VaultTransitServer;
let keyCount = 0;
beforeAll(async () => {
  server = await startVaultTransitServer({ namespace: 'admin/phigate' });
});
afterAll(async () => server.close());

describeKmsContract('Vault Transit', async () => {
  const keyName = `phigate-${++keyCount}`;
  server.createKey(keyName, { derived: true });
  const kms = await createVaultTransitKms({ address: server.address, keyName, token: server.token, namespace: 'admin/phigate' });
  return { kms, rotate: () => kms.rotateKek() };
});

describe('Vault Transit adapter', () => {
  it('names the mount, key and version in its id and follows rotation made elsewhere', async () => {
    server.createKey('ids', { derived: true });
    const kms = await createVaultTransitKms({ address: server.address, keyName: 'ids', token: server.token, namespace: 'admin/phigate' });
    expect(kms.id).toBe('vault:transit/ids:v1');
    server.rotateKey('ids');
    const { wrapped } = await kms.generateDataKey({ a: '1' });
    expect(wrapped.kekId).toBe('vault:transit/ids:v2');
    expect(kms.id).toBe('vault:transit/ids:v2');
  });

  it('refuses a key that is not derived, since it would ignore the context', async () => {
    server.createKey('plain');
    await expect(createVaultTransitKms({ address: server.address, keyName: 'plain', token: server.token, namespace: 'admin/phigate' })).rejects.toThrow(/not derived/);
  });

  it('reports a wrong token or namespace as kms_unavailable without echoing the token', async () => {
    server.createKey('auth', { derived: true });
    const wrong = createVaultTransitKms({ address: server.address, keyName: 'auth', token: 'hvs.wrong-token', namespace: 'admin/phigate' });
    await expect(wrong).rejects.toSatisfy((err: unknown) => err instanceof KmsError && err.code === 'kms_unavailable' && !err.message.includes('wrong-token'));
    await expect(createVaultTransitKms({ address: server.address, keyName: 'auth', token: server.token })).rejects.toThrow(/HTTP 403/);
  });

  it('refuses plain http to anything but loopback', async () => {
    await expect(createVaultTransitKms({ address: 'http://vault.example.com:8200', keyName: 'x', token: 't' })).rejects.toThrow(/not https/);
  });
});
