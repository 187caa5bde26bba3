// SPDX-License-Identifier: Apache-2.0
/**
 * A small S3-compatible server for tests: PutObject, GetObject, HeadObject and DeleteObject on
 * path-style URLs, with versioning and Object Lock as S3 does them — SigV4 verified on every
 * request, an integrity checksum (Content-MD5 or x-amz-checksum-sha256) required and checked on
 * locked writes, and a locked version refused deletion (AccessDenied) before its
 * retain-until date in COMPLIANCE mode. Loopback only. No S3 server ships for Node on npm with
 * Object Lock, so this is the local stand-in for MinIO/AWS.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalRequest, signature, type AwsCredentials } from '../../../providers/bedrock/sigv4.js';

interface StoredVersion {
  readonly versionId: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly lockMode: string | undefined;
  readonly retainUntil: number | undefined;
  readonly etag: string;
}

export interface LocalS3Server {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** The versions of `bucket/key`, oldest first. */
  versions(bucket: string, key: string): readonly StoredVersion[];
  /** Requests refused, by S3 error code (for assertions). */
  readonly refusals: string[];
  close(): Promise<void>;
}

function xmlError(res: ServerResponse, status: number, code: string, refusals: string[]): void {
  refusals.push(code);
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the server with one lock-enabled bucket. */
export async function startLocalS3Server(options: { readonly bucket: string; readonly region?: string; readonly now?: () => number }): Promise<LocalS3Server> {
  const region = options.region ?? 'us-east-1';
  const credentials: AwsCredentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret-key-for-tests' };
  const now = options.now ?? Date.now;
  const objects = new Map<string, StoredVersion[]>();
  const refusals: string[] = [];

  function verifySignature(req: IncomingMessage, url: URL, body: Buffer): boolean {
    const auth = req.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m || m[1] !== credentials.accessKeyId || m[3] !== region) return false;
    const date = String(req.headers['x-amz-date'] ?? '');
    if (date.slice(0, 8) !== m[2]) return false;
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    if (payloadHash !== createHash('sha256').update(body).digest('hex')) return false;
    const signed: Record<string, string> = {};
    for (const name of (m[4] as string).split(';')) signed[name] = String(req.headers[name] ?? '');
    const { request } = canonicalRequest(req.method ?? 'GET', decodeURIComponent(url.pathname), url.search.replace(/^\?/, ''), signed, body.toString('utf8'));
    return signature(credentials.secretAccessKey, date, region, 's3', request) === m[5];
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      if (!verifySignature(req, url, body)) return xmlError(res, 403, 'SignatureDoesNotMatch', refusals);
      const [, bucket, ...rest] = url.pathname.split('/');
      const key = decodeURIComponent(rest.join('/'));
      if (bucket !== options.bucket) return xmlError(res, 404, 'NoSuchBucket', refusals);
      const id = `${bucket}/${key}`;
      const versions = objects.get(id) ?? [];
      const versionId = url.searchParams.get('versionId') ?? undefined;
      const pick = (): StoredVersion | undefined => (versionId === undefined ? versions[versions.length - 1] : versions.find((v) => v.versionId === versionId));
      const lockHeaders = (v: StoredVersion): Record<string, string> => ({
        'x-amz-version-id': v.versionId,
        etag: v.etag,
        'content-type': v.contentType,
        'content-length': String(v.body.length),
        ...(v.lockMode === undefined ? {} : { 'x-amz-object-lock-mode': v.lockMode, 'x-amz-object-lock-retain-until-date': new Date(v.retainUntil as number).toISOString() }),
      });
      switch (req.method ?? '') {
        case 'PUT': {
          const mode = req.headers['x-amz-object-lock-mode'] as string | undefined;
          const until = req.headers['x-amz-object-lock-retain-until-date'] as string | undefined;
          const md5 = req.headers['content-md5'] as string | undefined;
          const sha = req.headers['x-amz-checksum-sha256'] as string | undefined;
          if ((mode === undefined) !== (until === undefined)) return xmlError(res, 400, 'InvalidRequest', refusals);
          if (mode !== undefined && mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE') return xmlError(res, 400, 'InvalidArgument', refusals);
          const retainUntil = until === undefined ? undefined : Date.parse(until);
          if (retainUntil !== undefined && (Number.isNaN(retainUntil) || retainUntil <= now())) return xmlError(res, 400, 'InvalidArgument', refusals);
          // Object Lock writes need an integrity checksum.
          if (mode !== undefined && md5 === undefined && sha === undefined) return xmlError(res, 400, 'InvalidRequest', refusals);
          if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) return xmlError(res, 400, 'BadDigest', refusals);
          if (sha !== undefined && sha !== createHash('sha256').update(body).digest('base64')) return xmlError(res, 400, 'BadDigest', refusals);
          const version: StoredVersion = {
            versionId: randomUUID(),
            body,
            contentType: String(req.headers['content-type'] ?? 'application/octet-stream'),
            lockMode: mode,
            retainUntil,
            etag: `"${createHash('md5').update(body).digest('hex')}"`,
          };
          objects.set(id, [...versions, version]);
          res.writeHead(200, { 'x-amz-version-id': version.versionId, etag: version.etag });
          return res.end();
        }
        case 'GET':
        case 'HEAD': {
          const v = pick();
          if (!v) return xmlError(res, 404, 'NoSuchKey', refusals);
          res.writeHead(200, lockHeaders(v));
          return res.end(req.method === 'GET' ? v.body : undefined);
        }
        case 'DELETE': {
          const v = pick();
          if (!v) return xmlError(res, 404, 'NoSuchKey', refusals);
          if (v.lockMode !== undefined && (v.retainUntil as number) > now()) return xmlError(res, 403, 'AccessDenied', refusals);
          objects.set(id, versions.filter((x) => x !== v));
          res.writeHead(204);
          return res.end();
        }
        default:
          return xmlError(res, 405, 'MethodNotAllowed', refusals);
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    credentials,
    versions: (bucket, key) => objects.get(`${bucket}/${key}`) ?? [],
    refusals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
