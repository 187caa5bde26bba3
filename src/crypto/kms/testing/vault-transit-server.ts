// SPDX-License-Identifier: Apache-2.0
/**
 * A local Vault server speaking the transit engine's HTTP API (the parts phigate uses): token and
 * namespace checks, keys with versions, HKDF key derivation from `context` for derived keys,
 * AES-256-GCM ciphertexts `vault:vN:base64(nonce|ct|tag)`, `datakey/{plaintext,wrapped}`,
 * `encrypt`, `decrypt`, `rewrap`, `keys/:name` read/create and `keys/:name/rotate`. Error bodies
 * are Vault's `{"errors": [...]}` with Vault's statuses (400 for bad input, 403 for a bad token).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VaultTransitServerOptions {
  readonly token?: string;
  /** When set, every request must carry this `X-Vault-Namespace`. */
  readonly namespace?: string;
  readonly mount?: string;
}

export interface VaultTransitServer {
  readonly address: string;
  readonly token: string;
  readonly mount: string;
  /** Creates a key (versions start at 1). */
  createKey(name: string, options?: { derived?: boolean }): void;
  /** Adds a version to a key, as `vault write -f transit/keys/NAME/rotate` does. */
  rotateKey(name: string): number;
  /** How many requests each operation received, for tests. */
  readonly calls: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

interface TransitKey {
  readonly derived: boolean;
  readonly versions: Map<number, Buffer>;
  latest: number;
}

class VaultError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startVaultTransitServer(options: VaultTransitServerOptions = {}): Promise<VaultTransitServer> {
  const token = options.token ?? `hvs.${randomBytes(18).toString('base64url')}`;
  const mount = options.mount ?? 'transit';
  const keys = new Map<string, TransitKey>();
  const calls: Record<string, number> = {};

  const createKey = (name: string, opts: { derived?: boolean } = {}): void => {
    if (keys.has(name)) return;
    keys.set(name, { derived: opts.derived ?? false, versions: new Map([[1, randomBytes(32)]]), latest: 1 });
  };
  const rotateKey = (name: string): number => {
    const key = keys.get(name);
    if (key === undefined) throw new VaultError(400, 'key not found');
    key.latest += 1;
    key.versions.set(key.latest, randomBytes(32));
    return key.latest;
  };

  const keyFor = (key: TransitKey, version: number, context: string | undefined): Buffer => {
    const material = key.versions.get(version);
    if (material === undefined) throw new VaultError(400, 'invalid key version');
    if (!key.derived) return material;
    if (context === undefined || context === '') {
      throw new VaultError(400, "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key");
    }
    const info = Buffer.from(context, 'base64');
    return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), info, 32));
  };

  const encrypt = (key: TransitKey, plaintext: Buffer, context: string | undefined): { ciphertext: string; version: number } => {
    const version = key.latest;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyFor(key, version, context), nonce);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { ciphertext: `vault:v${version}:${Buffer.concat([nonce, ct]).toString('base64')}`, version };
  };

  const decrypt = (key: TransitKey, ciphertext: unknown, context: string | undefined): Buffer => {
    if (typeof ciphertext !== 'string') throw new VaultError(400, 'missing ciphertext to decrypt');
    const match = /^vault:v(\d+):(.*)$/.exec(ciphertext);
    if (!match) throw new VaultError(400, 'invalid ciphertext: no prefix');
    const raw = Buffer.from(match[2] ?? '', 'base64');
    if (raw.length < 12 + 16) throw new VaultError(400, 'invalid ciphertext: too short');
    const k = keyFor(key, Number(match[1]), context);
    try {
      const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    } catch {
      throw new VaultError(400, 'cipher: message authentication failed');
    }
  };

  const contextOf = (body: Record<string, unknown>): string | undefined => (typeof body.context === 'string' ? body.context : undefined);

  const handle = (method: string, path: string, body: Record<string, unknown>): { status: number; json?: unknown } => {
    const prefix = `/v1/${mount}/`;
    if (!path.startsWith(prefix)) throw new VaultError(404, `no handler for route "${path}"`);
    const parts = path.slice(prefix.length).split('/').map(decodeURIComponent);
    const op = parts[0] === 'datakey' ? `datakey/${parts[1] ?? ''}` : parts[0] === 'keys' && parts[2] === 'rotate' ? 'keys/rotate' : (parts[0] ?? '');
    const name = parts[0] === 'datakey' ? parts[2] : parts[1];
    calls[op] = (calls[op] ?? 0) + 1;
    if (name === undefined || name === '') throw new VaultError(404, 'unsupported path');
    if (op === 'keys' && method === 'POST') {
      createKey(name, { derived: body.derived === true });
      return { status: 204 };
    }
    const key = keys.get(name);
    if (key === undefined) throw new VaultError(op === 'keys' ? 404 : 400, 'encryption key not found');
    switch (op) {
      case 'keys': {
        const versions: Record<string, number> = {};
        for (const v of key.versions.keys()) versions[String(v)] = 1_700_000_000;
        return { status: 200, json: { data: { name, type: 'aes256-gcm96', derived: key.derived, kdf: key.derived ? 'hkdf_sha256' : undefined, latest_version: key.latest, min_decryption_version: 1, min_encryption_version: 0, keys: versions, supports_encryption: true, supports_decryption: true, supports_derivation: true } } };
      }
      case 'keys/rotate':
        rotateKey(name);
        return { status: 200, json: { data: { name, latest_version: key.latest } } };
      case 'datakey/plaintext':
      case 'datakey/wrapped': {
        const bits = body.bits ?? 256;
        if (bits !== 128 && bits !== 256 && bits !== 512) throw new VaultError(400, 'invalid bit length');
        const plaintext = randomBytes(bits / 8);
        const { ciphertext, version } = encrypt(key, plaintext, contextOf(body));
        return { status: 200, json: { data: { ciphertext, key_version: version, ...(op === 'datakey/plaintext' ? { plaintext: plaintext.toString('base64') } : {}) } } };
      }
      case 'encrypt': {
        if (typeof body.plaintext !== 'string') throw new VaultError(400, 'missing plaintext to encrypt');
        const { ciphertext, version } = encrypt(key, Buffer.from(body.plaintext, 'base64'), contextOf(body));
        return { status: 200, json: { data: { ciphertext, key_version: version } } };
      }
      case 'decrypt':
        return { status: 200, json: { data: { plaintext: decrypt(key, body.ciphertext, contextOf(body)).toString('base64') } } };
      case 'rewrap': {
        const plaintext = decrypt(key, body.ciphertext, contextOf(body));
        const { ciphertext, version } = encrypt(key, plaintext, contextOf(body));
        return { status: 200, json: { data: { ciphertext, key_version: version } } };
      }
      default:
        throw new VaultError(404, 'unsupported path');
    }
  };

  const respond = (res: ServerResponse, status: number, json?: unknown): void => {
    res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' });
    res.end(json === undefined ? undefined : JSON.stringify(json));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        if (req.headers['x-vault-token'] !== token) throw new VaultError(403, 'permission denied');
        if (options.namespace !== undefined && req.headers['x-vault-namespace'] !== options.namespace) throw new VaultError(403, 'permission denied');
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        if (text !== '') {
          const parsed: unknown = JSON.parse(text);
          if (parsed === null || typeof parsed !== 'object') throw new VaultError(400, 'failed to parse JSON input');
          body = parsed as Record<string, unknown>;
        }
        const url = new URL(req.url ?? '/', 'http://vault');
        const result = handle(req.method ?? 'GET', url.pathname, body);
        respond(res, result.status, result.json);
      } catch (err) {
        const status = err instanceof VaultError ? err.status : 400;
        respond(res, status, { errors: [err instanceof Error ? err.message : 'error'] });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    address: `http://127.0.0.1:${port}`,
    token,
    mount,
    createKey,
    rotateKey,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
