// SPDX-License-Identifier: Apache-2.0
// `phigate vendors` runs in-process against a real state folder (SQLite file, local key file,
// audit chain): table and JSON output, BAA recording from a document file, refusals that are
// audited, subprocessors, custom vendors, and the expiry check on the real clock.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliStateFolder, runCli, withCliStore } from '../../../test/support/cli-state.js';
import { createVendorRepo } from '../../store/repos/vendor-repo.js';
import type { OpenedStore } from '../../store/store.js';
import { createProgram } from '../program.js';

let dir: string;
let home: string;
let documentFile: string;
const dayFromNow = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** The command tree with every command throwing instead of exiting, and its own output captured. */
function program(output: string[] = []): ReturnType<typeof createProgram> {
  const root = createProgram();
  const configure = (command: ReturnType<typeof createProgram>): void => {
    command.exitOverride().configureOutput({ writeOut: (text) => output.push(text), writeErr: (text) => output.push(text) });
    for (const sub of command.commands) configure(sub as ReturnType<typeof createProgram>);
  };
  configure(root);
  return root;
}

/** Runs one command; returns what it printed on stdout. */
async function phigate(...args: string[]): Promise<string> {
  return runCli(home, args, program());
}

async function withStore<T>(action: (store: OpenedStore) => Promise<T>): Promise<T> {
  return withCliStore(home, action);
}

const events = () => withStore((store) => store.db.selectFrom('audit_events').select(['event_type', 'body']).orderBy('seq').execute());

beforeAll(async () => {
  ({ dir, home } = await createCliStateFolder('phigate-vendors-cli-'));
  documentFile = join(dir, 'anthropic-baa.pdf');
  writeFileSync(documentFile, '%PDF-1.4 synthetic business associate agreement for tests\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('phigate vendors', () => {
  it('lists the seeded catalogue as a table and as JSON', async () => {
    const table = (await phigate('vendors', 'list')).split('\n');
    expect(table[0]).toMatch(/^ID\s+LEGAL NAME\s+BAA\s+EXPIRES\s+COVERED\s+SERVICES\s+SOURCE\s+VERSION$/);
    expect(table.find((line) => line.startsWith('openai '))).toMatch(/^openai\s+OpenAI OpCo, LLC\s+not_signed\s+-\s+-\s+api-enterprise,chatgpt-consumer\s+catalogue\s+1$/);
    const json = JSON.parse(await phigate('vendors', 'list', '--json')) as { id: string }[];
    expect(json.map((v) => v.id)).toContain('new-relic');
  });

  it('signs from a document file, shows coverage, and refuses stale or impossible records (audited)', async () => {
    const signed = JSON.parse(
      await phigate('vendors', 'sign', 'anthropic', '--services', 'api-enterprise', '--effective', dayFromNow(-30), '--expires', dayFromNow(5),
        '--document', 'dms://contracts/anthropic/2026', '--document-file', documentFile, '--zero-retention', '--no-training', '--region', 'us', '--expect-version', '1', '--json'),
    ) as { version: number; baa: Record<string, unknown> };
    expect(signed.version).toBe(2);
    expect(signed.baa).toMatchObject({
      status: 'signed',
      documentSha256: createHash('sha256').update('%PDF-1.4 synthetic business associate agreement for tests\n').digest('hex'),
      zeroDataRetention: true,
      noTrainingOnCustomerData: true,
      dataResidency: ['us'],
      recordedBy: expect.stringMatching(/^cli:/),
    });

    const show = await phigate('vendors', 'show', 'anthropic');
    expect(show).toMatch(/^api-enterprise\s+llm\s+baa_available\s+covered\s+5\s+-$/m);
    expect(show).toMatch(/^claude-consumer\s+consumer_app\s+never\s+never_eligible/m);
    expect(show).toContain('zero retention: yes  no training: yes  residency: us');

    await expect(phigate('vendors', 'amend', 'anthropic', '--expires', dayFromNow(6), '--expect-version', '1')).rejects.toThrow(/changed since it was read.*currentVersion=2/);
    await expect(phigate('vendors', 'sign', 'anthropic', '--services', 'claude-consumer', '--effective', dayFromNow(0), '--document', 'x', '--sha256', 'a'.repeat(64))).rejects.toThrow(/only services the vendor offers a BAA for.*eligibility=never/);
    await expect(phigate('vendors', 'sign', 'anthropic', '--services', 'api-enterprise', '--effective', dayFromNow(0), '--document', 'x')).rejects.toThrow(/exactly one of --sha256 or --document-file/);

    const all = await events();
    const types = all.map((e) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['vendor.seed', 'vendor.list', 'vendor.baa_sign', 'vendor.read']));
    const refusals = all.filter((e) => (JSON.parse(e.body) as { outcome: string }).outcome === 'denied').map((e) => [e.event_type, (JSON.parse(e.body) as { errorCode: string }).errorCode]);
    expect(refusals).toEqual([
      ['vendor.baa_amend', 'vendor_version_conflict'],
      ['vendor.baa_sign', 'vendor_service_not_eligible'],
    ]);
    expect(all.some((e) => e.body.includes('dms://'))).toBe(false);
  });

  it('warns once through check-expiry and records a lapsed BAA as expired', async () => {
    const first = JSON.parse(await phigate('vendors', 'check-expiry', '--json')) as { warnings: { vendorId: string; thresholdDays: number; daysToExpiry: number }[] };
    expect(first.warnings).toEqual([expect.objectContaining({ vendorId: 'anthropic', thresholdDays: 7, daysToExpiry: 5 })]);
    expect(await phigate('vendors', 'check-expiry')).toBe('checked 1 signed BAA(s) with an expiry date\n');
    expect(await phigate('vendors', 'expiring', '--days', '10')).toMatch(/^anthropic\s+vendor\s+\S+\s+5$/m);

    // Time passing, simulated in the store: a BAA signed last year that ended yesterday.
    await withStore(async (store) => {
      const repo = createVendorRepo(store.db);
      const current = await repo.get('deepgram');
      if (!current) throw new Error('catalogue not seeded');
      const baa = { ...current.vendor.baa, status: 'signed' as const, effectiveDate: dayFromNow(-400), expiryDate: dayFromNow(-1), coveredServices: ['speech-to-text'] };
      await repo.upsert({ ...current.vendor, baa }, current.version);
    });
    expect(await phigate('vendors', 'check-expiry')).toMatch(/^expired: deepgram BAA ended \S+; recorded as expired$/m);
    expect(await phigate('vendors', 'show', 'deepgram')).toMatch(/^speech-to-text\s+transcription\s+baa_available\s+baa_expired/m);
    const types = (await events()).map((e) => e.event_type);
    expect(types.filter((t) => t === 'vendor.baa_expiring')).toHaveLength(1);
    expect(types.filter((t) => t === 'vendor.baa_expired')).toHaveLength(1);
  });

  it('adds a custom vendor, records subprocessors and terminates', async () => {
    expect(await phigate('vendors', 'add', '--id', 'scribe-co', '--legal-name', 'Scribe Co LLC', '--service', 'ambient:transcription:baa_available:Ambient scribe')).toMatch(/^added scribe-co: BAA not_signed, covers nothing \(version 1\)$/m);
    await phigate('vendors', 'sign', 'scribe-co', '--services', 'ambient', '--effective', dayFromNow(0), '--document', 'x', '--sha256', 'b'.repeat(64));
    expect(await phigate('vendors', 'subprocessors', 'scribe-co', '--sub', 'Cloud Host:not_signed', '--sub', `Speech Co:signed:${dayFromNow(90)}:ambient`)).toBe('scribe-co: 2 subprocessor(s) recorded (version 3)\n');
    const show = await phigate('vendors', 'show', 'scribe-co');
    expect(show).toMatch(/^ambient\s+transcription\s+baa_available\s+subprocessor_not_covered/m);
    expect(show).toMatch(/^Cloud Host\s+not_signed\s+-\s+all$/m);
    await expect(phigate('vendors', 'subprocessors', 'scribe-co', '--sub', 'Broken:perhaps')).rejects.toThrow(/NAME:STATUS/);
    await expect(phigate('vendors', 'subprocessors', 'scribe-co', '--sub', 'A:signed:not-a-day')).rejects.toThrow(/does not match/);
    await expect(phigate('vendors', 'terminate', 'scribe-co', '--reason', 'bored')).rejects.toThrow(/does not match|malformed|reason/);
    expect(await phigate('vendors', 'terminate', 'scribe-co', '--reason', 'replaced')).toMatch(/^terminated scribe-co: BAA terminated/);
    await expect(phigate('vendors', 'show', 'nobody')).rejects.toThrow(/does not exist in the registry/);
  });

  it('explains itself in --help with examples', async () => {
    const help: string[] = [];
    await expect(program(help).parseAsync(['vendors', '--help'], { from: 'user' })).rejects.toThrow();
    expect(help.join('')).toContain('phigate vendors sign openai --services api-enterprise');
    expect(help.join('')).toMatch(/check-expiry/);
  });
});
