// SPDX-License-Identifier: Apache-2.0
// `phigate usecases` and `phigate registry` run in-process against a real state folder (SQLite
// file, local key file, audit chain): the lifecycle with committee members acting --as themselves,
// tables and JSON, export → diff is a no-op, a widening import refused, and the audit trail.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createCliStateFolder, runCli, withCliStore } from '../../../test/support/cli-state.js';
import { createRegistryView } from '../../registry/registry-store.js';
import { adminSpec } from '../../registry/testing/registry-fixtures.js';
import type { OpenedStore } from '../../store/store.js';
import { createProgram } from '../program.js';

let dir: string;
let home: string;

/** Runs one command; returns what it printed, and sets/clears process.exitCode around it. */
async function phigate(...args: string[]): Promise<string> {
  return runCli(home, args, createProgram().exitOverride().configureOutput({ writeErr: () => {} }));
}

async function withStore<T>(action: (store: OpenedStore) => Promise<T>): Promise<T> {
  return withCliStore(home, action);
}

beforeAll(async () => {
  ({ dir, home } = await createCliStateFolder('phigate-usecases-cli-'));
  await withStore(async (store) => {
    await store.users.create({ id: 'u-cmio', name: 'dr-cmio', roles: ['cmio'], kind: 'user' });
    await store.users.create({ id: 'u-ciso', name: 'ciso', roles: ['security_officer'], kind: 'user' });
    await store.users.create({ id: 'u-po', name: 'privacy', roles: ['privacy_officer'], kind: 'user' });
  });
});

afterAll(() => {
  process.exitCode = 0;
  rmSync(dir, { recursive: true, force: true });
});

describe('phigate usecases', () => {
  it('runs the lifecycle from spec files, with the committee acting as themselves', async () => {
    const spec = join(dir, 'prior-auth.yaml');
    writeFileSync(spec, stringify({ id: 'prior-auth', ...adminSpec() }));
    expect(JSON.parse(await phigate('usecases', 'create', '--file', spec, '--reason', 'pilot', '--json'))).toMatchObject({ id: 'prior-auth', state: 'draft', version: 1 });
    await phigate('usecases', 'submit', 'prior-auth', '--reason', 'for the March committee');
    await expect(phigate('usecases', 'approve', 'prior-auth', '--version', '1', '--as', 'nobody', '--reason', 'x')).rejects.toThrow(/no active user/);
    for (const who of ['dr-cmio', 'ciso']) await phigate('usecases', 'approve', 'prior-auth', '--version', '1', '--as', who, '--reason', 'minutes 2026-03-04');
    const shown = await phigate('usecases', 'show', 'prior-auth');
    expect(shown).toMatch(/VERSION\s+STATE\s+RISK\s+COMMITTEE\s+MISSING/);
    expect(shown).toMatch(/1\s+submitted\s+low\s+pending\s+privacy/);
    expect(shown).toMatch(/chair\s+cmio\s+u-cmio\s+approve/);
    await expect(phigate('usecases', 'golive', 'prior-auth', '--reason', 'too early')).rejects.toThrow(/not in a state that allows this action/);
    await phigate('usecases', 'approve', 'prior-auth', '--version', '1', '--as', 'privacy', '--reason', 'minimum necessary met');
    expect(JSON.parse(await phigate('usecases', 'golive', 'prior-auth', '--reason', 'approved', '--json'))).toMatchObject({ state: 'live', liveVersion: 1 });

    const v2 = join(dir, 'prior-auth-v2.yaml');
    writeFileSync(v2, stringify(adminSpec({ purposes: ['COVAUTH', 'HPAYMT'] })));
    await phigate('usecases', 'propose', 'prior-auth', '--file', v2, '--reason', 'billing too');
    await phigate('usecases', 'submit', 'prior-auth', '--reason', 'x');
    for (const who of ['dr-cmio', 'ciso', 'privacy']) await phigate('usecases', 'approve', 'prior-auth', '--version', '2', '--as', who, '--reason', 'ok');
    await phigate('usecases', 'golive', 'prior-auth', '--reason', 'v2 approved');
    const list = await phigate('usecases', 'list');
    expect(list).toMatch(/ID\s+STATE\s+LIVE\s+PENDING\s+CLASSIFICATION/);
    expect(list).toMatch(/prior-auth\s+live\s+2\s+-\s+administrative\s+phi_free\s+low/);

    expect(JSON.parse(await phigate('usecases', 'rollback', 'prior-auth', '--reason', 'payer refused v2 letters', '--json'))).toMatchObject({ liveVersion: 1 });
    await phigate('usecases', 'suspend', 'prior-auth', '--reason', 'incident 7');
    const history = JSON.parse(await phigate('usecases', 'history', 'prior-auth', '--json')) as { action: string; actor: string }[];
    expect(history.map((h) => h.action)).toEqual(['create', 'submit', 'approve', 'approve', 'approve', 'golive', 'propose', 'submit', 'approve', 'approve', 'approve', 'golive', 'rollback', 'suspend']);
    expect(history[2]?.actor).toBe('u-cmio');
    expect(await phigate('usecases', 'history', 'prior-auth')).toMatch(/rollback\s+1\s+live\s+live\s+cli:\S+\s+payer refused v2 letters/);
    await phigate('usecases', 'resume', 'prior-auth', '--reason', 'closed');

    // Everything went to the state folder's audit chain, with who did it.
    await withStore(async (store) => {
      const rows = await store.db.selectFrom('audit_events').select(['event_type', 'actor_id', 'outcome']).where('event_type', 'like', 'usecase.%').orderBy('seq').execute();
      expect(rows.filter((r) => r.event_type === 'usecase.approve' && r.outcome === 'success').map((r) => r.actor_id)).toEqual(['u-cmio', 'u-ciso', 'u-po', 'u-cmio', 'u-ciso', 'u-po']);
      expect(rows.some((r) => r.event_type === 'usecase.golive' && r.outcome === 'denied')).toBe(true);
      expect((await createRegistryView(store.db).snapshot()).liveUseCase('prior-auth')?.version).toBe(1);
    });
  });

  it('explains itself', async () => {
    const chunks: string[] = [];
    const usecases = createProgram().commands.find((c) => c.name() === 'usecases');
    usecases?.configureOutput({ writeOut: (s) => chunks.push(s) }).outputHelp();
    const help = chunks.join('');
    expect(help).toContain('approve [options] <id>');
    expect(help).toContain('phigate usecases approve prior-auth --version 1 --as dr-cmio');
    expect(help).toContain('clinical_champion for clinical use cases');
  });
});

describe('phigate registry', () => {
  it('export → diff is a no-op; a widening edit is shown and refused; an approved one imports', async () => {
    const file = join(dir, 'registry.yaml');
    expect(await phigate('registry', 'export', '--output', file)).toContain(`wrote ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await phigate('registry', 'diff', file)).toMatch(/^no changes\ndry run: nothing written/);

    const doc = parse(readFileSync(file, 'utf8')) as { useCases: { id: string; liveVersion: number; state: string; versions: { number: number; state: string; spec: Record<string, unknown>; approvals: unknown[] }[] }[] };
    const uc = doc.useCases.find((u) => u.id === 'prior-auth');
    if (!uc) throw new Error('missing');
    const v1 = uc.versions[0];
    if (!v1) throw new Error('missing');
    uc.versions.push({ ...v1, number: 3, approvals: [], spec: { ...v1.spec, roles: ['care_coordinator', 'coder'] } });
    uc.versions[0] = { ...v1, state: 'superseded' };
    uc.liveVersion = 3;
    writeFileSync(file, stringify(doc));
    const diff = await phigate('registry', 'diff', file);
    expect(diff).toContain('~ use_case:prior-auth liveVersion: 1 → 3');
    expect(diff).toContain('WIDENING, NOT APPROVED: use_case:prior-auth roles (roles_added: coder)');
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    await expect(phigate('registry', 'import', file)).rejects.toThrow(/widens PHI access without the approvals it needs.*roles_added/);

    uc.versions[2] = { ...(uc.versions[2] as typeof v1), approvals: ['u-cmio:chair:cmio', 'u-ciso:security:security_officer', 'u-po:privacy:privacy_officer'].map((s) => {
      const [userId, seat, role] = s.split(':');
      return { userId, seat, role, decision: 'approve', reason: 'minutes 2026-04-01', at: '2026-04-01T10:00:00Z' };
    }) };
    writeFileSync(file, stringify(doc));
    const imported = JSON.parse(await phigate('registry', 'import', file, '--json')) as { applied: boolean; widening: { authorised: boolean }[] };
    expect(imported.applied).toBe(true);
    expect(imported.widening.every((w) => w.authorised)).toBe(true);
    expect(JSON.parse(await phigate('usecases', 'show', 'prior-auth', '--json'))).toMatchObject({ liveVersion: 3 });
    const again = join(dir, 'again.yaml');
    await phigate('registry', 'export', '--output', again);
    expect(await phigate('registry', 'diff', again)).toMatch(/^no changes/);
  });
});
