// SPDX-License-Identifier: Apache-2.0
/**
 * AWS Signature Version 4, written against the published algorithm so phigate carries no AWS
 * SDK. Non-S3 services sign the URI-encoded path encoded once more, which is why a Bedrock
 * model id such as `…-v1:0` appears as `%253A` in the canonical request.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface SignInput {
  readonly method: string;
  /** Host header value (host[:port]). */
  readonly host: string;
  /** Request path as sent on the wire (already URI-encoded), without query. */
  readonly path: string;
  /** Raw query string without `?`, or empty. */
  readonly query: string;
  /** Headers to sign besides host and x-amz-date (names in any case). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly region: string;
  readonly service: string;
  readonly credentials: AwsCredentials;
  readonly date?: Date | undefined;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding of everything but the unreserved characters, as SigV4 requires. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
      return [uriEncode(key), uriEncode(value)] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

/** The canonical request and the signed-header list for already-complete headers. */
export function canonicalRequest(method: string, path: string, query: string, headers: Readonly<Record<string, string>>, body: string): { request: string; signedHeaders: string } {
  const entries = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = entries.map(([name]) => name).join(';');
  const uri = path === '' ? '/' : path.split('/').map(uriEncode).join('/');
  const request = [method.toUpperCase(), uri, canonicalQuery(query), entries.map(([name, value]) => `${name}:${value}\n`).join(''), signedHeaders, sha256Hex(body)].join('\n');
  return { request, signedHeaders };
}

/** HMAC chain over date, region, service and the string to sign. */
export function signature(secretAccessKey: string, date: string, region: string, service: string, canonical: string): string {
  const day = date.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** Returns the headers to send: the given ones plus host, x-amz-date, the token and authorization. */
export function signRequest(input: SignInput): Record<string, string> {
  const date = amzDate(input.date ?? new Date());
  const headers: Record<string, string> = { ...input.headers, host: input.host, 'x-amz-date': date };
  if (input.credentials.sessionToken !== undefined) headers['x-amz-security-token'] = input.credentials.sessionToken;
  const { request, signedHeaders } = canonicalRequest(input.method, input.path, input.query, headers, input.body);
  const sig = signature(input.credentials.secretAccessKey, date, input.region, input.service, request);
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${date.slice(0, 8)}/${input.region}/${input.service}/aws4_request, SignedHeaders=${signedHeaders}, Signature=${sig}`;
  return headers;
}
