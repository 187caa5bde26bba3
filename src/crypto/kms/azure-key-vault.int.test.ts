// SPDX-License-Identifier: Apache-2.0
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKmsContract } from '../kms.contract.js';
import { KmsError } from '../kms.js';
import { createAzureKeyVaultKms, type AzureKeyVaultOptions } from './azure-key-vault.js';
import { startAzureKeyVaultServer, type AzureKeyVaultServer } from './testing/azure-key-vault-server.js';

let server: AzureKeyVaultServer;
let keyCount = 0;
beforeAll(async () => {
  server = await startAzureKeyVaultServer();
});
afterAll(async () => server.close());

const optionsFor = (keyName: string): AzureKeyVaultOptions => ({
  vaultUrl: server.url,
  authorityHost: server.url,
  keyName,
  tenantId: server.tenantId,
  clientId: server.clientId,
  clientSecret: server.clientSecret,
});

describeKmsContract('Azure Key Vault', async () => {
  const keyName = `phigate-${++keyCount}`;
  server.createKey(keyName);
  const kms = await createAzureKeyVaultKms(optionsFor(keyName));
  return { kms, rotate: () => kms.rotateKek() };
});

describe('Azure Key Vault adapter', () => {
  it('names vault, key and version in the KEK id and keeps one token until it expires', async () => {
    const version = server.createKey('ids');
    const before = server.tokensIssued;
    const kms = await createAzureKeyVaultKms(optionsFor('ids'));
    const host = new URL(server.url).host;
    expect(kms.id).toBe(`azure:${host}/keys/ids/${version}`);
    for (let i = 0; i < 3; i++) await kms.generateDataKey({ i: String(i) });
    expect(server.tokensIssued).toBe(before + 1);
  });

  it('signs in again once when the token is revoked', async () => {
    server.createKey('revoked');
    const kms = await createAzureKeyVaultKms(optionsFor('revoked'));
    const { plaintext, wrapped } = await kms.generateDataKey({ a: '1' });
    server.revokeTokens();
    expect(Buffer.from(await kms.unwrapDataKey(wrapped, { a: '1' })).equals(Buffer.from(plaintext))).toBe(true);
  });

  it('binds the context with the HMAC tag: the same RSA ciphertext under another context is refused', async () => {
    server.createKey('bind');
    const kms = await createAzureKeyVaultKms(optionsFor('bind'));
    const { wrapped } = await kms.generateDataKey({ dataKeyId: 'a' });
    await expect(kms.unwrapDataKey(wrapped, { dataKeyId: 'b' })).rejects.toSatisfy((err: unknown) => err instanceof KmsError && err.code === 'unwrap_failed');
  });

  it('refuses a wrong client secret and a key without wrapKey, naming neither secret', async () => {
    server.createKey('secret');
    const attempt = createAzureKeyVaultKms({ ...optionsFor('secret'), clientSecret: 'not-the-secret' });
    await expect(attempt).rejects.toSatisfy((err: unknown) => err instanceof KmsError && /invalid_client/.test(err.message) && !err.message.includes('not-the-secret'));
    server.createKey('sign-only', { ops: ['sign', 'verify'] });
    await expect(createAzureKeyVaultKms(optionsFor('sign-only'))).rejects.toThrow(/wrapKey/);
  });

  it('uses a pinned version and refuses to rotate it', async () => {
    const first = server.createKey('pinned');
    server.rotateKey('pinned');
    const kms = await createAzureKeyVaultKms({ ...optionsFor('pinned'), keyVersion: first });
    expect(kms.keyVersion).toBe(first);
    await expect(kms.rotateKek()).rejects.toThrow(/pins/);
  });
});
