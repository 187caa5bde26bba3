// SPDX-License-Identifier: Apache-2.0
/**
 * A local Microsoft Entra ID token endpoint and Azure Key Vault keys endpoint in one server:
 *
 * - `POST /{tenant}/oauth2/v2.0/token` — client-credentials grant (form body), checks tenant,
 *   client id, secret and the scope `https://vault.azure.net/.default`; answers
 *   `{token_type, expires_in, access_token}` or `{error, error_description}`.
 * - Key Vault 7.4 (`api-version` required, `Authorization: Bearer` required, 401 with
 *   `WWW-Authenticate` otherwise): `GET keys/{name}[/{version}]`, `POST keys/{name}/rotate`,
 *   `POST keys/{name}/{version}/wrapkey|unwrapkey` with real RSA-OAEP-256 (node:crypto, 2048-bit
 *   keys); errors are `{error: {code, message}}`.
 */
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AzureKeyVaultServerOptions {
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Token lifetime in seconds. Default 3599. */
  readonly tokenLifetimeSec?: number;
}

export interface AzureKeyVaultServer {
  /** Both the authority host and the vault URL (one server plays both). */
  readonly url: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Creates an RSA key with one version; returns the version. */
  createKey(name: string, options?: { ops?: readonly string[] }): string;
  /** Adds a version and makes it current. */
  rotateKey(name: string): string;
  /** Tokens issued so far, for tests. */
  readonly tokensIssued: number;
  /** Makes every issued token invalid, as a revocation would. */
  revokeTokens(): void;
  close(): Promise<void>;
}

interface KeyVersion {
  readonly version: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly created: number;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const DEFAULT_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'] as const;

export async function startAzureKeyVaultServer(options: AzureKeyVaultServerOptions = {}): Promise<AzureKeyVaultServer> {
  const tenantId = options.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const clientId = options.clientId ?? '00000000-0000-0000-0000-00000000c11e';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const lifetime = options.tokenLifetimeSec ?? 3599;
  const tokens = new Map<string, number>();
  const keys = new Map<string, { versions: KeyVersion[]; ops: readonly string[] }>();
  let tokensIssued = 0;
  let baseUrl = '';

  const newVersion = (): KeyVersion => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { version: randomBytes(16).toString('hex'), publicKey, privateKey, created: Math.floor(Date.now() / 1000) };
  };
  const createKey = (name: string, opts: { ops?: readonly string[] } = {}): string => {
    const v = newVersion();
    keys.set(name, { versions: [v], ops: opts.ops ?? DEFAULT_OPS });
    return v.version;
  };
  const rotateKey = (name: string): string => {
    const key = keys.get(name);
    if (key === undefined) throw new HttpError(404, 'KeyNotFound', `A key with (name/id) ${name} was not found in this key vault.`);
    const v = newVersion();
    key.versions.push(v);
    return v.version;
  };

  const bundle = (name: string, v: KeyVersion, ops: readonly string[]): unknown => {
    const jwk = v.publicKey.export({ format: 'jwk' });
    return {
      key: { kid: `${baseUrl}/keys/${name}/${v.version}`, kty: 'RSA', key_ops: ops, n: jwk.n, e: jwk.e },
      attributes: { enabled: true, created: v.created, updated: v.created, recoveryLevel: 'Recoverable+Purgeable', exportable: false },
    };
  };

  const token = (body: string): unknown => {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') throw new HttpError(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
    if (form.get('client_id') !== clientId) throw new HttpError(400, 'unauthorized_client', 'AADSTS700016: Application not found in the directory.');
    if (form.get('client_secret') !== clientSecret) throw new HttpError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    if (form.get('scope') !== 'https://vault.azure.net/.default') throw new HttpError(400, 'invalid_scope', 'AADSTS70011: The provided value for the input parameter scope is not valid.');
    const accessToken = randomBytes(32).toString('base64url');
    tokens.set(accessToken, Date.now() + lifetime * 1000);
    tokensIssued += 1;
    return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
  };

  const keyVault = (method: string, parts: readonly string[], body: Record<string, unknown>): unknown => {
    const [, name, second, third] = parts;
    const key = name === undefined ? undefined : keys.get(name);
    if (name === undefined || key === undefined) throw new HttpError(404, 'KeyNotFound', `A key with (name/id) ${name ?? ''} was not found in this key vault.`);
    const current = key.versions[key.versions.length - 1] as KeyVersion;
    if (method === 'GET' && second === undefined) return bundle(name, current, key.ops);
    if (method === 'POST' && second === 'rotate' && third === undefined) {
      rotateKey(name);
      return bundle(name, key.versions[key.versions.length - 1] as KeyVersion, key.ops);
    }
    const version = key.versions.find((v) => v.version === second);
    if (version === undefined) throw new HttpError(404, 'KeyNotFound', `A key with (name/id) ${name}/${second ?? ''} was not found in this key vault.`);
    if (method === 'GET' && third === undefined) return bundle(name, version, key.ops);
    if (method !== 'POST' || (third !== 'wrapkey' && third !== 'unwrapkey')) throw new HttpError(405, 'MethodNotAllowed', 'The requested resource does not support the method.');
    const op = third === 'wrapkey' ? 'wrapKey' : 'unwrapKey';
    if (!key.ops.includes(op)) throw new HttpError(403, 'Forbidden', `Operation ${op} is not permitted on this key.`);
    if (body.alg !== 'RSA-OAEP-256' && body.alg !== 'RSA-OAEP' && body.alg !== 'RSA1_5') throw new HttpError(400, 'BadParameter', 'Invalid algorithm.');
    if (typeof body.value !== 'string' || !/^[A-Za-z0-9_-]+=*$/.test(body.value)) throw new HttpError(400, 'BadParameter', 'Property value is required.');
    const input = Buffer.from(body.value, 'base64url');
    const padding = body.alg === 'RSA1_5' ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_OAEP_PADDING;
    const oaepHash = body.alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1';
    const kid = `${baseUrl}/keys/${name}/${version.version}`;
    if (third === 'wrapkey') {
      return { kid, value: publicEncrypt({ key: version.publicKey, padding, oaepHash }, input).toString('base64url') };
    }
    try {
      return { kid, value: privateDecrypt({ key: version.privateKey, padding, oaepHash }, input).toString('base64url') };
    } catch {
      throw new HttpError(400, 'BadParameter', 'Bad Request');
    }
  };

  const respond = (res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(json));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://azure');
      const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
      const text = Buffer.concat(chunks).toString('utf8');
      if (parts[1] === 'oauth2') {
        try {
          if (req.method !== 'POST' || parts[0] !== tenantId || parts[2] !== 'v2.0' || parts[3] !== 'token') throw new HttpError(400, 'invalid_request', 'AADSTS90002: Tenant not found.');
          respond(res, 200, token(text));
        } catch (err) {
          const e = err instanceof HttpError ? err : new HttpError(500, 'server_error', 'error');
          respond(res, e.status, { error: e.code, error_description: e.message });
        }
        return;
      }
      try {
        if (parts[0] !== 'keys') throw new HttpError(404, 'NotFound', 'Resource not found.');
        if (url.searchParams.get('api-version') === null) throw new HttpError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
        const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
        const expiry = auth ? tokens.get(auth[1] ?? '') : undefined;
        if (expiry === undefined || expiry < Date.now()) {
          respond(res, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, { 'www-authenticate': `Bearer authorization="${baseUrl}/${tenantId}", resource="https://vault.azure.net"` });
          return;
        }
        let body: Record<string, unknown> = {};
        if (text !== '') {
          const parsed: unknown = JSON.parse(text);
          if (parsed === null || typeof parsed !== 'object') throw new HttpError(400, 'BadParameter', 'Invalid body');
          body = parsed as Record<string, unknown>;
        }
        respond(res, 200, keyVault(req.method ?? 'GET', parts, body));
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(400, 'BadParameter', 'Bad Request');
        respond(res, e.status, { error: { code: e.code, message: e.message } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    tenantId,
    clientId,
    clientSecret,
    createKey,
    rotateKey,
    get tokensIssued() {
      return tokensIssued;
    },
    revokeTokens() {
      tokens.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
