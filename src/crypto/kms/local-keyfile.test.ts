// SPDX-License-Identifier: Apache-2.0
import { chmod, chown, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeKmsContract } from '../kms.contract.js';
import { KmsError } from '../kms.js';
import { createLocalKeyFile, ensureLocalKeyFile, loadLocalKeyFileKms } from './local-keyfile.js';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'phigate-kek-'));
  temps.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describeKmsContract('local key file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'phigate-kek-'));
  const kms = await ensureLocalKeyFile(join(dir, 'keys', 'local-kek'));
  return { kms, rotate: () => kms.rotate(), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('local key file', () => {
  it('creates a 0600 file with one 32-byte key in a 0700 keys folder', async () => {
    const dir = await tempDir();
    const path = join(dir, 'keys', 'local-kek');
    const info = await createLocalKeyFile(path);
    expect(info).toEqual({ path, version: 1 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toHaveLength(1);
    expect(Buffer.from(lines[0]?.split(' ')[1] ?? '', 'base64url')).toHaveLength(32);
    const kms = await loadLocalKeyFileKms(path);
    expect(kms.id).toBe('local:v1');
  });

  it('refuses to overwrite an existing key file', async () => {
    const path = join(await tempDir(), 'keys', 'local-kek');
    await createLocalKeyFile(path);
    const before = await readFile(path, 'utf8');
    await expect(createLocalKeyFile(path)).rejects.toThrow(/already exists/);
    expect(await readFile(path, 'utf8')).toBe(before);
    // ensure keeps the existing file.
    await ensureLocalKeyFile(path);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o700])('refuses a file with mode %o', async (mode) => {
    const path = join(await tempDir(), 'keys', 'local-kek');
    await createLocalKeyFile(path);
    await chmod(path, mode);
    const err = await loadLocalKeyFileKms(path).catch((e: unknown) => e);
    if ((mode & 0o077) === 0) {
      expect(err).not.toBeInstanceOf(Error);
      return;
    }
    expect(err).toBeInstanceOf(KmsError);
    expect((err as Error).message).toContain(`mode 0${mode.toString(8)}`);
    expect((err as Error).message).toContain('chmod 600');
  });

  it('accepts 0400', async () => {
    const path = join(await tempDir(), 'keys', 'local-kek');
    await createLocalKeyFile(path);
    await chmod(path, 0o400);
    await expect(loadLocalKeyFileKms(path)).resolves.toBeDefined();
  });

  it('refuses a file another user owns', async (ctx) => {
    // Only root can give a file away; elsewhere this case cannot be set up.
    if (process.geteuid?.() !== 0) ctx.skip();
    const path = join(await tempDir(), 'keys', 'local-kek');
    await createLocalKeyFile(path);
    await chown(path, 12345, 12345);
    await expect(loadLocalKeyFileKms(path)).rejects.toThrow(/owned by uid 12345.*chown/);
  });

  it('refuses a missing file, a symlink, garbage and an empty key list, with clear messages', async () => {
    const dir = await tempDir();
    await expect(loadLocalKeyFileKms(join(dir, 'nope'))).rejects.toThrow(/does not exist/);
    const real = join(dir, 'real');
    await createLocalKeyFile(real);
    await symlink(real, join(dir, 'link'));
    await expect(loadLocalKeyFileKms(join(dir, 'link'))).rejects.toThrow(/symbolic link/);
    const bad = join(dir, 'bad');
    await writeFile(bad, 'v1 short\n', { mode: 0o600 });
    await expect(loadLocalKeyFileKms(bad)).rejects.toThrow(/line 1/);
    const empty = join(dir, 'empty');
    await writeFile(empty, '# nothing\n', { mode: 0o600 });
    await expect(loadLocalKeyFileKms(empty)).rejects.toThrow(/holds no key/);
  });

  it('rotates: a new version on disk, old wraps unwrap, rewrap then retire', async () => {
    const path = join(await tempDir(), 'keys', 'local-kek');
    const kms = await ensureLocalKeyFile(path);
    const ctx = { dataKeyId: 'a' };
    const { plaintext, wrapped } = await kms.generateDataKey(ctx);
    expect(await kms.rotate()).toBe(2);
    expect(kms.versions).toEqual([1, 2]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    // A second process loading the file sees both versions.
    const other = await loadLocalKeyFileKms(path);
    expect(other.id).toBe('local:v2');
    expect(Buffer.from(await other.unwrapDataKey(wrapped, ctx)).equals(Buffer.from(plaintext))).toBe(true);

    const moved = await kms.rewrapDataKey(wrapped, ctx);
    expect(moved.kekId).toBe('local:v2');
    await expect(kms.retire(2)).rejects.toThrow(/current/);
    await kms.retire(1);
    expect(kms.versions).toEqual([2]);
    await expect(kms.unwrapDataKey(wrapped, ctx)).rejects.toMatchObject({ code: 'unknown_kek' });
    expect(Buffer.from(await kms.unwrapDataKey(moved, ctx)).equals(Buffer.from(plaintext))).toBe(true);
  });

  it('picks up a version another process added', async () => {
    const path = join(await tempDir(), 'keys', 'local-kek');
    const a = await ensureLocalKeyFile(path);
    const b = await loadLocalKeyFileKms(path);
    const { plaintext, wrapped } = await a.generateDataKey({});
    await a.rotate();
    const moved = await a.rewrapDataKey(wrapped, {});
    expect(b.id).toBe('local:v1');
    expect(Buffer.from(await b.unwrapDataKey(moved, {})).equals(Buffer.from(plaintext))).toBe(true);
    expect(b.id).toBe('local:v2');
  });

  it('cannot unwrap with another key file', async () => {
    const dir = await tempDir();
    const a = await ensureLocalKeyFile(join(dir, 'a'));
    const b = await ensureLocalKeyFile(join(dir, 'b'));
    const { wrapped } = await a.generateDataKey({});
    await expect(b.unwrapDataKey(wrapped, {})).rejects.toMatchObject({ code: 'unwrap_failed' });
  });
});
