// SPDX-License-Identifier: Apache-2.0
/**
 * AWS KMS as the KMS, over its JSON 1.1 protocol (`X-Amz-Target: TrentService.<Operation>`,
 * `Content-Type: application/x-amz-json-1.1`), signed with Signature Version 4 — no AWS SDK.
 * Operations: `DescribeKey` (at start, to learn the key's ARN), `GenerateDataKey` (AES_256),
 * `Decrypt`, `ReEncrypt`.
 *
 * The {@link KeyContext} is sent as `EncryptionContext`, which AWS KMS binds to the ciphertext as
 * associated data: a wrapped key moved to another context fails with `InvalidCiphertextException`.
 *
 * Key ids: `aws:<key ARN>`. AWS rotates a key's backing material behind the same ARN (automatic
 * or on-demand rotation) and keeps old material for decryption, so that rotation needs nothing
 * from phigate. Moving to another key (or repointing an alias) changes the id; `phigate kms
 * rewrap` then re-encrypts every wrapped data key with `ReEncrypt`, inside AWS KMS.
 *
 * Wrapped form: `ak1.<base64url CiphertextBlob>`, decoded strictly.
 */
import { decodeBase64urlStrict } from '../base64url.js';
import { KmsError, type GeneratedDataKey, type KeyContext, type Kms, type WrappedKey } from '../kms.js';
import { signRequest, type AwsCredentials } from '../../providers/bedrock/sigv4.js';
import { requireSafeTransport } from './vault-transit.js';

export interface AwsKmsOptions {
  readonly region: string;
  /** Key id, key ARN, alias name (`alias/phigate`) or alias ARN. */
  readonly keyId: string;
  /** Override for VPC endpoints and tests; default `https://kms.<region>.amazonaws.com/`. */
  readonly endpoint?: string | undefined;
  readonly credentials: AwsCredentials;
  readonly fetch?: typeof fetch;
  /** Per-request time limit. Default 10 s. */
  readonly timeoutMs?: number;
}

export interface AwsKms extends Kms {
  readonly kind: 'aws-kms';
  /** The ARN `keyId` resolves to now. */
  readonly keyArn: string;
  /** Resolves `keyId` again (an alias may have been repointed). */
  refresh(): Promise<void>;
  /** AWS rotates key material itself; phigate cannot add a version. Always throws with what to do instead. */
  rotateKek(): Promise<string>;
}

const FORMAT = 'ak1';
const DATA_KEY_BYTES = 32;

/** AWS error types that mean "this ciphertext does not open here", as opposed to "KMS unusable". */
const unwrapErrors = new Set(['InvalidCiphertextException', 'IncorrectKeyException', 'NotFoundException', 'ValidationException']);

/**
 * Resolves the key (DescribeKey) and returns the KMS.
 * @throws KmsError `kms_unavailable` when AWS refuses the credentials or the key is not usable.
 */
export async function createAwsKms(options: AwsKmsOptions): Promise<AwsKms> {
  const endpoint = new URL(options.endpoint ?? `https://kms.${options.region}.amazonaws.com/`);
  requireSafeTransport(endpoint);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let keyArn = '';

  const call = async (operation: string, payload: Record<string, unknown>, failure: 'unwrap' | 'unavailable'): Promise<Record<string, unknown>> => {
    const body = JSON.stringify(payload);
    const headers = signRequest({
      method: 'POST',
      host: endpoint.host,
      path: endpoint.pathname,
      query: '',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
      body,
      region: options.region,
      service: 'kms',
      credentials: options.credentials,
    });
    // fetch sets Host itself from the URL; sending it again is refused by undici.
    delete headers.host;
    let response: Response;
    try {
      response = await doFetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new KmsError('kms_unavailable', `AWS KMS at ${endpoint.host} cannot be reached`, { cause: err });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const rawType = (parsed as { __type?: unknown } | undefined)?.__type;
      const type = typeof rawType === 'string' ? (rawType.split('#').pop() ?? rawType) : 'unknown';
      if (failure === 'unwrap' && unwrapErrors.has(type)) throw new KmsError('unwrap_failed');
      // The error type names the failure; AWS messages can quote ARNs and are not needed here.
      throw new KmsError('kms_unavailable', `AWS KMS refused ${operation} (HTTP ${response.status} ${type})`);
    }
    if (parsed === null || typeof parsed !== 'object') throw new KmsError('kms_unavailable', `AWS KMS answered ${operation} with something other than JSON`);
    return parsed as Record<string, unknown>;
  };

  const refresh = async (): Promise<void> => {
    const described = await call('DescribeKey', { KeyId: options.keyId }, 'unavailable');
    const metadata = described.KeyMetadata as Record<string, unknown> | undefined;
    const arn = metadata?.Arn;
    if (typeof arn !== 'string' || arn === '') throw new KmsError('kms_unavailable', 'AWS KMS DescribeKey answered without an ARN');
    if (metadata?.Enabled === false || (metadata?.KeyState !== undefined && metadata.KeyState !== 'Enabled')) {
      throw new KmsError('kms_unavailable', `AWS KMS key ${arn} is not enabled`);
    }
    if (metadata?.KeyUsage !== undefined && metadata.KeyUsage !== 'ENCRYPT_DECRYPT') throw new KmsError('kms_unavailable', `AWS KMS key ${arn} is not an encryption key`);
    keyArn = arn;
  };

  const encryptionContext = (context: KeyContext): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(context)) {
      if (typeof v !== 'string') throw new KmsError('kms_unavailable', `key context entry ${k} must be a string`);
      out[k] = v;
    }
    return out;
  };

  const arnOf = (wrapped: WrappedKey): string => {
    if (!wrapped.kekId.startsWith('aws:') || wrapped.kekId.length <= 4) throw new KmsError('malformed_wrapped_key');
    return wrapped.kekId.slice(4);
  };

  const blobOf = (wrapped: WrappedKey): string => {
    const parts = wrapped.ciphertext.split('.');
    const bytes = parts.length === 2 && parts[0] === FORMAT ? decodeBase64urlStrict(parts[1] ?? '') : undefined;
    if (bytes === undefined || bytes.length === 0) throw new KmsError('malformed_wrapped_key');
    return bytes.toString('base64');
  };

  const toWrapped = (response: Record<string, unknown>): WrappedKey => {
    const blob = response.CiphertextBlob;
    const arn = response.KeyId;
    if (typeof blob !== 'string' || typeof arn !== 'string') throw new KmsError('kms_unavailable', 'AWS KMS answered without a ciphertext or key id');
    return { kekId: `aws:${arn}`, ciphertext: `${FORMAT}.${Buffer.from(blob, 'base64').toString('base64url')}` };
  };

  await refresh();

  return {
    kind: 'aws-kms',
    get id() {
      return `aws:${keyArn}`;
    },
    get keyArn() {
      return keyArn;
    },
    refresh,
    rotateKek(): Promise<string> {
      return Promise.reject(
        new KmsError(
          'kms_unavailable',
          'AWS KMS rotates key material behind the same key (enable automatic rotation, or RotateKeyOnDemand); to move to another key, point kms.keyId at it and run `phigate kms rewrap`',
        ),
      );
    },
    async generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
      const response = await call('GenerateDataKey', { KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: encryptionContext(context) }, 'unavailable');
      const plaintext = typeof response.Plaintext === 'string' ? Buffer.from(response.Plaintext, 'base64') : undefined;
      if (plaintext?.length !== DATA_KEY_BYTES) throw new KmsError('kms_unavailable', 'AWS KMS answered GenerateDataKey without a 256-bit key');
      return { plaintext: new Uint8Array(plaintext), wrapped: toWrapped(response) };
    },
    async unwrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<Uint8Array> {
      const arn = arnOf(wrapped);
      const response = await call('Decrypt', { CiphertextBlob: blobOf(wrapped), KeyId: arn, EncryptionContext: encryptionContext(context) }, 'unwrap');
      const plaintext = typeof response.Plaintext === 'string' ? Buffer.from(response.Plaintext, 'base64') : undefined;
      if (response.KeyId !== arn || plaintext?.length !== DATA_KEY_BYTES) {
        plaintext?.fill(0);
        throw new KmsError('unwrap_failed');
      }
      return new Uint8Array(plaintext);
    },
    async rewrapDataKey(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> {
      const ec = encryptionContext(context);
      const response = await call(
        'ReEncrypt',
        { CiphertextBlob: blobOf(wrapped), SourceKeyId: arnOf(wrapped), SourceEncryptionContext: ec, DestinationKeyId: keyArn, DestinationEncryptionContext: ec },
        'unwrap',
      );
      return toWrapped(response);
    },
  };
}
