// SPDX-License-Identifier: Apache-2.0
/**
 * Write-once export of the audit log to S3 (or any S3-compatible store) with Object Lock.
 *
 * Each export is one PutObject of FHIR AuditEvent NDJSON with:
 * - `x-amz-object-lock-mode: COMPLIANCE` — not even the bucket owner can shorten or remove the
 *   retention before it ends;
 * - `x-amz-object-lock-retain-until-date` — by default the audit retention (7 years) from now;
 * - `Content-MD5` and `x-amz-checksum-sha256` — S3 refuses Object Lock writes without an
 *   integrity checksum, and either lets the store reject a corrupted upload;
 * - SigV4 (the signer shared with the Bedrock adapter), path-style addressing so a local or
 *   on-premises endpoint works without wildcard DNS.
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { signRequest, type AwsCredentials } from '../../providers/bedrock/sigv4.js';
import type { Database } from '../../store/schema.js';
import { fhirNdjsonLines, type ExportWindow } from './ndjson.js';

export interface S3ObjectLockOptions {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  readonly fetch?: typeof globalThis.fetch;
  readonly timeoutMs?: number;
}

export interface PutLockedObjectInput {
  readonly key: string;
  readonly body: string;
  readonly retainUntil: Date;
  readonly mode?: 'COMPLIANCE' | 'GOVERNANCE';
  readonly contentType?: string;
}

export interface PutLockedObjectResult {
  readonly key: string;
  readonly versionId: string | undefined;
  readonly etag: string | undefined;
  readonly sha256: string;
}

/** Why an S3 call failed: the status and S3's error code, never the body or credentials. */
export class S3ExportError extends Error {
  readonly status: number;
  readonly s3Code: string | undefined;
  constructor(status: number, s3Code: string | undefined) {
    super(`S3 request failed: HTTP ${status}${s3Code ? ` ${s3Code}` : ''}`);
    this.name = 'S3ExportError';
    this.status = status;
    this.s3Code = s3Code;
  }
}

const safeKey = /^[A-Za-z0-9._\-/]{1,1024}$/;

export interface S3ObjectLockClient {
  putLockedObject(input: PutLockedObjectInput): Promise<PutLockedObjectResult>;
}

/** A minimal S3 client for locked PutObject. */
export function createS3ObjectLockClient(options: S3ObjectLockOptions): S3ObjectLockClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = new URL(options.endpoint);
  return {
    async putLockedObject(input) {
      // Keys are ours (dates and sequence numbers); refusing anything else keeps SigV4 encoding trivial.
      if (!safeKey.test(input.key)) throw new Error('S3 export: object key must be letters, digits and . _ - /');
      const body = Buffer.from(input.body, 'utf8');
      const sha256 = createHash('sha256').update(body).digest();
      const path = `/${options.bucket}/${input.key}`;
      const headers = signRequest({
        method: 'PUT',
        host: base.host,
        path,
        query: '',
        headers: {
          'content-type': input.contentType ?? 'application/fhir+ndjson',
          'content-md5': createHash('md5').update(body).digest('base64'),
          'x-amz-checksum-sha256': sha256.toString('base64'),
          'x-amz-content-sha256': sha256.toString('hex'),
          'x-amz-object-lock-mode': input.mode ?? 'COMPLIANCE',
          'x-amz-object-lock-retain-until-date': input.retainUntil.toISOString(),
        },
        body: input.body,
        region: options.region,
        service: 's3',
        credentials: options.credentials,
      });
      const { host: _host, ...sent } = headers;
      const response = await doFetch(new URL(path, base), { method: 'PUT', headers: sent, body, signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
      const text = await response.text();
      if (!response.ok) throw new S3ExportError(response.status, /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1]);
      return { key: input.key, versionId: response.headers.get('x-amz-version-id') ?? undefined, etag: response.headers.get('etag') ?? undefined, sha256: sha256.toString('hex') };
    },
  };
}

/** The object key of an export: `prefix/YYYY/MM/DD/audit-<since>-<until>.ndjson`. */
export function exportObjectKey(prefix: string, now: number, window: ExportWindow): string {
  const d = new Date(now).toISOString();
  const part = (ms: number | undefined, fallback: string) => (ms === undefined ? fallback : new Date(ms).toISOString().replace(/[:.]/g, '-'));
  return `${prefix.replace(/\/+$/, '')}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/audit-${part(window.since, 'start')}-${part(window.until, d.replace(/[:.]/g, '-'))}.ndjson`;
}

/**
 * Exports a window of the audit log as one locked object. The window is held in memory as
 * NDJSON; export a long log as several windows (a day or a month each).
 */
export async function exportAuditToS3(
  db: Kysely<Database>,
  client: S3ObjectLockClient,
  options: { readonly key: string; readonly retainUntil: Date; readonly window?: ExportWindow },
): Promise<PutLockedObjectResult & { readonly records: number }> {
  const lines: string[] = [];
  for await (const line of fhirNdjsonLines(db, options.window)) lines.push(line);
  const result = await client.putLockedObject({ key: options.key, body: lines.join(''), retainUntil: options.retainUntil });
  return { ...result, records: lines.length };
}
