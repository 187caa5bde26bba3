// SPDX-License-Identifier: Apache-2.0
// The audit tools as an operator runs them: `phigate audit …` in a child process against an
// initialised state folder with a seeded audit log.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAuditSink } from '../../audit/sql-sink.js';
import { disclosurePair, fixtureStart } from '../../audit/testing/audit-fixtures.js';
import { loadConfig } from '../../config/load.js';
import { createKms } from '../../crypto/kms/index.js';
import { initHome } from '../../main.js';
import { openStore } from '../../store/store.js';

const run = promisify(execFile);
let home: string;

async function phigate(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', ...args, '--home', home], { cwd: process.cwd(), env: { ...process.env, PHIGATE_HOME: '' } });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'phigate-audit-cli-'));
  await initHome(home, {});
  const config = loadConfig({ home });
  const store = await openStore({ url: config.store.url, baseDir: home, kms: await createKms(config.kms, { baseDir: home }) });
  const hash = (id: string) => store.fieldCrypto.blindIndex(id, 'audit-patient');
  await createSqlAuditSink(store.db).appendBatch([
    ...disclosurePair({ n: 1, at: fixtureStart, userId: 'dr-a', patientHash: hash('Patient/p1'), endpointId: 'echo', vendor: 'vendor-x' }),
    ...disclosurePair({ n: 2, at: fixtureStart + 60_000, userId: 'dr-a', patientHash: hash('Patient/p2'), endpointId: 'echo', vendor: 'vendor-x' }),
  ]);
  await store.close();
}, 60_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('phigate audit tools', () => {
  it('exports FHIR NDJSON to a file, answers the accounting and the breach query without printing patient ids, and scans', async () => {
    const file = join(home, 'export.ndjson');
    const exported = await phigate('export', '--format', 'fhir', '--output', file);
    expect(exported.stderr).toContain('exported 4 AuditEvent resources');
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { type: { code: string } }).type.code)).toEqual(['110106', '110106', '110106', '110106']);

    const accounting = JSON.parse((await phigate('accounting', '--patient', 'Patient/p1', '--since', '2026-01-01', '--json')).stdout) as { disclosures: { vendor: string; purpose: string }[] };
    expect(accounting.disclosures).toEqual([expect.objectContaining({ vendor: 'vendor-x', purpose: 'TREAT' })]);

    const breach = await phigate('breach', '--user', 'dr-a', '--since', '2026-03-01', '--until', '2026-03-03');
    expect(breach.stdout).toMatch(/^affected patients: 2 /);
    expect(breach.stdout).not.toContain('Patient/p');

    const search = await phigate('search', '--type', 'audit.export', '--json');
    expect(search.stdout.trim().split('\n')).toHaveLength(1);

    const scan = JSON.parse((await phigate('scan', '--since', '2026-03-01', '--until', '2026-03-03', '--json')).stdout) as { recordsScanned: number; findings: unknown[] };
    expect(scan).toMatchObject({ recordsScanned: 2, findings: [] });

    const retention = await phigate('retention', '--hold', 'patient', '--subject', 'Patient/p1', '--reason', 'matter 12');
    expect(retention.stdout).toContain('active legal holds: 1');
    expect(retention.stdout).not.toContain('Patient/p1');
  }, 120_000);
});
