// SPDX-License-Identifier: Apache-2.0
/**
 * HashiCorp Vault Transit as the KMS (Vault HTTP API, transit secrets engine:
 * `datakey/plaintext`, `decrypt`, `rewrap`, `keys/:name`, `keys/:name/rotate`).
 *
 * The transit key must be created with `derived=true` (`vault write -f transit/keys/phigate
 * derived=true`): Vault then derives a per-context key (HKDF over the `context` parameter), so the
 * canonical JSON of the {@link KeyContext} is bound to every wrapped data key and a wrapped key
 * moved to another context does not decrypt. A non-derived key is refused at start, because it
 * would silently ignore the context.
 *
 * Wrapped form: `vt1.<keyVersion>.<base64url of the bytes after "vault:vN:">`. The version is
 * repeated in {@link WrappedKey.kekId} (`vault:<mount>/<key>:v<N>`) and both must agree; the bytes
 * are decoded strictly so every altered character is an error (Vault itself decodes leniently).
 * Rewrapping happens inside Vault: the data key never reaches phigate on that path.
 */
import { decodeBase64urlStrict } from '../base64url.js';
import { canonicalJson } from '../../kernel/canonical-json.js';
import { KmsError, type GeneratedDataKey, type KeyContext, type Kms, type WrappedKey } from '../kms.js';

export interface VaultTransitOptions {
  /** Vault's address, e.g. `https://vault.internal:8200`. Plain http is accepted only on loopback. */
  readonly address: string;
  readonly keyName: string;
  /** Where the transit engine is mounted. Default `transit`. */
  readonly mount?: string;
  /** A Vault token allowed `update` on datakey/decrypt/rewrap and `read` on the key (and `update` on rotate to rotate from phigate). */
  readonly token: string;
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. */
  readonly namespace?: string | undefined;
  readonly fetch?: typeof fetch;
  /** Per-request time limit. Default 10 s. */
  readonly timeoutMs?: number;
}

/** A Vault Transit KMS. `id` follows the transit key's newest version. */
export interface VaultTransitKms extends Kms {
  readonly kind: 'vault-transit';
  readonly keyVersion: number;
  /** Re-reads the key's newest version (someone may have rotated it in Vault). */
  refresh(): Promise<void>;
  /** Rotates the transit key in Vault (needs `update` on `keys/<name>/rotate`) and returns the new KEK id. */
  rotateKek(): Promise<string>;
}

const FORMAT = 'vt1';
const DATA_KEY_BYTES = 32;

/**
 * Connects to Vault, checks the key exists and is derived, and returns the KMS.
 * @throws KmsError `kms_unavailable` when Vault refuses, the key is missing or not derived.
 */
export async function createVaultTransitKms(options: VaultTransitOptions): Promise<VaultTransitKms> {
  const mount = trimSlashes(options.mount ?? 'transit');
  const keyName = options.keyName;
  const base = new URL(options.address);
  requireSafeTransport(base);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const kekIdOf = (version: number): string => `vault:${mount}/${keyName}:v${version}`;
  let version = 0;

  const call = async (method: 'GET' | 'POST', path: string, body: unknown, failure: 'unwrap' | 'unavailable'): Promise<Record<string, unknown>> => {
    // `keys/<name>/rotate` puts the name in the middle; the operations put it last.
    const route = path.startsWith('keys') ? `keys/${encodeURIComponent(keyName)}${path.slice(4)}` : `${path}/${encodeURIComponent(keyName)}`;
    const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/${mount}/${route}`, base);
    const headers: Record<string, string> = { 'x-vault-token': options.token, accept: 'application/json' };
    if (options.namespace !== undefined) headers['x-vault-namespace'] = options.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new KmsError('kms_unavailable', `Vault at ${base.origin} cannot be reached`, { cause: err });
    }
    const text = await response.text();
    if (response.status === 400 && failure === 'unwrap') throw new KmsError('unwrap_failed');
    // Vault's error text names keys and reasons, never key material, but it is not ours to show: status only.
    if (!response.ok) throw new KmsError('kms_unavailable', `Vault refused ${path} on key ${keyName} (HTTP ${response.status})`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new KmsError('kms_unavailable', `Vault answered ${path} with something other than JSON`, { cause: err });
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (data === null || typeof data !== 'object') throw new KmsError('kms_unavailable', `Vault answered ${path} without data`);
    return data as Record<string, unknown>;
  };

  const noteVersion = (data: Record<string, unknown>): number => {
    const v = data.key_version;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new KmsError('kms_unavailable', 'Vault answered without a key version');
    if (v > version) version = v;
    return v;
  };

  const refresh = async (): Promise<void> => {
    const data = await call('GET', 'keys', undefined, 'unavailable');
    if (data.derived !== true) {
      throw new KmsError(
        'kms_unavailable',
        `transit key ${keyName} is not derived, so it would ignore the key context; create a key with derived=true for phigate`,
      );
    }
    const latest = data.latest_version;
    if (typeof latest !== 'number' || !Number.isSafeInteger(latest) || latest < 1) throw new KmsError('kms_unavailable', `transit key ${keyName} has no version`);
    version = latest;
  };

  const contextParam = (context: KeyContext): string => {
    for (const [k, v] of Object.entries(context)) {
      if (typeof v !== 'string') throw new KmsError('kms_unavailable', `key context entry ${k} must be a string`);
    }
    return Buffer.from(canonicalJson(context), 'utf8').toString('base64');
  };

  const toWrapped = (vaultCiphertext: unknown, keyVersion: number): WrappedKey => {
    const match = typeof vaultCiphertext === 'string' ? /^vault:v([1-9][0-9]{0,8}):([A-Za-z0-9+/]+={0,2})$/.exec(vaultCiphertext) : null;
    if (!match || Number(match[1]) !== keyVersion) throw new KmsError('kms_unavailable', 'Vault answered with a ciphertext phigate cannot read');
    const bytes = Buffer.from(match[2] ?? '', 'base64');
    return { kekId: kekIdOf(keyVersion), ciphertext: `${FORMAT}.${keyVersion}.${bytes.toString('base64url')}` };
  };

  const toVault = (wrapped: WrappedKey): string => {
    const parts = wrapped.ciphertext.split('.');
    if (parts.length !== 3 || parts[0] !== FORMAT || !/^[1-9][0-9]{0,8}$/.test(parts[1] ?? '')) throw new KmsError('malformed_wrapped_key');
    const keyVersion = Number(parts[1]);
    if (wrapped.kekId !== kekIdOf(keyVersion)) throw new KmsError('malformed_wrapped_key');
    const bytes = decodeBase64urlStrict(parts[2] ?? '');
    if (bytes === undefined || bytes.length === 0) throw new KmsError('malformed_wrapped_key');
    return `vault:v${keyVersion}:${bytes.toString('base64')}`;
  };

  const plaintextOf = (data: Record<string, unknown>): Uint8Array => {
    const text = data.plaintext;
    const bytes = typeof text === 'string' ? Buffer.from(text, 'base64') : undefined;
    if (bytes?.length !== DATA_KEY_BYTES) {
      bytes?.fill(0);
      throw new KmsError('unwrap_failed');
    }
    return new Uint8Array(bytes);
  };

  await refresh();

  return {
    kind: 'vault-transit',
    get id() {
      return kekIdOf(version);
    },
    get keyVersion() {
      return version;
    },
    refresh,
    async rotateKek() {
      await call('POST', 'keys/rotate', {}, 'unavailable');
      await refresh();
      return kekIdOf(version);
    },
    async generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
      const data = await call('POST', 'datakey/plaintext', { context: contextParam(context), bits: DATA_KEY_BYTES * 8 }, 'unavailable');
      const keyVersion = noteVersion(data);
      const plaintext = plaintextOf(data);
      return { plaintext, wrapped: toWrapped(data.ciphertext, keyVersion) };
    },
    async unwrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<Uint8Array> {
      const ciphertext = toVault(wrapped);
      const data = await call('POST', 'decrypt', { ciphertext, context: contextParam(context) }, 'unwrap');
      return plaintextOf(data);
    },
    async rewrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> {
      const ciphertext = toVault(wrapped);
      const data = await call('POST', 'rewrap', { ciphertext, context: contextParam(context) }, 'unwrap');
      const keyVersion = noteVersion(data);
      return toWrapped(data.ciphertext, keyVersion);
    },
  };
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}

/** KMS traffic carries wrapped keys and, on generate/unwrap, data keys: https only, except to this host. */
export function requireSafeTransport(url: URL): void {
  if (url.protocol === 'https:') return;
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol === 'http:' && loopback) return;
  throw new KmsError('kms_unavailable', `${url.origin} is not https; key traffic must be encrypted in transit`);
}
