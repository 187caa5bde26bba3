// SPDX-License-Identifier: Apache-2.0
/** Test SMART client keys: a fresh key pair, its PKCS#8 PEM and private JWK, and the public JWKS to register. */
import { exportJWK, exportPKCS8, generateKeyPair, type JSONWebKeySet } from 'jose';

export interface SmartTestKey {
  readonly algorithm: 'RS384' | 'ES384';
  readonly keyId: string;
  readonly pem: string;
  /** The private key as a JWK (JSON text). */
  readonly privateJwk: string;
  readonly jwks: JSONWebKeySet;
}

export async function createSmartTestKey(algorithm: 'RS384' | 'ES384' = 'RS384', keyId = `test-${algorithm.toLowerCase()}`): Promise<SmartTestKey> {
  const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  return {
    algorithm,
    keyId,
    pem: await exportPKCS8(privateKey),
    privateJwk: JSON.stringify({ ...privateJwk, kid: keyId, alg: algorithm }),
    jwks: { keys: [{ ...publicJwk, kid: keyId, alg: algorithm, use: 'sig' }] },
  };
}
