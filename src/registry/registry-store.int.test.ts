// SPDX-License-Identifier: Apache-2.0
// The registry view on the real PostgreSQL server (127.0.0.1:5432, database `test`): two gateway
// instances with their own connection pools on one schema; a use case suspended and a BAA
// terminated through one are seen by the other on its next snapshot.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessPolicy } from '../access/rbac.js';
import { createMemoryAuditSink } from '../audit/testing/memory-sink.js';
import { createAuditWriter } from '../audit/writer.js';
import { systemClock } from '../kernel/clock.js';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { createVendorRepo } from '../store/repos/vendor-repo.js';
import { baaCoverage } from './baa.js';
import { defaultCommittee } from './governance-config.js';
import { createRegistryView } from './registry-store.js';
import { adminSpec, sampleVendor } from './testing/registry-fixtures.js';
import { createUseCaseService } from './use-cases.js';
import { vendorSchema } from './vendor-spec.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
const schema = `phigate_registry_${randomBytes(6).toString('hex')}`;
const first = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 });
const second = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 });

beforeAll(async () => {
  await admin.query(`create schema ${schema}`);
  await migrateToLatest(first);
});

afterAll(async () => {
  await first.destroy();
  await second.destroy();
  await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.end();
});

describe('registry view on PostgreSQL', () => {
  it('a change through one instance is seen by the other on its next snapshot', async () => {
    const audit = await createAuditWriter({ sink: createMemoryAuditSink(), writeTimeoutMs: 2000 });
    const service = createUseCaseService({ db: first, audit, clock: systemClock, instanceId: 'a', policy: createAccessPolicy(), committee: defaultCommittee });
    const req = (userId: string, roles: string[]) => ({ actor: { userId, kind: 'user' as const, roles, authMethod: 'api_key' }, requestId: `r-${userId}` });
    await createVendorRepo(first).upsert(vendorSchema.parse(sampleVendor()), 0);
    await service.create(req('u-admin', ['admin']), { id: 'pa-letters', spec: adminSpec() });
    await service.submit(req('u-admin', ['admin']), 'pa-letters', { reason: 'go' });
    for (const [id, role] of [['u-cmio', 'cmio'], ['u-ciso', 'security_officer'], ['u-po', 'privacy_officer']] as const) await service.approve(req(id, [role]), 'pa-letters', { version: 1, reason: 'ok' });
    await service.goLive(req('u-admin', ['admin']), 'pa-letters', { reason: 'go' });

    const other = createRegistryView(second);
    const before = await other.snapshot();
    expect(before.liveUseCase('pa-letters')?.version).toBe(1);
    expect(baaCoverage(before.vendor('acme-ai'), 'acme-chat', Date.parse('2026-06-01T00:00:00Z')).covered).toBe(true);
    await other.snapshot();
    expect(other.loads).toBe(1);

    await service.suspend(req('u-admin', ['admin']), 'pa-letters', { reason: 'incident' });
    const vendors = createVendorRepo(first);
    const current = await vendors.get('acme-ai');
    await vendors.upsert(vendorSchema.parse(sampleVendor({ baa: { status: 'terminated', coveredServices: ['acme-chat'] } })), current?.version ?? 0);

    const after = await other.snapshot();
    expect(other.loads).toBe(2);
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.liveUseCase('pa-letters')).toBeUndefined();
    expect(after.useCaseState('pa-letters')).toBe('suspended');
    expect(baaCoverage(after.vendor('acme-ai'), 'acme-chat', Date.parse('2026-06-01T00:00:00Z')).reason).toBe('baa_terminated');
    await audit.drain();
  });
});
