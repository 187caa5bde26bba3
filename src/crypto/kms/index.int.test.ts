// SPDX-License-Identifier: Apache-2.0
// createKms from parsed configuration, for every kind, against the local servers.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { createKms, type ManagedKms } from './index.js';
import { startAwsKmsServer, type AwsKmsServer } from './testing/aws-kms-server.js';
import { startAzureKeyVaultServer, type AzureKeyVaultServer } from './testing/azure-key-vault-server.js';
import { startVaultTransitServer, type VaultTransitServer } from './testing/vault-transit-server.js';

let dir: string;
let vault: VaultTransitServer;
let aws: AwsKmsServer;
let azure: AzureKeyVaultServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phigate-kms-factory-'));
  [vault, aws, azure] = await Promise.all([startVaultTransitServer(), startAwsKmsServer({ region: 'eu-central-1' }), startAzureKeyVaultServer()]);
});
afterAll(async () => {
  await Promise.all([vault.close(), aws.close(), azure.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function roundTrip(kms: ManagedKms): Promise<void> {
  const { plaintext, wrapped } = await kms.generateDataKey({ dataKeyId: 'k1' });
  expect(wrapped.kekId).toBe(kms.id);
  expect(Buffer.from(await kms.unwrapDataKey(wrapped, { dataKeyId: 'k1' })).equals(Buffer.from(plaintext))).toBe(true);
}

describe('createKms', () => {
  it('defaults to the local key file, creates it only when asked, and honours an absolute path', async () => {
    const config = parseConfig({});
    expect(config.kms).toEqual({ kind: 'local', keyFile: 'keys/local-kek' });
    await expect(createKms(config.kms, { baseDir: join(dir, 'home-a') })).rejects.toThrow(/does not exist/);
    const created = await createKms(config.kms, { baseDir: join(dir, 'home-a'), createLocalKeyFile: true });
    expect(created).toMatchObject({ kind: 'local', id: 'local:v1' });
    await roundTrip(created);
    // Off the data volume: an absolute path elsewhere.
    const outside = join(dir, 'secrets-volume', 'phigate-kek');
    const kms = await createKms(parseConfig({ kms: { keyFile: outside } }).kms, { baseDir: join(dir, 'home-b'), createLocalKeyFile: true });
    expect(kms.location).toContain(outside);
    expect((await stat(outside)).mode & 0o777).toBe(0o600);
    expect(await kms.rotateKek()).toBe('local:v2');
  });

  it('builds Vault Transit with the token from the environment', async () => {
    vault.createKey('factory', { derived: true });
    const config = parseConfig({ kms: { kind: 'vault-transit', address: vault.address, keyName: 'factory', token: 'env:FACTORY_VAULT_TOKEN' } });
    const kms = await createKms(config.kms, { baseDir: dir, env: { FACTORY_VAULT_TOKEN: vault.token } });
    expect(kms).toMatchObject({ kind: 'vault-transit', id: 'vault:transit/factory:v1' });
    await roundTrip(kms);
    await expect(createKms(config.kms, { baseDir: dir, env: {} })).rejects.toThrow(/env:FACTORY_VAULT_TOKEN/);
  });

  it('builds AWS KMS with credentials from files', async () => {
    const arn = aws.createKey();
    await writeFile(join(dir, 'aws-id'), `${aws.credentials.accessKeyId}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'aws-secret'), `${aws.credentials.secretAccessKey}\n`, { mode: 0o600 });
    const config = parseConfig({ kms: { kind: 'aws-kms', region: aws.region, keyId: arn, endpoint: aws.endpoint, accessKeyId: 'file:aws-id', secretAccessKey: 'file:aws-secret' } });
    const kms = await createKms(config.kms, { baseDir: dir });
    expect(kms).toMatchObject({ kind: 'aws-kms', id: `aws:${arn}` });
    await roundTrip(kms);
  });

  it('builds Azure Key Vault with the client secret from the environment', async () => {
    azure.createKey('factory');
    const config = parseConfig({
      kms: { kind: 'azure-key-vault', vaultUrl: azure.url, keyName: 'factory', tenantId: azure.tenantId, clientId: azure.clientId, clientSecret: 'env:FACTORY_AZ_SECRET', authorityHost: azure.url },
    });
    const kms = await createKms(config.kms, { baseDir: dir, env: { FACTORY_AZ_SECRET: azure.clientSecret } });
    expect(kms.kind).toBe('azure-key-vault');
    await roundTrip(kms);
  });

  it('refuses a secret written into the configuration instead of a reference', () => {
    expect(() => parseConfig({ kms: { kind: 'vault-transit', address: vault.address, keyName: 'x', token: 'hvs.literal-token' } })).toThrow();
  });
});
