// SPDX-License-Identifier: Apache-2.0
// The store-backed registry view: one revision read per snapshot, a reload only when it moved,
// and a change made through one gateway's store seen by another's view on its next snapshot.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baaCoverage } from './baa.js';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { createUseCaseRepo } from '../store/repos/use-case-repo.js';
import { createVendorRepo } from '../store/repos/vendor-repo.js';
import type { Database } from '../store/schema.js';
import { createRegistryView } from './registry-store.js';
import { adminSpec, sampleVendor } from './testing/registry-fixtures.js';
import { useCaseSpecSchema } from './use-case-spec.js';
import { vendorSchema } from './vendor-spec.js';

let dir: string;
let first: Kysely<Database>;
let second: Kysely<Database>;

const at = Date.parse('2026-06-01T00:00:00Z');

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phigate-registry-view-'));
  // Two connections to one database file stand for two gateway instances.
  first = createDb('sqlite:registry.db', { baseDir: dir });
  await migrateToLatest(first);
  second = createDb('sqlite:registry.db', { baseDir: dir });
});

afterEach(async () => {
  await first.destroy();
  await second.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function putLiveUseCase(db: Kysely<Database>, id: string): Promise<void> {
  await createUseCaseRepo(db).apply({
    id, expectedVersion: 0, state: 'live', liveVersion: 1, createdBy: 'u', at,
    newVersions: [{ number: 1, spec: useCaseSpecSchema.parse(adminSpec()), state: 'approved', createdBy: 'u', createdAt: at, reason: null, submittedBy: 'u', submittedAt: at, approvedAt: at, decidedAt: at }],
  });
}

describe('registry view', () => {
  it('a BAA revoked through one instance is seen by the other on its next snapshot', async () => {
    const vendors = createVendorRepo(first);
    await vendors.upsert(vendorSchema.parse(sampleVendor()), 0);
    await putLiveUseCase(first, 'pa-letters');
    const view = createRegistryView(second);

    const before = await view.snapshot();
    expect(baaCoverage(before.vendor('acme-ai'), 'acme-chat', at).covered).toBe(true);
    expect(before.liveUseCase('pa-letters')?.version).toBe(1);
    expect(before.useCaseState('pa-letters')).toBe('live');

    const current = await vendors.get('acme-ai');
    await vendors.upsert(vendorSchema.parse(sampleVendor({ baa: { status: 'terminated', coveredServices: ['acme-chat'] } })), current?.version ?? 0);
    const after = await view.snapshot();
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(baaCoverage(after.vendor('acme-ai'), 'acme-chat', at)).toMatchObject({ covered: false, reason: 'baa_terminated' });
    // The earlier snapshot is immutable: a request already holding it finishes as it started.
    expect(before.vendor('acme-ai')?.baa.status).toBe('signed');
    expect(Object.isFrozen(after.vendor('acme-ai')?.baa)).toBe(true);
  });

  it('reloads only when the revision moved, and shares one reload between concurrent callers', async () => {
    await putLiveUseCase(first, 'a');
    const view = createRegistryView(second);
    const [s1, s2, s3] = await Promise.all([view.snapshot(), view.snapshot(), view.snapshot()]);
    expect(view.loads).toBe(1);
    expect(s1).toBe(s2);
    expect(s2).toBe(s3);
    await view.snapshot();
    await view.snapshot();
    expect(view.loads).toBe(1);

    const repo = createUseCaseRepo(first);
    const a = await repo.get('a');
    await repo.apply({ id: 'a', expectedVersion: a?.useCase.version ?? 0, state: 'suspended', liveVersion: 1, at: at + 1 });
    const suspended = await view.snapshot();
    expect(view.loads).toBe(2);
    expect(suspended.liveUseCase('a')).toBeUndefined();
    expect(suspended.useCaseState('a')).toBe('suspended');
    expect(suspended.useCaseState('nope')).toBeUndefined();
    expect(suspended.vendors()).toEqual([]);
  });

  it('a failing store fails the snapshot instead of serving stale governance', async () => {
    const view = createRegistryView(second);
    await view.snapshot();
    await second.destroy();
    await expect(view.snapshot()).rejects.toThrow();
    second = createDb('sqlite:registry.db', { baseDir: dir });
  });
});
