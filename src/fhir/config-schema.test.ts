// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { fhirConfigSchema } from './config-schema.js';

const minimal = { baseUrl: 'https://ehr.example.org/fhir/R4', clientId: 'phigate', privateKey: 'file:/etc/phigate/smart.pem', keyId: 'k1' };

describe('fhir configuration', () => {
  it('is absent by default and fills in safe defaults when given', () => {
    expect(configSchema.parse({}).fhir).toBeUndefined();
    expect(configSchema.parse({ fhir: minimal }).fhir).toEqual({
      ...minimal,
      algorithm: 'RS384',
      scopeVersion: 'v2',
      timeoutMs: 5_000,
      deadlineMs: 15_000,
      maxRetries: 2,
      maxResponseBytes: 4 * 1024 * 1024,
      pageSize: 50,
      maxContextChars: 100_000,
    });
  });

  it.each([
    ['plain HTTP to a remote host', { baseUrl: 'http://ehr.example.org/fhir' }],
    ['credentials in the URL', { baseUrl: 'https://user:pw@ehr.example.org/fhir' }],
    ['a query in the base URL', { baseUrl: 'https://ehr.example.org/fhir?x=1' }],
    ['a key given as a value', { privateKey: '-----BEGIN PRIVATE KEY-----' }],
    ['an algorithm SMART does not name', { algorithm: 'HS256' }],
    ['an unknown option', { verifyTls: false }],
  ])('refuses %s', (_name, change) => {
    expect(fhirConfigSchema.safeParse({ ...minimal, ...change }).success).toBe(false);
  });

  it('allows plain HTTP on loopback only', () => {
    expect(fhirConfigSchema.safeParse({ ...minimal, baseUrl: 'http://127.0.0.1:8080/fhir' }).success).toBe(true);
    expect(fhirConfigSchema.safeParse({ ...minimal, baseUrl: 'http://localhost/fhir' }).success).toBe(true);
  });
});
