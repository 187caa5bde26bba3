// SPDX-License-Identifier: Apache-2.0
// `phigate kms` against a real state folder: the local key file (made by initHome) and Vault
// Transit through the configuration (served by the local transit server).
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startVaultTransitServer, type VaultTransitServer } from '../../crypto/kms/testing/vault-transit-server.js';
import { initHome } from '../../main.js';
import { kmsReencrypt, kmsRewrap, kmsRotateDataKeys, kmsRotateKek, kmsStatus, reencryptStateFileName, registerKmsCommand, withKmsStore } from './kms.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phigate-kms-cli-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('phigate kms with the local key file', () => {
  it('rotates the KEK, then data keys, then re-encrypts, and status shows nothing stale', async () => {
    const home = join(dir, 'home');
    await initHome(home);
    const before = await kmsStatus(home);
    expect(before).toMatchObject({ kind: 'local', kekId: 'local:v1' });
    expect(before.dataKeys.length).toBeGreaterThan(0);

    const kek = await kmsRotateKek(home);
    expect(kek).toMatchObject({ previousKekId: 'local:v1', kekId: 'local:v2' });
    expect(kek.rewrapped).toBe(kek.dataKeys);
    expect((await kmsStatus(home)).dataKeys.every((k) => k.kekId === 'local:v2' && !k.staleKek)).toBe(true);

    await withKmsStore(home, async (store) => {
      await store.tokenVault.insert({ conversationId: 'c', token: '[NAME_1]', type: 'NAME', sequence: 1, valueIndex: 'i', ciphertext: await store.fieldCrypto.encrypt('Jane Roe', { table: 'token_vault', column: 'value', rowId: 'c/[NAME_1]' }, 'vault'), expiresAt: Date.now() + 60_000 });
    });
    const rotated = await kmsRotateDataKeys(home, ['vault']);
    expect(Object.keys(rotated)).toEqual(['vault']);
    expect((await kmsStatus(home)).columns.find((c) => c.column === 'token_vault.value_enc')).toMatchObject({ total: 1, stale: 1 });

    const report = await kmsReencrypt(home, { batchSize: 1 });
    expect(report).toMatchObject({ complete: true, reencrypted: 1, failed: 0 });
    expect(existsSync(join(home, reencryptStateFileName))).toBe(false);
    const after = await kmsStatus(home);
    expect(after.columns.find((c) => c.column === 'token_vault.value_enc')).toMatchObject({ total: 1, stale: 0, byKey: { [rotated.vault ?? '']: 1 } });
    await withKmsStore(home, async (store) => {
      const record = await store.tokenVault.getByToken('c', '[NAME_1]');
      expect(await store.fieldCrypto.decryptString(record?.ciphertext ?? '', { table: 'token_vault', column: 'value', rowId: 'c/[NAME_1]' })).toBe('Jane Roe');
    });
  });

  it('parses through commander and prints ids and counts only', async () => {
    const home = join(dir, 'home');
    await initHome(home);
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const program = new Command().exitOverride();
    registerKmsCommand(program);
    await program.parseAsync(['kms', 'rotate', '--data-keys', 'vault,access', '--json', '--home', home], { from: 'user' });
    await program.parseAsync(['kms', 'status', '--home', home], { from: 'user' });
    const text = out.join('');
    expect(Object.keys(JSON.parse(out[0] ?? '{}') as object).sort()).toEqual(['access', 'vault']);
    expect(text).toContain('KEK        local:v1');
    expect(text).toContain('token_vault.value_enc  0 total');
  });
});

describe('phigate kms with Vault Transit configured', () => {
  let vault: VaultTransitServer;
  beforeEach(async () => {
    vault = await startVaultTransitServer();
    vault.createKey('phigate', { derived: true });
  });
  afterEach(async () => vault.close());

  it('opens the store through Vault, rotates in Vault, and rewraps after a rotation made in Vault', async () => {
    const home = join(dir, 'vault-home');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(home, { mode: 0o700 });
    await writeFile(
      join(home, 'phigate.yaml'),
      `store:\n  url: sqlite:phigate.db\nkms:\n  kind: vault-transit\n  address: ${vault.address}\n  keyName: phigate\n  token: env:TEST_VAULT_TOKEN\n`,
      { mode: 0o600 },
    );
    const env = { ...process.env, TEST_VAULT_TOKEN: vault.token };
    const status = await kmsStatus(home, env);
    expect(status).toMatchObject({ kind: 'vault-transit', kekId: 'vault:transit/phigate:v1' });
    expect(status.location).not.toContain(vault.token);
    expect((await kmsRotateKek(home, env)).kekId).toBe('vault:transit/phigate:v2');
    vault.rotateKey('phigate');
    const rewrap = await kmsRewrap(home, env);
    expect(rewrap.kekId).toBe('vault:transit/phigate:v3');
    expect(rewrap.rewrapped).toBe(rewrap.total);
    expect((await kmsStatus(home, env)).dataKeys.every((k) => k.kekId === 'vault:transit/phigate:v3')).toBe(true);
    await expect(kmsStatus(home, { ...process.env, TEST_VAULT_TOKEN: 'hvs.wrong' })).rejects.toThrow(/HTTP 403/);
  });
});
