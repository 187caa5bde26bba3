// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { baaCoverage } from './baa.js';
import { runBaaExpiryCheck, scheduleBaaExpiryChecks, type BaaExpiryDeps } from './baa-expiry.js';
import { createVendorFixture, type VendorFixture } from './testing/vendor-fixture.js';
import { vendorEventTypes } from './vendors.js';

let f: VendorFixture;
let logLines: { fields: Record<string, unknown>; message: string }[];
let deps: BaaExpiryDeps;

const sign = (vendor: string, service: string, expiryDate: string) =>
  f.vendors.signBaa(f.admin, vendor, { effectiveDate: '2026-01-01', expiryDate, documentRef: `doc-${vendor}`, documentSha256: 'c'.repeat(64), coveredServices: [service] });

beforeEach(async () => {
  f = await createVendorFixture({ now: '2026-03-01T09:00:00Z' });
  await f.vendors.ensureCatalogue(f.admin);
  logLines = [];
  deps = {
    repo: f.repo,
    audit: f.audit,
    clock: f.clock,
    instanceId: 'test',
    logger: { warn: ((fields: Record<string, unknown>, message: string) => void logLines.push({ fields, message })) as never },
  };
});
afterEach(() => f.close());

const expiryEvents = async () => (await f.events()).filter((e) => e.type === vendorEventTypes.baaExpiring || e.type === vendorEventTypes.baaExpired);

describe('BAA expiry check', () => {
  it('warns once at 30 days and once at 7 days, then records the lapse the day after expiry', async () => {
    await sign('openai', 'api-enterprise', '2026-04-15');

    // 45 days out: nothing.
    expect((await runBaaExpiryCheck(deps)).warnings).toEqual([]);

    f.clock.set('2026-03-16T00:00:00Z'); // 30 days to the end of 2026-04-15
    const first = await runBaaExpiryCheck(deps);
    expect(first.warnings).toEqual([{ vendorId: 'openai', expiryDate: '2026-04-15', thresholdDays: 30, daysToExpiry: 30 }]);
    f.clock.set('2026-03-20T00:00:00Z');
    expect((await runBaaExpiryCheck(deps)).warnings).toEqual([]);

    f.clock.set('2026-04-08T23:59:59Z'); // still 7 whole days left
    expect((await runBaaExpiryCheck(deps)).warnings).toEqual([{ vendorId: 'openai', expiryDate: '2026-04-15', thresholdDays: 7, daysToExpiry: 7 }]);
    expect((await runBaaExpiryCheck(deps)).warnings).toEqual([]);

    // The last instant of the expiry day: still in force, not expired.
    f.clock.set('2026-04-15T23:59:59.999Z');
    expect(await runBaaExpiryCheck(deps)).toMatchObject({ warnings: [], expired: [] });
    expect((await f.repo.get('openai'))?.vendor.baa.status).toBe('signed');

    const revision = await f.repo.revision();
    f.clock.set('2026-04-16T00:00:00Z');
    // Enforcement does not wait for the check: coverage already refuses.
    expect(baaCoverage((await f.repo.get('openai'))?.vendor, 'api-enterprise', f.clock.now()).reason).toBe('baa_expired');
    const lapse = await runBaaExpiryCheck(deps);
    expect(lapse.expired).toEqual([{ vendorId: 'openai', expiryDate: '2026-04-15' }]);
    expect((await f.repo.get('openai'))?.vendor.baa.status).toBe('expired');
    expect(await f.repo.revision()).toBe(revision + 1);
    expect((await runBaaExpiryCheck(deps)).expired).toEqual([]);

    const events = await expiryEvents();
    expect(events.map((e) => [e.type, e.vendor, e.change])).toEqual([
      [vendorEventTypes.baaExpiring, 'openai', { expiryDate: '2026-04-15', thresholdDays: 30, daysToExpiry: 30, coveredServices: ['api-enterprise'] }],
      [vendorEventTypes.baaExpiring, 'openai', { expiryDate: '2026-04-15', thresholdDays: 7, daysToExpiry: 7, coveredServices: ['api-enterprise'] }],
      [vendorEventTypes.baaExpired, 'openai', { statusBefore: 'signed', status: 'expired', expiryDate: '2026-04-15', version: 3 }],
    ]);
    expect(events.every((e) => e.actor === undefined && String(e.requestId).startsWith('baa-expiry-'))).toBe(true);
    expect(logLines.map((l) => l.message)).toEqual(['baa expiring', 'baa expiring', 'baa expired']);
    // Ids, dates and counts only: no document reference in logs or audit.
    expect(JSON.stringify([logLines, events])).not.toContain('doc-openai');
  });

  it('sends only the tightest warning on a late first run, and warns again for a renewed BAA', async () => {
    await sign('google', 'vertex-ai', '2026-03-05');
    const run = await runBaaExpiryCheck(deps);
    expect(run.warnings).toEqual([{ vendorId: 'google', expiryDate: '2026-03-05', thresholdDays: 7, daysToExpiry: 4 }]);
    expect(await f.repo.warningsSent('google')).toEqual([
      { expiryDate: '2026-03-05', thresholdDays: 30, sentAt: f.clock.now() },
      { expiryDate: '2026-03-05', thresholdDays: 7, sentAt: f.clock.now() },
    ]);
    expect((await runBaaExpiryCheck(deps)).warnings).toEqual([]);

    await f.vendors.amendBaa(f.admin, 'google', { expiryDate: '2026-03-20' });
    expect((await runBaaExpiryCheck(deps)).warnings).toEqual([{ vendorId: 'google', expiryDate: '2026-03-20', thresholdDays: 30, daysToExpiry: 19 }]);
  });

  it('warns once when several instances check at the same time', async () => {
    await sign('anthropic', 'api-enterprise', '2026-03-10');
    const runs = await Promise.all([runBaaExpiryCheck(deps), runBaaExpiryCheck({ ...deps, instanceId: 'other' })]);
    expect(runs.flatMap((r) => r.warnings)).toHaveLength(1);
    expect((await expiryEvents()).filter((e) => e.type === vendorEventTypes.baaExpiring)).toHaveLength(1);
  });

  it('leaves a record changed meanwhile to the person who changed it', async () => {
    await sign('amazon', 'bedrock', '2026-03-01');
    f.clock.set('2026-03-02T00:00:00Z');
    // The registry read by the check is stale by one write (a renewal landed after the list).
    const stale = await f.repo.list();
    await f.vendors.amendBaa(f.admin, 'amazon', { expiryDate: '2027-03-01' });
    const racing: BaaExpiryDeps = { ...deps, repo: { ...f.repo, list: async () => stale } };
    const run = await runBaaExpiryCheck(racing);
    expect(run.skipped).toContain('amazon');
    expect(run.expired).toEqual([]);
  });

  it('ignores unsigned, terminated and evergreen BAAs', async () => {
    await f.vendors.signBaa(f.admin, 'deepgram', { effectiveDate: '2026-01-01', documentRef: 'd', documentSha256: 'd'.repeat(64), coveredServices: ['speech-to-text'] });
    await sign('pinecone', 'vector-database', '2026-03-03');
    await f.vendors.terminateBaa(f.admin, 'pinecone', 'replaced');
    const run = await runBaaExpiryCheck(deps);
    expect(run).toMatchObject({ checked: 0, warnings: [], expired: [], skipped: [] });
  });
});

describe('scheduleBaaExpiryChecks', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs shortly after start and then every interval, never overlapping, and stops', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const errors: unknown[] = [];
    const schedule = scheduleBaaExpiryChecks(
      () => {
        runs++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      (err) => errors.push(err),
      60_000,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(120_000); // the first run is still going: no overlap
    expect(runs).toBe(1);
    release?.();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toBe(2);
    release?.();
    await schedule.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(runs).toBe(2);
    expect(errors).toEqual([]);
  });

  it('reports a failing run and keeps the schedule', async () => {
    const errors: unknown[] = [];
    const schedule = scheduleBaaExpiryChecks(() => Promise.reject(new Error('store down')), (err) => errors.push(err), 60_000);
    await vi.advanceTimersByTimeAsync(65_000);
    expect(errors).toHaveLength(2);
    await schedule.stop();
  });
});
