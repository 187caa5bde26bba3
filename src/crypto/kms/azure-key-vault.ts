// SPDX-License-Identifier: Apache-2.0
/**
 * Azure Key Vault as the KMS (Key Vault REST API 7.4: `wrapkey`, `unwrapkey`, `GET keys/{name}`,
 * `POST keys/{name}/rotate`), authenticated with a Microsoft Entra ID client-credentials token
 * (`{authorityHost}/{tenantId}/oauth2/v2.0/token`, scope `https://vault.azure.net/.default`).
 *
 * Key Vault has no "generate data key" and its RSA wrap takes no associated data, so the
 * construction is:
 *
 * 1. phigate draws the 256-bit data key from `node:crypto`;
 * 2. Key Vault wraps it with RSA-OAEP-256 under the named key's current version (the private key
 *    never leaves Key Vault, or its HSM);
 * 3. phigate binds the {@link KeyContext} with `tag = HMAC-SHA-256(dataKey, canonicalJson({context,
 *    kek, purpose}))`, stored beside the RSA ciphertext. Unwrap asks Key Vault for the data key,
 *    recomputes the tag under the presented context and compares in constant time. Without the
 *    data key nobody can make a valid tag for another context, and getting the data key needs
 *    Key Vault's unwrap permission — so a wrapped key moved to another row or class is refused.
 *
 * Wrapped form: `az1.<version>.<base64url RSA-OAEP ciphertext>.<base64url tag>`; KEK id:
 * `azure:<vault host>/keys/<name>/<version>`. Rewrapping unwraps and wraps again (Key Vault has
 * no rewrap), so on that path the data key passes through phigate's memory for a moment.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64urlStrict } from '../base64url.js';
import { canonicalJson } from '../../kernel/canonical-json.js';
import { KmsError, type GeneratedDataKey, type KeyContext, type Kms, type WrappedKey } from '../kms.js';
import { requireSafeTransport } from './vault-transit.js';

export interface AzureKeyVaultOptions {
  /** e.g. `https://my-vault.vault.azure.net` */
  readonly vaultUrl: string;
  readonly keyName: string;
  /** Pin a key version; by default the key's current version wraps new keys. */
  readonly keyVersion?: string | undefined;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default `https://login.microsoftonline.com` (sovereign clouds differ). */
  readonly authorityHost?: string | undefined;
  readonly fetch?: typeof fetch;
  /** Per-request time limit. Default 10 s. */
  readonly timeoutMs?: number;
  /** Clock, epoch ms, for token expiry. */
  readonly now?: () => number;
}

export interface AzureKeyVaultKms extends Kms {
  readonly kind: 'azure-key-vault';
  readonly keyVersion: string;
  /** Re-reads the key's current version (unless pinned). */
  refresh(): Promise<void>;
  /** Creates a new key version in Key Vault (needs the `rotate` permission) and returns the new KEK id. */
  rotateKek(): Promise<string>;
}

const FORMAT = 'az1';
const API_VERSION = '7.4';
const ALG = 'RSA-OAEP-256';
const DATA_KEY_BYTES = 32;
const TAG_BYTES = 32;
const VERSION_PATTERN = /^[A-Za-z0-9]{1,64}$/;

/**
 * Gets a token, reads the key's current version and returns the KMS.
 * @throws KmsError `kms_unavailable` when sign-in fails or the key cannot be read.
 */
export async function createAzureKeyVaultKms(options: AzureKeyVaultOptions): Promise<AzureKeyVaultKms> {
  const vault = new URL(options.vaultUrl);
  const authority = new URL(options.authorityHost ?? 'https://login.microsoftonline.com');
  requireSafeTransport(vault);
  requireSafeTransport(authority);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const keyPath = `${vault.pathname.replace(/\/+$/, '')}/keys/${encodeURIComponent(options.keyName)}`;
  const kekIdOf = (version: string): string => `azure:${vault.host}/keys/${options.keyName}/${version}`;
  let version = options.keyVersion ?? '';
  let token: { value: string; expiresAt: number } | undefined;
  let pendingToken: Promise<string> | undefined;

  const send = async (url: URL, init: RequestInit, what: string): Promise<{ status: number; json: unknown }> => {
    let response: Response;
    try {
      response = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new KmsError('kms_unavailable', `${what}: ${url.host} cannot be reached`, { cause: err });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  };

  const fetchToken = async (): Promise<string> => {
    const url = new URL(`${authority.pathname.replace(/\/+$/, '')}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`, authority);
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret, scope: 'https://vault.azure.net/.default' });
    const { status, json } = await send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() }, 'Entra ID sign-in');
    const answer = json as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    if (status !== 200 || typeof answer?.access_token !== 'string') {
      // The error code (invalid_client, unauthorized_client…) says what to fix; the description may quote ids.
      const code = typeof answer?.error === 'string' ? answer.error : `HTTP ${status}`;
      throw new KmsError('kms_unavailable', `Entra ID refused the client credentials for Key Vault (${code})`);
    }
    const lifetime = typeof answer.expires_in === 'number' ? answer.expires_in : Number(answer.expires_in ?? 0);
    // Renew a minute early so a token never expires between check and use.
    token = { value: answer.access_token, expiresAt: now() + Math.max(0, lifetime - 60) * 1000 };
    return token.value;
  };

  const bearer = async (): Promise<string> => {
    if (token !== undefined && now() < token.expiresAt) return token.value;
    pendingToken ??= fetchToken().finally(() => {
      pendingToken = undefined;
    });
    return pendingToken;
  };

  const call = async (method: 'GET' | 'POST', path: string, body: unknown, failure: 'unwrap' | 'unavailable'): Promise<Record<string, unknown>> => {
    const url = new URL(`${keyPath}${path}`, vault);
    url.searchParams.set('api-version', API_VERSION);
    const attempt = async (): Promise<{ status: number; json: unknown }> =>
      send(
        url,
        {
          method,
          headers: { authorization: `Bearer ${await bearer()}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
        'Key Vault',
      );
    let result = await attempt();
    if (result.status === 401) {
      // A revoked or early-expired token: sign in once more before giving up.
      token = undefined;
      result = await attempt();
    }
    const code = (result.json as { error?: { code?: unknown } } | undefined)?.error?.code;
    if (result.status !== 200) {
      if (failure === 'unwrap' && (result.status === 400 || result.status === 404)) throw new KmsError('unwrap_failed');
      throw new KmsError('kms_unavailable', `Key Vault refused ${method} on key ${options.keyName} (HTTP ${result.status}${typeof code === 'string' ? ` ${code}` : ''})`);
    }
    if (result.json === null || typeof result.json !== 'object') throw new KmsError('kms_unavailable', 'Key Vault answered with something other than JSON');
    return result.json as Record<string, unknown>;
  };

  const versionOfKid = (kid: unknown): string => {
    const last = typeof kid === 'string' ? kid.split('/').pop() : undefined;
    if (last === undefined || !VERSION_PATTERN.test(last)) throw new KmsError('kms_unavailable', 'Key Vault answered without a key version');
    return last;
  };

  const refresh = async (): Promise<void> => {
    const bundle = await call('GET', options.keyVersion === undefined ? '' : `/${encodeURIComponent(options.keyVersion)}`, undefined, 'unavailable');
    const key = bundle.key as { kid?: unknown; kty?: unknown; key_ops?: unknown } | undefined;
    if (key?.kty !== 'RSA' && key?.kty !== 'RSA-HSM') throw new KmsError('kms_unavailable', `Key Vault key ${options.keyName} is not an RSA key`);
    const ops = Array.isArray(key.key_ops) ? key.key_ops : [];
    if (!ops.includes('wrapKey') || !ops.includes('unwrapKey')) throw new KmsError('kms_unavailable', `Key Vault key ${options.keyName} does not allow wrapKey and unwrapKey`);
    version = versionOfKid(key.kid);
  };

  const tagOf = (dataKey: Uint8Array, kekId: string, context: KeyContext): Buffer => {
    for (const [k, v] of Object.entries(context)) {
      if (typeof v !== 'string') throw new KmsError('kms_unavailable', `key context entry ${k} must be a string`);
    }
    return createHmac('sha256', dataKey).update(canonicalJson({ context, kek: kekId, purpose: 'phigate-data-key' }), 'utf8').digest();
  };

  const wrap = async (dataKey: Uint8Array, context: KeyContext): Promise<WrappedKey> => {
    const v = version;
    const answer = await call('POST', `/${encodeURIComponent(v)}/wrapkey`, { alg: ALG, value: Buffer.from(dataKey).toString('base64url') }, 'unavailable');
    const wrappedBytes = typeof answer.value === 'string' ? decodeBase64urlStrict(answer.value.replace(/=+$/, '')) : undefined;
    if (wrappedBytes === undefined || wrappedBytes.length === 0 || versionOfKid(answer.kid) !== v) throw new KmsError('kms_unavailable', 'Key Vault answered wrapkey without a wrapped key');
    const kekId = kekIdOf(v);
    return { kekId, ciphertext: [FORMAT, v, wrappedBytes.toString('base64url'), tagOf(dataKey, kekId, context).toString('base64url')].join('.') };
  };

  const unwrap = async (wrapped: WrappedKey, context: KeyContext): Promise<Uint8Array> => {
    const parts = wrapped.ciphertext.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT || !VERSION_PATTERN.test(parts[1] ?? '')) throw new KmsError('malformed_wrapped_key');
    const v = parts[1] ?? '';
    if (wrapped.kekId !== kekIdOf(v)) throw new KmsError('malformed_wrapped_key');
    const rsa = decodeBase64urlStrict(parts[2] ?? '');
    const tag = decodeBase64urlStrict(parts[3] ?? '');
    if (rsa === undefined || rsa.length === 0 || tag?.length !== TAG_BYTES) throw new KmsError('malformed_wrapped_key');
    // The tag is keyed by the data key, so the context can only be checked after Key Vault unwraps.
    const answer = await call('POST', `/${encodeURIComponent(v)}/unwrapkey`, { alg: ALG, value: rsa.toString('base64url') }, 'unwrap');
    const dataKey = typeof answer.value === 'string' ? Buffer.from(answer.value, 'base64url') : undefined;
    if (dataKey?.length !== DATA_KEY_BYTES) {
      dataKey?.fill(0);
      throw new KmsError('unwrap_failed');
    }
    if (!timingSafeEqual(tagOf(dataKey, wrapped.kekId, context), tag)) {
      dataKey.fill(0);
      throw new KmsError('unwrap_failed');
    }
    return new Uint8Array(dataKey);
  };

  await refresh();

  return {
    kind: 'azure-key-vault',
    get id() {
      return kekIdOf(version);
    },
    get keyVersion() {
      return version;
    },
    refresh,
    async rotateKek() {
      if (options.keyVersion !== undefined) throw new KmsError('kms_unavailable', 'kms.keyVersion pins one version; remove it to rotate');
      const bundle = await call('POST', '/rotate', {}, 'unavailable');
      version = versionOfKid((bundle.key as { kid?: unknown } | undefined)?.kid);
      return kekIdOf(version);
    },
    async generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
      const plaintext = new Uint8Array(randomBytes(DATA_KEY_BYTES));
      try {
        return { plaintext, wrapped: await wrap(plaintext, context) };
      } catch (err) {
        plaintext.fill(0);
        throw err;
      }
    },
    unwrapDataKey: unwrap,
    async rewrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> {
      const dataKey = await unwrap(wrapped, context);
      try {
        return await wrap(dataKey, context);
      } finally {
        dataKey.fill(0);
      }
    },
  };
}
