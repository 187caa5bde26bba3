// SPDX-License-Identifier: Apache-2.0
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKmsContract } from '../kms.contract.js';
import { KmsError } from '../kms.js';
import { createAwsKms } from './aws-kms.js';
import { startAwsKmsServer, type AwsKmsServer } from './testing/aws-kms-server.js';

let server: AwsKmsServer;
let aliasCount = 0;
beforeAll(async () => {
  server = await startAwsKmsServer({ region: 'us-west-2', sessionToken: 'session-token-for-tests' });
});
afterAll(async () => server.close());

describeKmsContract('AWS KMS', async () => {
  const alias = `alias/phigate-${++aliasCount}`;
  server.setAlias(alias, server.createKey());
  const kms = await createAwsKms({ region: server.region, keyId: alias, endpoint: server.endpoint, credentials: server.credentials });
  return {
    kms,
    // AWS's own rotation keeps the ARN; moving the alias to a new key is what changes the KEK id.
    rotate: async () => {
      server.setAlias(alias, server.createKey());
      await kms.refresh();
    },
  };
});

describe('AWS KMS adapter', () => {
  it('resolves an alias to the key ARN and names it in every wrapped key', async () => {
    const arn = server.createKey();
    server.setAlias('alias/ids', arn);
    const kms = await createAwsKms({ region: server.region, keyId: 'alias/ids', endpoint: server.endpoint, credentials: server.credentials });
    expect(kms.id).toBe(`aws:${arn}`);
    const { wrapped } = await kms.generateDataKey({ table: 'x' });
    expect(wrapped.kekId).toBe(`aws:${arn}`);
    expect(wrapped.ciphertext.startsWith('ak1.')).toBe(true);
  });

  it('signs every request: a wrong secret is refused by signature, without the secret in the error', async () => {
    const arn = server.createKey();
    const before = server.rejectedSignatures;
    const attempt = createAwsKms({ region: server.region, keyId: arn, endpoint: server.endpoint, credentials: { ...server.credentials, secretAccessKey: 'not-the-secret' } });
    await expect(attempt).rejects.toSatisfy((err: unknown) => err instanceof KmsError && err.code === 'kms_unavailable' && /InvalidSignatureException/.test(err.message) && !err.message.includes('not-the-secret'));
    expect(server.rejectedSignatures).toBe(before + 1);
    await expect(createAwsKms({ region: server.region, keyId: arn, endpoint: server.endpoint, credentials: { ...server.credentials, sessionToken: undefined } })).rejects.toThrow(/UnrecognizedClientException/);
    await expect(createAwsKms({ region: 'eu-west-1', keyId: arn, endpoint: server.endpoint, credentials: server.credentials })).rejects.toThrow(/InvalidSignatureException/);
  });

  it('refuses a disabled key at start', async () => {
    const arn = server.createKey();
    server.disableKey(arn);
    await expect(createAwsKms({ region: server.region, keyId: arn, endpoint: server.endpoint, credentials: server.credentials })).rejects.toThrow(/not enabled/);
  });

  it('says how to rotate instead of pretending to', async () => {
    const kms = await createAwsKms({ region: server.region, keyId: server.createKey(), endpoint: server.endpoint, credentials: server.credentials });
    await expect(kms.rotateKek()).rejects.toThrow(/kms rewrap/);
  });
});
