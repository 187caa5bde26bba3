// SPDX-License-Identifier: Apache-2.0
/**
 * The local key-file KMS: the embedded default. Key-encryption keys (256-bit, random) live in one
 * small text file, one line per version, readable only by the phigate user (mode 0600). Data keys
 * are wrapped with AES-256-GCM under the newest version; older versions stay to unwrap until
 * every data key has been re-wrapped, then they can be retired.
 *
 * Put the file somewhere other than the database volume where the site allows it: a copy of the
 * database without this file cannot be decrypted, which is the point.
 *
 * File format (the header line is informative only):
 * ```
 * # phigate key-encryption keys …
 * v1 <base64url 32 bytes>
 * v2 <base64url 32 bytes>
 * ```
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeBase64urlStrict } from '../base64url.js';
import { KmsError, type Kms } from '../kms.js';
import { createKeyRingKms, DATA_KEY_BYTES } from './key-ring.js';

/** Where `phigate init` puts the key file, relative to the state folder. */
export const DEFAULT_LOCAL_KEY_FILE = 'keys/local-kek';

const KEY_BYTES = DATA_KEY_BYTES;
const HEADER =
  '# phigate key-encryption keys. Keep this file private (mode 0600), back it up apart from the database,\n' +
  '# and never commit it. Losing it makes every encrypted value unreadable.\n';

/** A loaded key file. `id` is the current version (`local:v3`). */
export interface LocalKeyFileKms extends Kms {
  readonly path: string;
  /** Versions held, oldest first. */
  readonly versions: readonly number[];
  readonly currentVersion: number;
  /** Adds a new KEK version and makes it current. Existing wrapped keys keep unwrapping. */
  rotate(): Promise<number>;
  /** Removes an old version once no data key is wrapped under it. Refuses to remove the current one. */
  retire(version: number): Promise<void>;
}

export interface LocalKeyFileInfo {
  readonly path: string;
  readonly version: number;
}

/**
 * Creates a new key file with one fresh KEK (version 1), mode 0600, in a parent folder created
 * with mode 0700. Refuses to overwrite an existing file.
 */
export async function createLocalKeyFile(path: string): Promise<LocalKeyFileInfo> {
  if (!(await createIfMissing(path))) {
    throw new KmsError('kms_unavailable', `key file ${path} already exists; refusing to overwrite it`);
  }
  return { path, version: 1 };
}

/** Creates the key file if it is missing, then loads it. What first start and `serve` use. */
export async function ensureLocalKeyFile(path: string): Promise<LocalKeyFileKms> {
  await createIfMissing(path);
  return loadLocalKeyFileKms(path);
}

async function createIfMissing(path: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new KmsError('kms_unavailable', `key file ${path} cannot be created`, { cause: err });
  }
  try {
    // The umask may only narrow the mode; set it explicitly so it is exactly 0600.
    await handle.chmod(0o600);
    await handle.writeFile(serialize(new Map([[1, randomBytes(KEY_BYTES)]])));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Loads a key file. Refuses, with an error that says how to fix it, a file that is not a regular
 * file, whose mode grants anything to group or others, or that another user owns.
 */
export async function loadLocalKeyFileKms(path: string): Promise<LocalKeyFileKms> {
  let keys = await readKeyFile(path);

  const ring = createKeyRingKms('local', () => keys, path);
  // Another instance (or `phigate keys rotate`) may have added a version and rewrapped with it:
  // re-read the file once before calling a version unknown.
  const withReload = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof KmsError && err.code === 'unknown_kek')) throw err;
      keys = await readKeyFile(path);
      return work();
    }
  };
  const currentVersion = (): number => Math.max(...keys.keys());

  const kms: LocalKeyFileKms = {
    path,
    get id() {
      return ring.id;
    },
    get versions() {
      return [...keys.keys()].sort((a, b) => a - b);
    },
    get currentVersion() {
      return currentVersion();
    },
    generateDataKey: (context) => ring.generateDataKey(context),
    unwrapDataKey: (wrapped, context) => withReload(() => ring.unwrapDataKey(wrapped, context)),
    rewrapDataKey: (wrapped, context) => withReload(() => ring.rewrapDataKey(wrapped, context)),
    async rotate(): Promise<number> {
      // Re-read first so a rotation made by another process is not lost.
      const onDisk = await readRawKeyFile(path);
      const next = Math.max(...onDisk.keys()) + 1;
      onDisk.set(next, randomBytes(KEY_BYTES));
      await replaceKeyFile(path, onDisk);
      keys = toKeyObjects(onDisk);
      return next;
    },
    async retire(version: number): Promise<void> {
      const onDisk = await readRawKeyFile(path);
      if (!onDisk.has(version)) throw new KmsError('unknown_kek', `${path} holds no version ${version}`);
      if (version === Math.max(...onDisk.keys())) throw new KmsError('kms_unavailable', 'the current key version cannot be retired');
      onDisk.delete(version);
      await replaceKeyFile(path, onDisk);
      keys = toKeyObjects(onDisk);
    },
  };
  return kms;
}

function serialize(keys: ReadonlyMap<number, Uint8Array>): string {
  const lines = [...keys.entries()].sort(([a], [b]) => a - b).map(([v, k]) => `v${v} ${Buffer.from(k).toString('base64url')}\n`);
  return HEADER + lines.join('');
}

async function readKeyFile(path: string): Promise<Map<number, KeyObject>> {
  return toKeyObjects(await readRawKeyFile(path));
}

function toKeyObjects(raw: ReadonlyMap<number, Buffer>): Map<number, KeyObject> {
  const out = new Map<number, KeyObject>();
  for (const [v, bytes] of raw) out.set(v, createSecretKey(bytes));
  return out;
}

async function readRawKeyFile(path: string): Promise<Map<number, Buffer>> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symlink could point the check at one file and the read at another.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist (run `phigate init`, or restore it from backup)'
      : code === 'ELOOP' ? 'is a symbolic link; point the configuration at the real file'
      : 'cannot be opened';
    throw new KmsError('kms_unavailable', `key file ${path} ${why}`, { cause: err });
  }
  try {
    // Checked on the open descriptor, so the file read is the file checked.
    const st = await handle.stat();
    if (!st.isFile()) throw new KmsError('kms_unavailable', `key file ${path} is not a regular file`);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KmsError(
        'kms_unavailable',
        `key file ${path} has mode 0${mode.toString(8)}, which lets other users read it; it must be 0600 or stricter (chmod 600 ${path})`,
      );
    }
    const uid = process.geteuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new KmsError(
        'kms_unavailable',
        `key file ${path} is owned by uid ${st.uid}, not by the user phigate runs as (uid ${uid}); chown it to that user`,
      );
    }
    const text = await handle.readFile('utf8');
    const keys = new Map<number, Buffer>();
    for (const [i, rawLine] of text.split('\n').entries()) {
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) continue;
      const match = /^v([1-9][0-9]{0,8}) ([A-Za-z0-9_-]+)$/.exec(line);
      const bytes = match ? decodeBase64urlStrict(match[2] ?? '') : undefined;
      if (!match || bytes === undefined || bytes.length !== KEY_BYTES) {
        throw new KmsError('kms_unavailable', `key file ${path} line ${i + 1} is not "v<N> <base64url 32-byte key>"`);
      }
      const version = Number(match[1]);
      if (keys.has(version)) throw new KmsError('kms_unavailable', `key file ${path} lists version ${version} twice`);
      keys.set(version, bytes);
    }
    if (keys.size === 0) throw new KmsError('kms_unavailable', `key file ${path} holds no key`);
    return keys;
  } finally {
    await handle.close();
  }
}

/** Writes a new version of the file beside it (0600), syncs it, and renames it into place. */
async function replaceKeyFile(path: string, keys: ReadonlyMap<number, Uint8Array>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(serialize(keys));
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), fsConstants.O_RDONLY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
