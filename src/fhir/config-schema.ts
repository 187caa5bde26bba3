// SPDX-License-Identifier: Apache-2.0
/**
 * The `fhir` configuration section: the EHR's FHIR R4 server phigate reads minimum-necessary
 * patient context from, and the SMART Backend Services client it authenticates as. Absent: no
 * FHIR context; a use case that declares FHIR context is then refused with
 * `context_unavailable`.
 *
 * ```yaml
 * fhir:
 *   baseUrl: https://ehr.example.org/fhir/R4
 *   clientId: phigate-prod
 *   privateKey: file:/etc/phigate/smart-key.pem   # PKCS#8 PEM or a private JWK
 *   keyId: phigate-2026-01                        # the `kid` of the public key in our JWKS
 *   algorithm: RS384
 * ```
 */
import { z } from 'zod';

/** Loopback hosts may use plain HTTP (a FHIR facade on the same machine); everything else needs HTTPS. */
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

function isAcceptableBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
  } catch {
    return false;
  }
}

// Same rule as config/schema.ts `secretRef` (repeated to avoid an import cycle).
const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'a secret reference such as env:NAME or file:/path (never the secret itself)');

export const fhirConfigSchema = z.strictObject({
  /** The FHIR R4 base URL (HTTPS; plain HTTP only on loopback), without query or credentials. */
  baseUrl: z.url().refine(isAcceptableBaseUrl, 'an https:// FHIR base URL without credentials or query (http:// only for localhost)'),
  /** The client id registered with the EHR for SMART Backend Services; `iss` and `sub` of every assertion. */
  clientId: z.string().min(1).max(256),
  /** Our private signing key (PKCS#8 PEM or a private JWK), by reference. Never logged. */
  privateKey: secretRef,
  /** The `kid` of the matching public key in the JWKS registered with the EHR. */
  keyId: z.string().min(1).max(256),
  algorithm: z.enum(['RS384', 'ES384']).default('RS384'),
  /** SMART scope syntax: v2 `system/Observation.rs`, or v1 `system/Observation.read` for older servers. */
  scopeVersion: z.enum(['v2', 'v1']).default('v2'),
  /** Overrides the token endpoint found at `/.well-known/smart-configuration`. */
  tokenUrl: z.url().refine(isAcceptableBaseUrl, 'an https:// URL (http:// only for localhost)').optional(),
  /** Longest wait for one HTTP call (discovery, token, read, one search page). */
  timeoutMs: z.number().int().min(100).max(120_000).default(5_000),
  /** Longest time all FHIR calls for one request may take together. */
  deadlineMs: z.number().int().min(100).max(300_000).default(15_000),
  /** Retries of a call answered 429 or 503 (before any body was read). */
  maxRetries: z.number().int().min(0).max(5).default(2),
  /** Largest response body accepted from one call. */
  maxResponseBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  /** `_count` asked for per search page (a use case's `limit` caps the total). */
  pageSize: z.number().int().min(1).max(200).default(50),
  /** Largest rendered context (FHIR resources plus document chunks), in characters. */
  maxContextChars: z.number().int().min(1000).max(2_000_000).default(100_000),
});
export type FhirConfig = z.infer<typeof fhirConfigSchema>;
