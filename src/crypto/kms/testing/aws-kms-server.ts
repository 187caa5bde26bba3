// SPDX-License-Identifier: Apache-2.0
/**
 * A local AWS KMS endpoint speaking the JSON 1.1 protocol (`POST /`, `X-Amz-Target:
 * TrentService.<Operation>`, `application/x-amz-json-1.1`). Every request's Signature Version 4
 * is recomputed from the received method, path, headers and body and compared; a bad or stale
 * signature gets `InvalidSignatureException`, an unknown access key `UnrecognizedClientException`,
 * like AWS. Operations: `DescribeKey`, `GenerateDataKey`, `Encrypt`, `Decrypt`, `ReEncrypt`
 * over symmetric keys with real AES-256-GCM; `EncryptionContext` is bound as associated data.
 * Aliases (`alias/NAME`) resolve to keys and can be repointed, as `UpdateAlias` does.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '../../../kernel/canonical-json.js';
import { amzDate, canonicalRequest, signature } from '../../../providers/bedrock/sigv4.js';

export interface AwsKmsServerOptions {
  readonly region?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** When set, requests must carry it as `X-Amz-Security-Token` (signed). */
  readonly sessionToken?: string;
  /** Clock for the signature-age check. */
  readonly now?: () => Date;
}

export interface AwsKmsServer {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Creates a symmetric encryption key; returns its ARN. */
  createKey(): string;
  /** Points `alias/NAME` at a key (create or update). */
  setAlias(alias: string, keyArn: string): void;
  disableKey(keyArn: string): void;
  /** Requests refused for their signature, for tests. */
  readonly rejectedSignatures: number;
  close(): Promise<void>;
}

class AwsError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const ACCOUNT = '111122223333';
const MAX_SKEW_MS = 5 * 60_000;

export async function startAwsKmsServer(options: AwsKmsServerOptions = {}): Promise<AwsKmsServer> {
  const region = options.region ?? 'us-east-1';
  const accessKeyId = options.accessKeyId ?? `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = options.secretAccessKey ?? randomBytes(30).toString('base64');
  const now = options.now ?? (() => new Date());
  const keys = new Map<string, { material: Buffer; enabled: boolean; arn: string }>();
  const aliases = new Map<string, string>();
  let rejectedSignatures = 0;

  const createKey = (): string => {
    const id = randomUUID();
    const arn = `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`;
    keys.set(id, { material: randomBytes(32), enabled: true, arn });
    return arn;
  };
  const idOf = (keyId: unknown): string => {
    if (typeof keyId !== 'string' || keyId === '') throw new AwsError('ValidationException', 'KeyId is required');
    let ref = keyId;
    const aliasArn = /^arn:aws:kms:[^:]+:\d+:(alias\/.+)$/.exec(ref);
    if (aliasArn) ref = aliasArn[1] ?? ref;
    if (ref.startsWith('alias/')) {
      const target = aliases.get(ref);
      if (target === undefined) throw new AwsError('NotFoundException', `Alias ${ref} is not found.`);
      ref = target;
    }
    const keyArn = /^arn:aws:kms:[^:]+:\d+:key\/(.+)$/.exec(ref);
    const id = keyArn ? (keyArn[1] ?? '') : ref;
    if (!keys.has(id)) throw new AwsError('NotFoundException', 'Key is not found.');
    return id;
  };
  const usable = (id: string): { material: Buffer; arn: string } => {
    const key = keys.get(id);
    if (key === undefined) throw new AwsError('NotFoundException', 'Key is not found.');
    if (!key.enabled) throw new AwsError('DisabledException', `${key.arn} is disabled.`);
    return key;
  };
  const contextOf = (value: unknown): Record<string, string> => {
    if (value === undefined) return {};
    if (value === null || typeof value !== 'object') throw new AwsError('ValidationException', 'EncryptionContext must be a map');
    for (const v of Object.values(value)) if (typeof v !== 'string') throw new AwsError('ValidationException', 'EncryptionContext values must be strings');
    return value as Record<string, string>;
  };

  // Blob: 0x01 | len | key id | nonce(12) | ct | tag(16); AAD = key id + canonical context.
  const seal = (id: string, plaintext: Buffer, context: Record<string, string>): string => {
    const key = usable(id);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, nonce);
    cipher.setAAD(Buffer.from(canonicalJson({ context, key: id }), 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const idBytes = Buffer.from(id, 'utf8');
    return Buffer.concat([Buffer.from([1, idBytes.length]), idBytes, nonce, ct, cipher.getAuthTag()]).toString('base64');
  };
  const open = (blobText: unknown, context: Record<string, string>, expectedKey: unknown): { plaintext: Buffer; id: string } => {
    if (typeof blobText !== 'string') throw new AwsError('ValidationException', 'CiphertextBlob is required');
    const blob = Buffer.from(blobText, 'base64');
    const len = blob[1] ?? 0;
    if (blob[0] !== 1 || blob.length < 2 + len + 12 + 16 + 1) throw new AwsError('InvalidCiphertextException', '');
    const id = blob.subarray(2, 2 + len).toString('utf8');
    if (!keys.has(id)) throw new AwsError('InvalidCiphertextException', '');
    if (expectedKey !== undefined && idOf(expectedKey) !== id) throw new AwsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    const key = usable(id);
    const nonce = blob.subarray(2 + len, 14 + len);
    const body = blob.subarray(14 + len);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, nonce);
      decipher.setAAD(Buffer.from(canonicalJson({ context, key: id }), 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return { plaintext: Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]), id };
    } catch {
      throw new AwsError('InvalidCiphertextException', '');
    }
  };

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    DescribeKey(input) {
      const key = keys.get(idOf(input.KeyId));
      if (key === undefined) throw new AwsError('NotFoundException', 'Key is not found.');
      const id = key.arn.slice(key.arn.lastIndexOf('/') + 1);
      return { KeyMetadata: { AWSAccountId: ACCOUNT, KeyId: id, Arn: key.arn, Enabled: key.enabled, KeyState: key.enabled ? 'Enabled' : 'Disabled', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', KeyManager: 'CUSTOMER', Origin: 'AWS_KMS' } };
    },
    GenerateDataKey(input) {
      const id = idOf(input.KeyId);
      const bytes = input.KeySpec === 'AES_256' ? 32 : input.KeySpec === 'AES_128' ? 16 : typeof input.NumberOfBytes === 'number' ? input.NumberOfBytes : 0;
      if (bytes < 1 || bytes > 1024) throw new AwsError('ValidationException', 'KeySpec or NumberOfBytes is required');
      const plaintext = randomBytes(bytes);
      return { CiphertextBlob: seal(id, plaintext, contextOf(input.EncryptionContext)), Plaintext: plaintext.toString('base64'), KeyId: usable(id).arn };
    },
    Encrypt(input) {
      const id = idOf(input.KeyId);
      if (typeof input.Plaintext !== 'string') throw new AwsError('ValidationException', 'Plaintext is required');
      return { CiphertextBlob: seal(id, Buffer.from(input.Plaintext, 'base64'), contextOf(input.EncryptionContext)), KeyId: usable(id).arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    Decrypt(input) {
      const { plaintext, id } = open(input.CiphertextBlob, contextOf(input.EncryptionContext), input.KeyId);
      return { Plaintext: plaintext.toString('base64'), KeyId: usable(id).arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    ReEncrypt(input) {
      const { plaintext, id } = open(input.CiphertextBlob, contextOf(input.SourceEncryptionContext), input.SourceKeyId);
      const destination = idOf(input.DestinationKeyId);
      return {
        CiphertextBlob: seal(destination, plaintext, contextOf(input.DestinationEncryptionContext)),
        KeyId: usable(destination).arn,
        SourceKeyId: usable(id).arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  };

  const verifySignature = (req: IncomingMessage, body: string): void => {
    const auth = req.headers.authorization ?? '';
    const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!match) throw new AwsError('IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature.');
    const [, keyId, day, scopeRegion, service, signedHeaders, given] = match as unknown as [string, string, string, string, string, string, string];
    if (keyId !== accessKeyId) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    const date = req.headers['x-amz-date'];
    if (typeof date !== 'string' || !/^\d{8}T\d{6}Z$/.test(date) || date.slice(0, 8) !== day) throw new AwsError('IncompleteSignatureException', 'Date must be in ISO-8601 basic format and match the credential scope.');
    const at = Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
    if (Math.abs(now().getTime() - at) > MAX_SKEW_MS) throw new AwsError('InvalidSignatureException', `Signature expired: ${date} is now earlier than ${amzDate(new Date(now().getTime() - MAX_SKEW_MS))}`);
    if (scopeRegion !== region || service !== 'kms') throw new AwsError('InvalidSignatureException', 'Credential should be scoped to a valid region and service.');
    const names = signedHeaders.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date')) throw new AwsError('InvalidSignatureException', 'host and x-amz-date must be signed.');
    if (options.sessionToken !== undefined && (req.headers['x-amz-security-token'] !== options.sessionToken || !names.includes('x-amz-security-token'))) {
      throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const headers: Record<string, string> = {};
    for (const name of names) {
      const value = req.headers[name];
      if (value === undefined) throw new AwsError('InvalidSignatureException', `Signed header ${name} is missing.`);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const url = new URL(req.url ?? '/', 'http://kms');
    const { request } = canonicalRequest(req.method ?? 'POST', url.pathname, url.search.slice(1), headers, body);
    const expected = signature(secretAccessKey, date, region, 'kms', request);
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(given))) {
      rejectedSignatures += 1;
      throw new AwsError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
    }
  };

  const respond = (res: ServerResponse, status: number, json: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(json));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const body = Buffer.concat(chunks).toString('utf8');
        if (req.method !== 'POST') throw new AwsError('UnknownOperationException', '', 404);
        verifySignature(req, body);
        const target = req.headers['x-amz-target'];
        const operation = typeof target === 'string' && target.startsWith('TrentService.') ? operations[target.slice('TrentService.'.length)] : undefined;
        if (operation === undefined) throw new AwsError('UnknownOperationException', '');
        if (!String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')) throw new AwsError('SerializationException', '');
        let input: unknown;
        try {
          input = JSON.parse(body);
        } catch {
          throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
        }
        if (input === null || typeof input !== 'object') throw new AwsError('SerializationException', '');
        respond(res, 200, operation(input as Record<string, unknown>));
      } catch (err) {
        const e = err instanceof AwsError ? err : new AwsError('KMSInternalException', 'internal error', 500);
        respond(res, e.status, { __type: e.type, message: e.message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}/`,
    region,
    credentials: { accessKeyId, secretAccessKey, ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }) },
    createKey,
    setAlias(alias, keyArn) {
      idOf(keyArn);
      aliases.set(alias, keyArn);
    },
    disableKey(keyArn) {
      const key = keys.get(idOf(keyArn));
      if (key !== undefined) key.enabled = false;
    },
    get rejectedSignatures() {
      return rejectedSignatures;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
