// SPDX-License-Identifier: Apache-2.0
// Encryption at rest, checked the way an attacker with the disk would: read every byte of every
// file in the state folder and look for the PHI written through the store.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureLocalKeyFile, loadLocalKeyFileKms } from '../crypto/kms/local-keyfile.js';
import { createEncryptedTokenVault, type TokenVault } from '../deid/token-vault.js';
import type { PhiCategory } from '../deid/types.js';
import { createTokenVaultRepo } from './repos/token-vault-repo.js';
import { openStore, type OpenedStore } from './store.js';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempHome(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'phigate-home-'));
  temps.push(dir);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

/** Canaries: distinctive PHI-shaped values, fresh per run so no earlier run can satisfy the scan. */
function canaries(): string[] {
  const tag = randomBytes(4).toString('hex').toUpperCase();
  return [
    `Canary${tag} Zebulon-Quartermaine`,
    `MRN-${tag}-77123`,
    `${tag.slice(0, 3)}-55-${tag.slice(4, 8)}`,
    `canary.${tag.toLowerCase()}@example.org`,
    `1842 Canary${tag} Lane, Springfield`,
  ];
}

/** The token vault as the gateway uses it: deid's encrypted vault over the store's table. */
function vaultOf(store: OpenedStore): TokenVault {
  return createEncryptedTokenVault({ repo: createTokenVaultRepo<PhiCategory>(store.db), crypto: store.fieldCrypto });
}

describe('encryption at rest', () => {
  it('leaves no canary anywhere in the state folder (database, -wal, -shm)', async () => {
    const home = await tempHome();
    const kms = await ensureLocalKeyFile(join(home, 'keys', 'local-kek'));
    const values = canaries();
    const store = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms });
    for (const value of values) {
      await vaultOf(store).tokenize('conv-1', 'NAME', value);
      await vaultOf(store).tokenize('conv-2', 'NAME', value);
    }
    // Read back through the store so the check below is not passing on an empty database.
    expect(await vaultOf(store).lookup('conv-1', '[NAME_1]')).toBe(values[0]);

    // Scan once while open (the WAL still holds the writes), and again after close.
    const scan = async (): Promise<{ files: string[]; hits: string[] }> => {
      const files = await filesUnder(home);
      const hits: string[] = [];
      for (const file of files) {
        const bytes = await readFile(file);
        for (const value of values) {
          for (const encoding of ['utf8', 'utf16le'] as const) {
            if (bytes.includes(Buffer.from(value, encoding))) hits.push(`${file}: canary ${values.indexOf(value)} (${encoding})`);
          }
        }
      }
      return { files, hits };
    };
    const open = await scan();
    expect(open.files.some((f) => f.endsWith('phigate.db-wal'))).toBe(true);
    expect(open.hits).toEqual([]);
    await store.close();
    const closed = await scan();
    expect(closed.files.some((f) => f.endsWith('phigate.db'))).toBe(true);
    expect(closed.hits).toEqual([]);

    // And the scan is able to fail: the same bytes in clear are found.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(home, 'leak.txt'), `note: ${values[2]}`);
    expect((await scan()).hits).toHaveLength(1);
  });

  it('creates the database owner-only', async () => {
    const home = await tempHome();
    const kms = await ensureLocalKeyFile(join(home, 'keys', 'local-kek'));
    const store = await openStore({ url: 'sqlite:data/phigate.db', baseDir: home, kms });
    await vaultOf(store).tokenize('c', 'NAME', 'v');
    for (const file of await filesUnder(join(home, 'data'))) expect((await stat(file)).mode & 0o077).toBe(0);
    expect((await stat(join(home, 'data'))).mode & 0o777).toBe(0o700);
    await store.close();
  });

  it('a copied database cannot be decrypted without the key file it was written with', async () => {
    const home = await tempHome();
    const kms = await ensureLocalKeyFile(join(home, 'keys', 'local-kek'));
    const store = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms });
    await vaultOf(store).tokenize('c', 'NAME', 'Jane Q. Doe');
    await store.close();

    const elsewhere = await tempHome();
    await mkdir(join(elsewhere, 'copy'));
    await copyFile(join(home, 'phigate.db'), join(elsewhere, 'copy', 'phigate.db'));

    // No key file at all: the KMS will not load.
    await expect(loadLocalKeyFileKms(join(elsewhere, 'keys', 'local-kek'))).rejects.toThrow(/does not exist/);
    // A new key file: the wrapped data keys do not unwrap, so the store will not open.
    const otherKms = await ensureLocalKeyFile(join(elsewhere, 'keys', 'local-kek'));
    await expect(openStore({ url: 'sqlite:copy/phigate.db', baseDir: elsewhere, kms: otherKms })).rejects.toMatchObject({ code: 'unwrap_failed' });

    // With the original key file the copy reads fine, so the failure above is the key, not the copy.
    const reopened = await openStore({ url: 'sqlite:copy/phigate.db', baseDir: elsewhere, kms });
    expect(await vaultOf(reopened).lookup('c', '[NAME_1]')).toBe('Jane Q. Doe');
    await reopened.close();
  });
});
