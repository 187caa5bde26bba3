// SPDX-License-Identifier: Apache-2.0
/** `phigate users` and `phigate keys` against a real state folder, in process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initHome } from '../../main.js';
import { openStore } from '../../store/store.js';
import { createKms } from '../../crypto/kms/index.js';
import { loadConfig } from '../../config/load.js';
import { parseDuration, registerKeysCommand } from './keys.js';
import { registerUsersCommand } from './users.js';

let home: string;
beforeAll(async () => {
  home = join(mkdtempSync(join(tmpdir(), 'phigate-users-')), 'state');
  await initHome(home, {});
});
afterAll(() => {
  rmSync(join(home, '..'), { recursive: true, force: true });
});

async function run(...args: string[]): Promise<unknown> {
  const program = new Command().name('phigate').exitOverride();
  registerUsersCommand(program);
  registerKeysCommand(program);
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync([...args, '--home', home, '--json'], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines.join(''));
}

describe('phigate users and keys', () => {
  it('add, list, set roles, enrol TOTP and disable users; create, rotate and revoke keys; audit all of it', async () => {
    const user = (await run('users', 'add', 'dr.cli', '--roles', 'physician,researcher', '--org-unit', 'oncology')) as { id: string };
    expect(user).toMatchObject({ name: 'dr.cli', roles: ['physician', 'researcher'], orgUnit: 'oncology', kind: 'user' });
    const service = (await run('users', 'add', 'bot.cli', '--service')) as { kind: string };
    expect(service.kind).toBe('service');
    expect(await run('users', 'delegate', 'bot.cli', 'dr.cli')).toEqual({ allowed: true });
    expect(((await run('users', 'list')) as { name: string }[]).map((u) => u.name)).toEqual(['admin', 'dr.cli', 'bot.cli']);
    expect(await run('users', 'set-roles', 'dr.cli', 'physician')).toMatchObject({ roles: ['physician'] });
    expect(await run('users', 'enroll-totp', 'dr.cli')).toMatchObject({ secret: expect.stringMatching(/^[A-Z2-7]{32}$/), uri: expect.stringContaining('otpauth://totp/') });

    const key = (await run('keys', 'create', '--user', 'dr.cli', '--use-cases', 'notes', '--expires-in', '30d')) as { key: string; id: string; useCases: string[] };
    expect(key.key).toMatch(/^phigate_[a-z0-9]{12}_/);
    expect(key.useCases).toEqual(['notes']);
    const rotated = (await run('keys', 'rotate', key.id, '--overlap', '1h')) as { key: string; rotatedFrom: string };
    expect(rotated.rotatedFrom).toBe(key.id);
    expect(await run('keys', 'revoke', key.id)).toMatchObject({ id: key.id, state: 'revoked' });
    const listed = (await run('keys', 'list', '--user', 'dr.cli')) as { id: string; state: string }[];
    expect(listed.map((k) => k.state).sort()).toEqual(['active', 'revoked']);
    expect(JSON.stringify(listed)).not.toContain(key.key.slice(21));
    expect(await run('users', 'disable', 'dr.cli')).toMatchObject({ disabledAt: expect.any(Number) });

    const store = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms: await createKms(loadConfig({ home, env: {} }).kms, { baseDir: home, env: {} }) });
    try {
      const rows = await store.db.selectFrom('audit_events').select(['event_type', 'actor_id']).orderBy('seq').execute();
      expect(rows.map((r) => r.event_type)).toEqual([
        'user.create', 'user.create', 'user.delegate', 'user.set_roles', 'user.enroll_totp', 'apikey.create', 'apikey.rotate', 'apikey.revoke', 'user.disable',
      ]);
      expect(rows.every((r) => r.actor_id?.startsWith('cli:'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('refuse keys with more roles than their owner, with a readable reason', async () => {
    await run('users', 'add', 'nurse.cli', '--roles', 'nurse');
    await expect(run('keys', 'create', '--user', 'nurse.cli', '--roles', 'admin')).rejects.toThrow('refused: key roles exceed user roles');
    await expect(run('keys', 'create', '--user', 'nobody')).rejects.toThrow('no user with id or name "nobody"');
  });

  it('parse durations', () => {
    expect([parseDuration('90d'), parseDuration('12h'), parseDuration('30m'), parseDuration('45s'), parseDuration('0')]).toEqual([7_776_000_000, 43_200_000, 1_800_000, 45_000, 0]);
    expect(() => parseDuration('soon')).toThrow();
  });
});
