// SPDX-License-Identifier: Apache-2.0
/**
 * Google service-account authentication without google-auth-library: an RS256 JWT signed
 * with the key file's private key (jose), exchanged at the token URL for an access token
 * (RFC 7523 jwt-bearer grant), cached until shortly before it expires. Concurrent callers
 * share one exchange.
 */
import { importPKCS8, SignJWT } from 'jose';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { badResponse, errorForStatus, providerError } from '../shared/errors.js';

export interface ServiceAccountKey {
  readonly client_email: string;
  readonly private_key: string;
  readonly private_key_id?: string | undefined;
}

const keySchema = z.object({ client_email: z.string().min(1), private_key: z.string().min(1), private_key_id: z.string().optional() });
const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });

/** The scope every Vertex AI call needs. */
export const cloudPlatformScope = 'https://www.googleapis.com/auth/cloud-platform';

/** Reads a service-account JSON key. The error names what is wrong, never the key's content. */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the Vertex service-account key is not valid JSON');
  }
  const parsed = keySchema.safeParse(json);
  if (!parsed.success) throw new Error('the Vertex service-account key lacks client_email or private_key');
  return parsed.data;
}

export interface TokenSourceOptions {
  readonly key: ServiceAccountKey;
  readonly tokenUrl: string;
  readonly scope?: string | undefined;
  /** Refresh this long before expiry. Default 5 minutes. */
  readonly refreshMarginMs?: number | undefined;
  readonly now?: (() => number) | undefined;
  /** Dispatcher for the token exchange (the egress proxy, when one is configured); undici's global one otherwise. */
  readonly dispatcher?: Dispatcher | undefined;
}

export interface TokenSource {
  /** A valid access token, from cache when it has more than the refresh margin left. */
  getToken(signal: AbortSignal, timeoutMs: number): Promise<string>;
}

/** Creates a cached token source for one service account. */
export function createServiceAccountTokenSource(options: TokenSourceOptions): TokenSource {
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? 5 * 60_000;
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<{ token: string; expiresAt: number }> | undefined;
  let signingKey: ReturnType<typeof importPKCS8> | undefined;

  async function exchange(signal: AbortSignal, timeoutMs: number): Promise<{ token: string; expiresAt: number }> {
    signingKey ??= importPKCS8(options.key.private_key, 'RS256');
    const issuedAt = Math.floor(now() / 1000);
    const assertion = await new SignJWT({ scope: options.scope ?? cloudPlatformScope })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(options.key.private_key_id ? { kid: options.key.private_key_id } : {}) })
      .setIssuer(options.key.client_email)
      .setAudience(options.tokenUrl)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 3600)
      .sign(await signingKey);
    const response = await request(options.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => undefined);
      // A refused grant is a configuration fault, never worth retrying with the same key.
      throw response.statusCode === 400 || response.statusCode === 401
        ? providerError('provider_unavailable', { reason: 'token_exchange_refused', status: response.statusCode })
        : errorForStatus(response.statusCode, response.headers);
    }
    let json: unknown;
    try {
      json = await response.body.json();
    } catch {
      throw badResponse('invalid_token_response');
    }
    const parsed = tokenSchema.safeParse(json);
    if (!parsed.success) throw badResponse('invalid_token_response', parsed.error);
    return { token: parsed.data.access_token, expiresAt: now() + parsed.data.expires_in * 1000 };
  }

  return {
    async getToken(signal, timeoutMs) {
      if (cached && now() < cached.expiresAt - margin) return cached.token;
      pending ??= exchange(signal, timeoutMs).finally(() => {
        pending = undefined;
      });
      cached = await pending;
      return cached.token;
    },
  };
}
